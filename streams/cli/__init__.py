"""The ``pot`` command: run the monitor, feed it posts, work the desk, try and train the classifier.

One module per group of commands: :mod:`.run` (``run``, ``send``), :mod:`.model`
(``classify``, ``eval``, ``train``), :mod:`.desk` (``alerts``, ``ack``,
``resolve``, ``silence``, ``policy``), :mod:`.corrections`.
"""

from __future__ import annotations

import logging

from . import run, model, corrections  # noqa: F401, I001  (each registers its commands, listed in this order)
from .base import cli
from .desk import register as _register_desk

__all__ = ["cli", "main"]

_register_desk(cli)
from classifiers.train_cli import register as _register_train  # noqa: E402  (replaces model.py's `train`: issue 13's options)
_register_train(cli)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()


if __name__ == "__main__":
    main()
