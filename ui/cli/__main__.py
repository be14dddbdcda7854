"""`python -m ui.cli`: the citeqa command."""

from ui.cli import main

main()
