"""Jinja2 templates (autoescape on for every template) and the filters that show untrusted text safely.

>>> safe_url("https://x.com/a/1"), safe_url("javascript:alert(1)"), safe_url(" JAVASCRIPT:x"), safe_url(None)
('https://x.com/a/1', None, None, None)
>>> left(3725), left(-61), left(59)
('1h02m', 'overdue 1m01s', '0m59s')
>>> str(env().from_string("{{ t }}").render(t="<script>alert(1)</script>"))
'&lt;script&gt;alert(1)&lt;/script&gt;'
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from sinks.text import clean_control

PRIORITY_CLASS = {"P1": "p1", "P2": "p2", "P3": "p3", "P4": "p4"}


def safe_url(value: Any) -> str | None:
    """A link target only for http(s) URLs: a post's ``url`` is customer input (``javascript:`` would run)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def left(seconds: float) -> str:
    s = int(seconds)
    sign, s = ("overdue ", -s) if s < 0 else ("", s)
    return f"{sign}{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{sign}{s // 60}m{s % 60:02d}s"


def when(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return "–"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def text(value: Any, limit: int | None = None) -> str:
    """Untrusted text for a page: control and bidi-override characters made visible, optionally cut short
    (escaping itself is autoescape's job)."""
    out = clean_control(str(value if value is not None else ""))
    return out if limit is None or len(out) <= limit else out[: limit - 1] + "…"


def detail(value: Any) -> str:
    """An event's detail value as one line of text."""
    if isinstance(value, (dict, list)):
        return text(json.dumps(value, ensure_ascii=False, sort_keys=True), 400)
    return text(value, 400)


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("streams.api.desk", "templates"), autoescape=True,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(safe_url=safe_url, left=left, when=when, text=text, detail=detail)
    environment.globals.update(priority_class=lambda p: PRIORITY_CLASS.get(str(p), "p4"))
    return environment


def render(name: str, **context: Any) -> str:
    return env().get_template(name).render(**context)
