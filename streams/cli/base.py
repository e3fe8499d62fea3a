"""What every ``pot`` command shares: the typer app, the error console, settings and classifier loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..config import Settings

__all__ = ["BROKER_FILE", "cli", "client_settings", "err", "load_classifier", "settings_or_exit"]

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="points-of-truth: customer posts in, timely alerts out.")
err = Console(stderr=True, highlight=False)

BROKER_FILE = "broker.url"


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def client_settings(broker: str | None, data_dir: Path | None) -> Settings:
    """Settings for a command that talks to a running monitor's broker: the configured one, or the one
    a local ``pot run`` wrote down for its neighbours; exits plainly when there is neither."""
    settings = settings_or_exit(broker=broker, data_dir=data_dir)
    if not settings.broker:
        path = settings.data_dir / BROKER_FILE
        settings.broker = path.read_text().strip() if path.is_file() else None
    if not settings.broker:
        err.print("[red]no broker:[/red] pass --broker kafka://host:port, set POT_BROKER, or start `pot run` first")
        raise typer.Exit(2)
    return settings


def load_classifier(name: str, role: str, in_process: bool) -> Any:
    """Load a classifier (in a child process when asked) or exit with a plain message."""
    from classifiers import create
    from classifiers.process import ClassifierProcess

    try:
        model = ClassifierProcess(name).load() if in_process else create(name).load()
    except Exception as exc:
        err.print(f"[red]cannot load {role} {name!r}:[/red] {exc}")
        raise typer.Exit(2) from None
    err.print(f"{role} [bold]{model.name}[/bold] {model.version} loaded")
    return model
