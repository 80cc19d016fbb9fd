"""scenegen: synthetic driving data for the rare and dangerous cases."""

__version__ = "0.1.0"
