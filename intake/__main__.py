"""`python -m intake` is the `intake` command."""

from intake.cli import main

main()
