"""Helpers for showing untrusted text: no control characters, bounded length.

>>> clean_control("ok\\x1b[2Jthen\\x07")
'ok\\\\x1b[2Jthen\\\\x07'
>>> truncate("abcdef", 4)
'abc…'
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_control(text: str) -> str:
    """Replace control and bidi-override characters with visible escapes (newlines and tabs stay)."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
