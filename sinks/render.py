"""Pure helpers the Slack and email renderers share, so both treat untrusted post fields the same way.

Every string that came from a post is untrusted. These helpers decide once
what may become a link and how a field is squeezed onto one line.

>>> http_url("https://example.com/p/1")
'https://example.com/p/1'
>>> http_url("javascript:alert(1)") is None, http_url("https://x.com/a b") is None
(True, True)
>>> one_line("evil\\r\\nBcc: victim@example.com", 200)
'evil Bcc: victim@example.com'
>>> deadline_utc("2024-05-01T14:00:00Z")
'2024-05-01 14:00 UTC'
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from .text import clean_control, truncate

_WHITESPACE = re.compile(r"\s+")

PRIORITY_NAMES = {"P1": "urgent", "P2": "high", "P3": "normal", "P4": "low"}


def http_url(value: Any) -> str | None:
    """The value when it is an absolute http(s) URL with a host; ``None`` means "show it, never link it".

    Whitespace and control or bidi characters disqualify a URL: they are how a
    link is made to look like something else.
    """
    if not isinstance(value, str) or not value or len(value) > 2048:
        return None
    if clean_control(value) != value or _WHITESPACE.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def url_host(url: str) -> str:
    """The host of a URL that :func:`http_url` accepted, for "where does this link go" hints."""
    return urlsplit(url).hostname or ""


def one_line(value: Any, limit: int) -> str:
    """A single bounded line: any line break or run of whitespace becomes one space, controls are escaped."""
    text = "" if value is None else str(value)
    return truncate(clean_control(_WHITESPACE.sub(" ", text)).strip(), limit)


def parse_deadline(value: Any) -> datetime | None:
    """The deadline (or any other instant on the wire: ``raised_at``, a notice's ``at``) as an aware UTC datetime,
    or ``None`` when it is not an ISO timestamp with an offset."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else None


def deadline_utc(value: Any) -> str:
    """A readable UTC rendering of the deadline, or the raw value (made safe) when it does not parse."""
    moment = parse_deadline(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else one_line(value, 64)


def author_name(author: dict[str, Any]) -> str:
    """The handle when there is one, else the platform id: what a person recognises."""
    return one_line(author.get("handle") or author.get("id") or "unknown", 80)


def followers(author: dict[str, Any]) -> int:
    """Follower count as an int (0 when missing or malformed), so formatting never raises."""
    try:
        return max(0, int(author.get("followers") or 0))
    except (TypeError, ValueError):
        return 0
