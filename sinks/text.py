"""Helpers for showing untrusted text: no control characters, bounded length.

>>> clean_control("ok\\x1b[2Jthen\\x07")
'ok\\\\x1b[2Jthen\\\\x07'
>>> truncate("abcdef", 4)
'abc…'
"""

from __future__ import annotations

import re

__all__ = ["clean_control", "human_duration", "truncate"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_control(text: str) -> str:
    """Replace control and bidi-override characters with visible escapes (newlines and tabs stay)."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_duration(seconds: int) -> str:
    """A window as a support lead says it.

    >>> human_duration(3600), human_duration(86400), human_duration(900), human_duration(5400)
    ('1 h', '1 day', '15 min', '90 min')
    """
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" + ("s" if days != 1 else "")
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
