"""``pot config``: every effective setting, where it came from, secrets masked, and the ``POT_*`` names nothing reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Settings
from .base import cli, err, settings_or_exit, unknown_variable_lines
from .output import OUTPUT, Output

__all__ = ["config"]

out = Console(highlight=False, soft_wrap=True)


@cli.command()
def config(
    output: Output = OUTPUT,
    changed: bool = typer.Option(False, "--changed", help="Only the settings that differ from their defaults."),
) -> None:
    """Print the effective settings (environment, then .env, then defaults) with secrets masked.

    Exits 2 when a setting is invalid, 1 when a POT_* variable is set that no setting reads (a typo)."""
    from dotenv import dotenv_values

    from ..config_check import flat_values, variables

    settings = settings_or_exit(warn=False)
    from_file = {k.upper() for k in dotenv_values(".env")} if Path(".env").is_file() else set()
    from_env = {k.upper() for k in os.environ}
    defaults = flat_values(Settings.model_construct())
    fields = variables(Settings)
    rows = []
    for name, value in flat_values(settings).items():
        source = "environment" if name in from_env else (".env" if name in from_file else "default")
        if changed and source == "default" and value == defaults.get(name):
            continue
        rows.append({"variable": name, "value": value, "source": source, "about": fields[name][1].description or ""})
    unknown = unknown_variable_lines()
    if output == "json":
        out.print_json(json.dumps({"settings": rows, "unknown": unknown}))
    else:
        table = Table("variable", "value", "from", "about")
        table.columns[0].no_wrap = True
        for row in rows:
            table.add_row(row["variable"], escape(row["value"]), row["source"], escape(row["about"]))
        out.print(table)
        for line in unknown:
            err.print(f"[red]unknown:[/red] {escape(line)}")
    raise typer.Exit(1 if unknown else 0)
