"""``python -m scenegen.cli``."""

from scenegen.cli import main

main()
