"""``pot ack``, ``pot resolve``, ``pot alerts``, ``pot silence`` and ``pot policy check``: the desk from a terminal.

They talk to a running worker's HTTP API (``--api``, ``POT_API_URL``) with the
bearer token from ``POT_API_TOKEN``, so the CLI needs no Kafka access and
every action is recorded with its actor like any other.
"""

from __future__ import annotations

import getpass
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
API = typer.Option("http://127.0.0.1:6066", "--api", envvar="POT_API_URL", help="A worker's HTTP API.")
ACTOR = typer.Option(None, help="Who is acting (default: your login name).")


def _headers() -> dict[str, str]:
    token = os.environ.get("POT_API_TOKEN", "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def _call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return httpx.request(method, url, headers=_headers(), timeout=15, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach the monitor at {escape(url)}:[/red] {type(exc).__name__}; is `pot run` up? (--api / POT_API_URL)")
        raise typer.Exit(3) from None


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code == 401:
        err.print("[red]unauthorized:[/red] set POT_API_TOKEN to the worker's token")
        raise typer.Exit(2)
    return body


def _act(verb: str, alert_id: str, api: str, actor: str | None) -> None:
    who = actor or getpass.getuser()
    response = _call("POST", f"{api.rstrip('/')}/alerts/{alert_id}/{verb}", json={"actor": who})
    body = _answer(response)
    status = body.get("status") or body.get("error", "")
    by = f" by {body['by']}" if body.get("by") else ""
    line = f"{escape(alert_id)}: {escape(str(status))}{escape(by)}"
    if response.status_code in (200, 202):
        out.print(line)
        return
    err.print(f"[red]{line}[/red]")
    raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    @cli.command()
    def ack(alert_id: str = typer.Argument(..., help="The alert id (al-...)."), api: str = API, actor: Optional[str] = ACTOR) -> None:
        """Acknowledge an alert: its warnings, escalations and reminders stop. Repeating it is harmless."""
        _act("ack", alert_id, api, actor)

    @cli.command()
    def resolve(alert_id: str = typer.Argument(..., help="The alert id (al-...)."), api: str = API, actor: Optional[str] = ACTOR) -> None:
        """Resolve an alert (acknowledging it too if nobody had)."""
        _act("resolve", alert_id, api, actor)

    @cli.command()
    def alerts(
        api: str = API,
        state: str = typer.Option("open", help="open, acknowledged or resolved."),
        watch: bool = typer.Option(True, help="Keep the table live (Ctrl-C to stop); --no-watch prints once."),
        every: float = typer.Option(2.0, help="Seconds between refreshes."),
    ) -> None:
        """The open alerts with time left, most urgent first, as a live table."""
        if not watch:
            out.print(_alerts_table(api, state))
            return
        try:
            with Live(_alerts_table(api, state), console=out, refresh_per_second=4) as live:
                while True:
                    time.sleep(every)
                    live.update(_alerts_table(api, state))
        except KeyboardInterrupt:
            pass

    silence = typer.Typer(no_args_is_help=True, help="Silences: matching alerts are recorded but not sent.")
    cli.add_typer(silence, name="silence")

    @silence.command("add")
    def silence_add(
        matchers: list[str] = typer.Argument(..., help="key=value[,value] matchers, e.g. label=praise brand=acme."),
        duration: str = typer.Option("1h", "--for", help="How long: 30m, 2h, 1d."),
        comment: str = typer.Option("", help="Why, for the next person."),
        api: str = API,
        actor: Optional[str] = ACTOR,
    ) -> None:
        """Create a silence."""
        from ..core.policy import parse_duration
        from ..core.silences import parse_matchers

        try:
            parsed = parse_matchers(matchers)
            seconds = parse_duration(duration)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from None
        response = _call("POST", f"{api.rstrip('/')}/silences", json={
            "matchers": parsed, "duration_s": seconds, "comment": comment, "created_by": actor or getpass.getuser(),
        })
        body = _answer(response)
        if response.status_code != 201:
            err.print(f"[red]{escape(str(body.get('error')))}[/red]")
            raise typer.Exit(1)
        s = body["silence"]
        out.print(f"silence {s['id']} until {_when(s['ends_at'])}")

    @silence.command("list")
    def silence_list(api: str = API, all_: bool = typer.Option(False, "--all", help="Include expired ones.")) -> None:
        """The silences in force (or all with --all)."""
        body = _answer(_call("GET", f"{api.rstrip('/')}/silences", params={"all": "1" if all_ else "0"}))
        table = Table("id", "matchers", "until", "by", "comment", "active")
        for s in body.get("silences", []):
            matchers = " ".join(f"{k}={','.join(v)}" for k, v in s["matchers"].items())
            table.add_row(s["id"], escape(matchers), _when(s["ends_at"]), escape(s["created_by"]), escape(s["comment"]), "yes" if s["active"] else "no")
        out.print(table)

    @silence.command("expire")
    def silence_expire(silence_id: str, api: str = API) -> None:
        """End a silence now."""
        response = _call("DELETE", f"{api.rstrip('/')}/silences/{silence_id}")
        body = _answer(response)
        if response.status_code != 200:
            err.print(f"[red]{escape(str(body.get('error')))}[/red]")
            raise typer.Exit(1)
        out.print(f"silence {silence_id} expired")

    policy_cli = typer.Typer(no_args_is_help=True, help="The routing policy.")
    cli.add_typer(policy_cli, name="policy")

    @policy_cli.command("check")
    def policy_check(file: Path = typer.Argument(..., help="Policy YAML.")) -> None:
        """Validate a policy file; a running worker reloads it on SIGHUP or when it changes."""
        from ..core.policy import PolicyError, load_policy, walk_routes

        try:
            policy = load_policy(file)
        except PolicyError as exc:
            err.print(f"[red]invalid:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from None
        out.print(
            f"{file}: valid; {len(policy.receivers)} receivers, {len(walk_routes(policy.routes))} routes, "
            f"{len(policy.keyword_rules())} keyword rules, {len(policy.calendars)} calendars"
        )


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="minutes").replace("+00:00", "Z")


def _left(seconds: int) -> str:
    sign = "" if seconds >= 0 else "overdue "
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{sign}{seconds // 60}m{seconds % 60:02d}s"


def _alerts_table(api: str, state: str) -> Table:
    body = _answer(_call("GET", f"{api.rstrip('/')}/alerts", params={"state": state}))
    rows = body.get("alerts", [])
    title = f"{len(rows)} {state} alert(s) at {body.get('now', '')}" + ("" if body.get("complete", True) else " (this worker's partitions only)")
    table = Table("time left", "priority", "label", "alert", "text", "fired", title=title)
    for row in rows:
        colour = "red" if row["seconds_left"] < 0 else ("yellow" if row["seconds_left"] < 900 else "green")
        table.add_row(
            f"[{colour}]{_left(row['seconds_left'])}[/{colour}]", row["priority"], row["label"], row["alert_id"],
            escape(row["text"][:80]), ", ".join(row["fired"]),
        )
    return table
