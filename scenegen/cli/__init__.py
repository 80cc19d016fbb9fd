"""The ``scenegen`` command line: the only place that prints, exits or reads the environment.

One module per command group; importing them registers their commands on :data:`app`, in
the order ``--help`` lists them.
"""

from __future__ import annotations

# isort: off
from scenegen.cli import scenarios, render, convert, doctor, augment, bench, fidelity, search
from scenegen.cli import coverage
from scenegen.cli.app import app

# isort: on

__all__ = [
    "app",
    "augment",
    "bench",
    "convert",
    "coverage",
    "doctor",
    "fidelity",
    "main",
    "render",
    "scenarios",
    "search",
]


def main() -> None:
    app()
