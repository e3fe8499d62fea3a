"""Prints each alert readably on the terminal, for demos and first runs.

Post text is untrusted: it is rendered as a rich ``Text`` (never parsed as
markup) with control characters replaced, so a post cannot restyle or clear
the operator's terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from .base import Delivered, Sink
from .text import clean_control, human_duration, truncate

_COLOURS = {"complaint": "red", "question": "cyan", "suggestion": "yellow", "praise": "green"}


def render(alert: dict[str, Any]) -> Panel:
    """The panel for one alert; pure, so tests can render it to a string."""
    post, cls = alert["post"], alert["classification"]
    author = post["author"]
    colour = _COLOURS.get(cls["label"], "white")
    body = Text()
    body.append(f"{cls['label'].upper()} ", style=f"bold {colour}")
    body.append(f"{alert['priority']}  confidence {cls['confidence']:.2f}  ")
    body.append(f"window {human_duration(alert['window_s'])}, reply by {alert['deadline']}\n", style="bold")
    handle = clean_control(author.get("handle") or author["id"])
    body.append(f"{handle} ({author.get('followers', 0)} followers{', verified' if author.get('verified') else ''})")
    body.append(f"  on {clean_control(post['platform'])}  lang {cls.get('lang') or post.get('lang') or '?'}\n")
    body.append("“" + truncate(clean_control(post["text"]), 600) + "”\n", style="italic")
    if alert.get("history"):
        recent = ", ".join(alert.get("recent_labels") or [])
        body.append(f"history: {clean_control(alert['history'])}" + (f" (recent: {recent})" if recent else "") + "\n")
    for reason in alert["reasons"]:
        body.append(f"  • {clean_control(reason)}\n", style="dim")
    return Panel(body, title=alert["alert_id"], title_align="left", border_style=colour)


class ConsoleSink(Sink):
    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=False)

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        self.console.print(render(alert))
        return Delivered()

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        line = Text()
        line.append(f"{notice['kind'].upper()} ", style="bold magenta")
        alert = notice.get("alert") or {}
        if alert:
            line.append(f"{alert.get('alert_id')} ({alert.get('priority')} {alert.get('classification', {}).get('label')}): ")
        line.append(clean_control(notice["summary"]))
        if alert.get("post"):
            line.append("  “" + truncate(clean_control(alert["post"]["text"]), 120) + "”", style="italic")
        for entry in (notice.get("detail") or {}).get("entries", [])[:20]:
            line.append(f"\n  • {entry['label']}: " + truncate(clean_control(entry["text"]), 120))
        self.console.print(line)
        return Delivered()
