"""``python -m sim`` runs the command-line program."""

from sim.cli import main

main()
