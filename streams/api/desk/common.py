"""What the desk's pages share: constants, the context the worker hands them, and what a page shows of an alert."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ...core.vocabulary import canonical_platform
from ...kafka.queue_view import FILTERS, EventLog, QueueView, dims_of
from .auth import DeskUsers, Keys, LoginThrottle, Session
from .settings import DeskSettings

__all__ = ["DeskContext", "Who", "parse_filters", "row_of", "safe_next", "with_message"]

SESSION_COOKIE = "pot_desk"
LOGIN_COOKIE = "pot_desk_login"
STATES = {"active": ("open", "acknowledged"), "open": ("open",), "acknowledged": ("acknowledged",),
          "resolved": ("resolved",), "all": ("open", "acknowledged", "resolved")}
MESSAGES = {
    "acknowledged": "Acknowledged.", "resolved": "Resolved.", "already_acknowledged": "It was already acknowledged.",
    "already_resolved": "It was already resolved.", "sent": "Sent to the worker that owns this alert.",
    "relabelled": "Thank you: the correction is recorded.", "unknown": "No such alert.", "csrf": "",
    "logged_out": "You are logged out.",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

@dataclass
class DeskContext:
    """What the pages need from the worker; built by :func:`streams.api.desk.register`."""

    desk: DeskSettings
    users: DeskUsers
    keys: Keys
    queue: QueueView
    events: EventLog
    now: Callable[[], datetime]
    act: Callable[..., Awaitable[tuple[dict[str, Any], int]]]
    relabel: Callable[[dict[str, Any], str, str], Awaitable[None]]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


@dataclass
class Who:
    user: str
    session: Session
    new_cookie: str | None = None


def safe_next(value: Any) -> str:
    """Only a path inside the desk: never an open redirect.

    >>> safe_next("/desk/alerts/al-1"), safe_next("//evil.example"), safe_next("https://evil"), safe_next(None)
    ('/desk/alerts/al-1', '/desk', '/desk', '/desk')
    """
    if not isinstance(value, str) or not value.startswith("/desk") or value.startswith("//") or "\\" in value:
        return "/desk"
    return value


def parse_filters(query: Mapping[str, str]) -> dict[str, set[str]]:
    """Query parameters to queue filters; ``state`` is one of :data:`STATES` (default ``active``).

    A platform is folded as validation folds it (``twitter`` is ``x``), so what a user types or picks finds the
    posts stored under the canonical name.

    >>> parse_filters({"platform": " Twitter "})["platform"]
    {'x'}
    """
    out: dict[str, set[str]] = {}
    for name in FILTERS:
        value = (query.get(name) or "").strip()
        if name == "state":
            out["state"] = set(STATES.get(value, STATES["active"]))
        elif name == "platform" and value:
            out[name] = {canonical_platform(value)}
        elif value:
            out[name] = {value}
    return out


def row_of(clock: Mapping[str, Any], now: float) -> dict[str, Any]:
    """What a page shows of one alert, from its clock and the alert it carries."""
    alert = clock.get("alert") or {}
    post = alert.get("post") or {}
    author = post.get("author") or {}
    classification = alert.get("classification") or {}
    fired = list(clock.get("fired") or [])
    deadline = float(clock.get("deadline") or 0)
    state = clock.get("state") or "open"
    stopped_at = clock.get("acked_at") if state != "open" else None
    return {
        "id": clock.get("alert_id"), "state": state, "label": clock.get("label"), "priority": clock.get("priority"),
        "deadline": deadline, "raised_at": clock.get("raised_at"), "warn_at": clock.get("warn_at"),
        "left": deadline - now, "stopped_left": (deadline - float(stopped_at)) if stopped_at is not None else None,
        "acked_by": clock.get("acked_by"), "acked_at": clock.get("acked_at"), "resolved_by": clock.get("resolved_by"),
        "resolved_at": clock.get("resolved_at"), "fired": fired,
        "warned": "warning" in fired, "breached": "breach" in fired or (state == "open" and deadline <= now),
        "text": post.get("text") or clock.get("text") or "", "url": post.get("url"), "post_id": post.get("id"),
        "handle": author.get("handle"), "author_id": author.get("id"), "followers": author.get("followers"),
        "verified": author.get("verified"), "history": alert.get("history"), "recent_labels": alert.get("recent_labels") or [],
        "reasons": alert.get("reasons") or [], "receivers": clock.get("receivers") or [],
        "confidence": classification.get("confidence"), "model": classification.get("model"),
        "uncertain": alert.get("uncertain"), "window_s": alert.get("window_s"), **{k: v for k, v in dims_of(clock).items() if k not in ("label", "priority", "state")},
    }


def with_message(path: str, code: str) -> str:
    """A page to return to, with a message code (never free text, so nothing is reflected).

    >>> with_message("/desk?label=praise", "acknowledged"), with_message("/desk/alerts/al-1", "resolved")
    ('/desk?label=praise&msg=acknowledged', '/desk/alerts/al-1?msg=resolved')
    """
    base, _, fragment = path.partition("#")
    return f"{base}{'&' if '?' in base else '?'}msg={quote(code)}" + (f"#{fragment}" if fragment else "")
