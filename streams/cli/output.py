"""How list commands print: ``-o table`` (rich) or ``-o json``, once, or again every few seconds with ``--watch``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

__all__ = ["EVERY", "OUTPUT", "Output", "WATCH", "show"]


class Output(str, Enum):
    table = "table"
    json = "json"


OUTPUT = typer.Option(Output.table, "-o", "--output", help="table (for people) or json (for scripts).", case_sensitive=False)
WATCH = typer.Option(False, "--watch/--no-watch", "-w", help="Keep following (Ctrl-C stops); by default print once and exit.")
EVERY = typer.Option(2.0, min=0.2, help="Seconds between refreshes with --watch.")


def show(
    console: Console, fetch: Callable[[], Any], render: Callable[[Any], Table], output: Output, watch: bool, every: float
) -> None:
    """Print what ``fetch`` returns as a table or JSON; with ``watch``, keep it live (JSON: one line per refresh).

    ``fetch`` exits the command itself on errors, so a failure is never an empty table with exit 0."""
    if output == Output.json:
        try:
            while True:
                console.print(json.dumps(fetch(), default=str, ensure_ascii=False), markup=False, highlight=False, soft_wrap=True)
                if not watch:
                    return
                time.sleep(every)
        except KeyboardInterrupt:
            return
    if not watch:
        console.print(render(fetch()))
        return
    try:
        with Live(render(fetch()), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(every)
                live.update(render(fetch()))
    except KeyboardInterrupt:
        pass
