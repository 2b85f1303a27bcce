"""``python -m pht`` runs the ``pht`` command."""

from pht.cli import main

main()
