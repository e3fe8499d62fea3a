"""``python -m streams.cli``: the ``pot`` command."""

from . import main

main()
