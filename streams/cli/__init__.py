"""The ``pot`` command: run the monitor, feed it posts, work the desk, try and train the classifier.

One module per group of commands: :mod:`.run` (``run``, ``send``), :mod:`.model`
(``classify``, ``eval``; ``train`` is :mod:`classifiers.train_cli`'s), :mod:`.desk` (``alerts``, ``ack``,
``resolve``, ``silence``, ``policy``), :mod:`.corrections`, :mod:`.connect` (``connect``), :mod:`.config`
(``config``), :mod:`.dlq` (``dlq list``, ``dlq replay``).
"""

from __future__ import annotations

import logging

from . import run, model, corrections, config, dlq  # noqa: F401, I001  (each registers its commands, listed in this order)
from . import connect  # noqa: F401  (pot connect: platform connectors, issue 14)
from .base import cli
from .desk import register as _register_desk
from .report import register as _register_report
from .routes import register as _register_routes

__all__ = ["cli", "main"]

_register_desk(cli)
_register_report(cli)
_register_routes(cli)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()


if __name__ == "__main__":
    main()
