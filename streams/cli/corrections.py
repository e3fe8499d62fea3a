"""``pot corrections export``: the corrections topic as training rows (the latest correction of a post wins)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..config import Settings
from ..core.corrections import latest_by_post
from ..kafka.readers import read_topic
from .base import cli, client_settings, err

__all__ = ["corrections_cli", "export_corrections"]


def export_corrections(settings: Settings, out: Path, timeout_s: float = 5.0) -> int:
    rows = latest_by_post(read_topic(settings.bootstrap_servers, settings.topic("corrections"), timeout_s))
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)


corrections_cli = typer.Typer(no_args_is_help=True, help="Human label corrections.")
cli.add_typer(corrections_cli, name="corrections")


@corrections_cli.command("export")
def corrections_export(
    out: Path = typer.Argument(..., help="JSONL file to write (text, label, lang): feed it to `pot train --extra`."),
    broker: Optional[str] = typer.Option(None, envvar="POT_BROKER"),
    data_dir: Optional[Path] = typer.Option(None, envvar="POT_DATA_DIR"),
) -> None:
    """Read the corrections topic and write training examples; the latest correction of a post wins."""
    settings = client_settings(broker, data_dir)
    count = export_corrections(settings, out)
    err.print(f"wrote {count} corrected example(s) to {out}")
