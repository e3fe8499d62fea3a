"""What every ``pot`` command shares: the typer app, the error console, settings and classifier loading."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from ..config import Settings

__all__ = [
    "BROKER_FILE", "cli", "client_settings", "err", "exit_unless_readable", "load_classifier", "settings_or_exit",
    "unknown_variable_lines",
]

cli = typer.Typer(
    add_completion=False, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
    help="points-of-truth: customer posts in, timely alerts out.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

BROKER_FILE = "broker.url"


def exit_unless_readable(*paths: Path) -> None:
    """Stop with exit 2 naming every input that cannot be read.

    Not only regular files are inputs: a shell's ``<(command)`` or ``/dev/stdin`` is a pipe, read once the same way.
    """
    missing = [str(p) for p in paths if not p.exists() or p.is_dir()]
    if missing:
        err.print(f"[red]no such file:[/red] {', '.join(missing)}")
        raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("points-of-truth")
        except PackageNotFoundError:
            number = "unknown (not installed)"
        typer.echo(f"pot (points-of-truth) {number}")
        raise typer.Exit(0)


@cli.callback()
def _options(
    version: bool = typer.Option(False, "--version", "-V", is_eager=True, callback=_version, help="Print the version and exit."),
) -> None:
    """points-of-truth: customer posts in, timely alerts out."""


def unknown_variable_lines() -> list[str]:
    """One line per ``POT_*`` variable (environment or ``.env``) that no setting reads, with the likely one."""
    from dotenv import dotenv_values

    from ..config_check import unknown_variables

    seen = {**{k: v or "" for k, v in dotenv_values(".env").items()}, **os.environ} if Path(".env").is_file() else dict(os.environ)
    return [f"{name} is not a setting" + (f" (did you mean {close}?)" if close else "")
            for name, close in unknown_variables(seen, Settings)]


def settings_or_exit(strict: bool = False, warn: bool = True, **overrides: Any) -> Settings:
    """The settings, or exit 2 with one line per wrong variable. ``strict``: unknown ``POT_*`` names are
    errors too (``pot run``: a misspelt ``POT_BROKER`` must not start the embedded broker)."""
    from ..config_check import ConfigError, load

    try:
        settings = load(Settings, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        for line in exc.lines:
            err.print(f"[red]configuration error:[/red] {escape(line)}")
        raise typer.Exit(2) from None
    unknown = unknown_variable_lines() if strict or warn else []
    for line in unknown:
        err.print(f"[red]configuration error:[/red] {escape(line)}" if strict else f"[yellow]warning:[/yellow] {escape(line)}")
    if strict and unknown:
        err.print("unset or correct them; `pot config` lists every setting")
        raise typer.Exit(2)
    return settings


def client_settings(broker: str | None, data_dir: Path | None, probe: bool = True) -> Settings:
    """Settings for a command that talks to a running monitor's broker: the configured one, or the one
    a local ``pot run`` wrote down for its neighbours; exits plainly when there is neither, and (``probe``)
    when the broker does not answer or refuses our credentials."""
    settings = settings_or_exit(broker=broker, data_dir=data_dir)
    if not settings.broker and settings.kafka.security_protocol == "PLAINTEXT":
        path = settings.data_dir / BROKER_FILE
        settings.broker = path.read_text().strip() if path.is_file() else None
    if not settings.broker:
        err.print("[red]no broker:[/red] pass --broker kafka://host:port, set POT_BROKER, or start `pot run` first")
        raise typer.Exit(2)
    if probe:
        from ..kafka.broker import BrokerUnreachable, wait_for_broker
        from ..kafka.security import kafka_python_kwargs

        try:
            wait_for_broker(settings.bootstrap_servers, settings.broker_wait_s, security=kafka_python_kwargs(settings))
        except BrokerUnreachable as exc:
            err.print(f"[red]POT_BROKER={escape(settings.broker)}:[/red] {escape(str(exc))}")
            raise typer.Exit(3) from None
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
