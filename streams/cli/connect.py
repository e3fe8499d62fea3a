"""``pot connect NAME`` (one connector in the foreground against the monitor's broker), and the checks
``pot run`` makes before it starts the connectors named in ``POT_CONNECTORS`` beside the worker."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .base import cli, client_settings, err

if TYPE_CHECKING:
    from ..config import Settings
    from ..platforms.config import ConnectorList
    from ..platforms.connectors.runner import ConnectorThread

__all__ = ["check_connectors", "connect", "start_connectors"]


def check_connectors(names: list[str] | None = None) -> ConnectorList:
    """The connectors named (by default in ``POT_CONNECTORS``), checked before anything starts: exits naming
    the variables that are missing (never their values)."""
    from ..platforms.config import ConnectorList
    from ..platforms.connectors.runner import load_settings, problems

    try:
        chosen = ConnectorList() if names is None else ConnectorList(connectors=names)
        found = [p for name in chosen.connectors for p in problems(name, load_settings(name))]
    except Exception as exc:
        err.print(f"[red]connector configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    if found:
        err.print("[red]connector not configured:[/red] " + "; ".join(found))
        raise typer.Exit(2)
    return chosen


def start_connectors(settings: Settings, chosen: ConnectorList) -> ConnectorThread | None:
    """Start the checked connectors on their own event loop in a thread beside the worker (None when none
    are named), so nothing a connector does can stall the worker's loop."""
    from ..platforms.connectors.runner import ConnectorThread

    if not chosen.connectors:
        return None
    thread = ConnectorThread(chosen.connectors, settings, chosen.connector_brand)
    thread.start()
    err.print(f"connectors: {', '.join(chosen.connectors)}")
    return thread


@cli.command()
def connect(
    name: str = typer.Argument(..., help="mastodon, bluesky, reddit or x; settings come from POT_<NAME>_* variables."),
    broker: Optional[str] = typer.Option(None, help="kafka://host:port; default: the local `pot run`'s broker. (POT_BROKER)"),
    data_dir: Optional[Path] = typer.Option(None, help="Where a local `pot run` wrote its broker address. (POT_DATA_DIR)"),
    metrics_port: Optional[int] = typer.Option(None, help="Serve the connector's Prometheus metrics on this port."),
) -> None:
    """Read a platform and publish its posts; the cursor is kept in Kafka, so a restart resumes where it stopped."""
    from ..platforms.connectors import CONNECTORS
    from ..platforms.connectors.runner import run_all

    key = name.strip().lower()
    if key not in CONNECTORS:
        err.print(f"[red]unknown connector {name!r}[/red]; known: {', '.join(CONNECTORS)}")
        raise typer.Exit(2)
    chosen = check_connectors([key])
    settings = client_settings(broker, data_dir)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from ..metrics import REGISTRY
        from ..platforms import metrics as platform_metrics

        platform_metrics.initialise()
        start_http_server(metrics_port, addr="127.0.0.1", registry=REGISTRY)
    err.print(f"connector [bold]{key}[/bold] publishing to {settings.topic('posts')}; Ctrl-C stops it")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_all(chosen.connectors, settings, stop, chosen.connector_brand)

    asyncio.run(main())
