"""``pot report`` (response times from the events topic) and ``pot desk add-user|hash-password`` (desk logins)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Settings
from ..core import report_format, reports

err = Console(stderr=True, highlight=False)


def read_events(settings: Settings, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Every JSON object on the events topic, up to its end offsets at start (:func:`streams.kafka.readers.read_records`)."""
    from ..kafka.readers import read_records
    from ..kafka.security import kafka_python_kwargs

    out: list[dict[str, Any]] = []
    for record in read_records(kafka_python_kwargs(settings), settings.topic("events"), timeout_s=timeout_s, client_id="pot-report"):
        try:
            value = json.loads(record.value)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def table_of(report: reports.Report) -> Table:
    table = Table(*report.by, "week", *[heading for heading, _ in report_format.COLUMNS], title=(
        f"alerts raised {datetime.fromtimestamp(report.since).astimezone().strftime('%Y-%m-%d %H:%M')} to "
        f"{datetime.fromtimestamp(report.until).astimezone().strftime('%Y-%m-%d %H:%M')}"))
    for row in report.rows:
        style = "bold" if row.week == reports.ALL_WEEKS else None
        table.add_row(*[escape(v) for v in row.group], row.week, *[report_format.cell(row, attr) for _, attr in report_format.COLUMNS], style=style)
    return table


def register(cli: typer.Typer) -> None:
    from .base import client_settings as _client_settings

    @cli.command()
    def report(
        since: str = typer.Option("7d", help="The period before now: 12h, 7d, 4w."),
        by: str = typer.Option("", help=f"Group by some of: {', '.join(reports.DIMENSIONS)} (comma-separated)."),
        output: str = typer.Option("table", "-o", "--output", help="table, json or csv."),
        plot: Optional[Path] = typer.Option(None, help="Also draw the weekly trend to this PNG file."),
        now: Optional[str] = typer.Option(None, help="Report as of this instant (ISO 8601); default: now."),
        broker: Optional[str] = typer.Option(None, help="kafka://host:port; default: the local `pot run`'s broker (POT_BROKER)."),
        data_dir: Optional[Path] = typer.Option(None, help="Where a local `pot run` wrote its broker address (POT_DATA_DIR)."),
    ) -> None:
        """Response times per group and week, from the events topic (every worker's, across restarts)."""
        from ..clock import Clock

        if output not in ("table", "json", "csv"):
            err.print("[red]--output must be table, json or csv[/red]")
            raise typer.Exit(2)
        try:
            period, groups = reports.parse_since(since), reports.parse_by(by)
            moment = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else None
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
        settings = _client_settings(broker, data_dir)
        if moment is None:
            moment = Clock(settings.clock_offset_file).now()  # the workers' clock, when a drill shifts it
        try:
            events = read_events(settings)
        except Exception as exc:
            err.print(f"[red]cannot read the events topic:[/red] {escape(f'{type(exc).__name__}: {exc}')}")
            raise typer.Exit(3) from None
        result = reports.build(events, moment, period, groups)
        if output == "json":
            print(report_format.to_json(result))
        elif output == "csv":
            print(report_format.to_csv(result), end="")
        else:
            Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table_of(result))
        if plot is not None:
            report_format.plot(result, plot)
            err.print(f"wrote {plot}")

    desk = typer.Typer(no_args_is_help=True, help="The web desk's logins.")
    cli.add_typer(desk, name="desk")

    @desk.command("add-user")
    def add_user(
        name: str = typer.Argument(..., help="Login name (letters, digits, . _ @ + -)."),
        users_file: Path = typer.Option(..., envvar="POT_DESK_USERS_FILE", help="The users file the workers read."),
    ) -> None:
        """Add a user (or set a new password): asks for the password twice and stores only its scrypt hash."""
        from ..api.desk.auth import add_user as add

        password = _new_password(f"password for {name}: ")
        try:
            add(users_file, name, password)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
        err.print(f"{escape(name)} can log in; workers re-read {users_file} on their next login check")

    @desk.command("hash-password")
    def hash_password() -> None:
        """Print the scrypt hash of a password, for a users file kept elsewhere (a secret store, a ConfigMap)."""
        from ..api.desk.auth import hash_password as make

        print(make(_new_password("password: ")))


def _new_password(prompt: str) -> str:
    """A password typed twice (at least 8 characters); anything else exits 2."""
    password = getpass.getpass(prompt)
    if len(password) < 8 or password != getpass.getpass("again: "):
        err.print("[red]passwords differ or are shorter than 8 characters[/red]")
        raise typer.Exit(2)
    return password
