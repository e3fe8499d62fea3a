"""Turn raw bytes from the ``posts`` topic or the HTTP API into a :class:`Post`, or say why not.

Every rejection carries a short, bounded ``code`` (a metric label) and a
sentence for the dead-letter record. Unknown extra fields are ignored so that
producers can add their own without being rejected.

What passes here must survive every later stage, so a few things that Python's
``json`` accepts are refused up front rather than crash an agent downstream:
integers too long to convert (``ValueError``, not ``JSONDecodeError``), values
nested deeper than :data:`MAX_DEPTH` (they parse, but re-encoding them for the
next topic recurses past the limit), and lone surrogates (``"\\ud800"``: a
``str`` that cannot be encoded as UTF-8 again). A ``created_at`` before
:data:`EARLIEST_CREATED_AT` or more than :data:`MAX_FUTURE_S` ahead of now is
a broken producer (epoch zero, year 9999), not a post: its deadline would be
meaningless or overflow.

>>> post = parse_post(b'{"id": "1", "platform": "x", "text": "hi", '
...                   b'"created_at": "2026-11-23T09:00:00+02:00", "author": {"id": "u1"}}')
>>> post.key
'x:1'
>>> parse_post(b'{"id": 1}')
Traceback (most recent call last):
...
streams.core.validation.InvalidPost: [missing_field] missing field(s): text, created_at, author.id
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .records import Post, parse_instant

__all__ = [
    "EARLIEST_CREATED_AT", "MAX_DEPTH", "MAX_FUTURE_S", "MAX_POST_BYTES", "REASON_CODES", "InvalidPost", "decode_json",
    "parse_post", "raw_for_record", "validate_obj", "validate_post",
]

MAX_POST_BYTES = 64 * 1024
MAX_DEPTH = 64
"""Deepest nesting of objects and arrays (a post is depth 1, its ``author`` depth 2)."""
EARLIEST_CREATED_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)
"""Older timestamps come from producers that write zero or garbage (1970-01-01, 0001-01-01)."""
MAX_FUTURE_S = 24 * 3600
"""How far ahead of now a ``created_at`` may be: clock skew and a mislabelled UTC offset (at most 14 h) fit."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_ISO_CHARACTERS = re.compile(r"[0-9TtWwZz:.,+\- ]+")
"""What an ISO 8601 timestamp is written with. Python 3.11's ``fromisoformat`` takes any character as the
date/time separator and skips whatever follows six fractional digits, so without this check
``"2026-11-23\u202e09:00:00.000000evil+00:00"`` would pass, kept verbatim in the post."""

REASON_CODES: tuple[str, ...] = (
    "too_large",
    "not_utf8",
    "not_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "bad_timestamp",
    "empty_text",
)
"""Every rejection code; metrics are created for each at start-up."""


class InvalidPost(ValueError):
    """A post that cannot be processed; ``code`` is one of :data:`REASON_CODES`."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"[{code}] {reason}")
        self.code = code
        self.reason = reason


_POST = TypeAdapter(Post)
"""The one Post schema (:class:`streams.core.records.Post`), checked strictly: no string where a number is
due, no number for a string; unknown fields are ignored so that producers can add their own."""
_SET_BY_THE_MONITOR = ("received_at",)


def _missing(obj: dict[str, Any]) -> list[str]:
    missing = [name for name in ("id", "text", "created_at") if name not in obj or obj[name] is None]
    author = obj.get("author")
    if not isinstance(author, dict) or author.get("id") is None:
        missing.append("author.id")
    return missing


def validate_post(obj: Any, now: datetime | None = None) -> Post:
    """Validate one decoded JSON value (a Post dict, as producers and platform adapters write it) and return
    the typed :class:`Post`; raises :class:`InvalidPost` with a code and a reason. ``now`` (default: the
    system clock) bounds ``created_at``."""
    if not isinstance(obj, dict):
        raise InvalidPost("not_object", f"a post must be a JSON object, got {type(obj).__name__}")
    _check_tree(obj)
    missing = _missing(obj)
    if missing:
        raise InvalidPost("missing_field", "missing field(s): " + ", ".join(missing))
    try:
        model = _POST.validate_python({k: v for k, v in obj.items() if k not in _SET_BY_THE_MONITOR})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidPost("wrong_type", problems) from None
    if not model.id.strip():
        raise InvalidPost("missing_field", "id is empty")
    if not model.author.id.strip():
        raise InvalidPost("missing_field", "author.id is empty")
    if not model.text.strip():
        raise InvalidPost("empty_text", "text is empty: nothing to classify")
    if not _ISO_CHARACTERS.fullmatch(model.created_at.strip()):
        raise InvalidPost(
            "bad_timestamp", f"created_at {model.created_at[:64]!r} does not parse: not written as an ISO 8601 timestamp"
        )
    try:
        created = parse_instant(model.created_at)
    except (ValueError, OverflowError) as exc:
        raise InvalidPost("bad_timestamp", f"created_at {model.created_at[:64]!r} does not parse: {exc}") from None
    if created < EARLIEST_CREATED_AT:
        raise InvalidPost(
            "bad_timestamp", f"created_at {model.created_at[:64]!r} is before {EARLIEST_CREATED_AT:%Y-%m-%d}: not a real post time"
        )
    ahead = created - (now or datetime.now(timezone.utc))
    if ahead > timedelta(seconds=MAX_FUTURE_S):
        raise InvalidPost(
            "bad_timestamp",
            f"created_at {model.created_at[:64]!r} is {ahead.total_seconds() / 3600:.0f} h in the future "
            f"(over the {MAX_FUTURE_S // 3600} h allowed for clock skew)",
        )
    return model


def decode_json(raw: bytes, max_bytes: int = MAX_POST_BYTES) -> Any:
    """Size, encoding and JSON checks shared by single posts and HTTP batches."""
    if len(raw) > max_bytes:
        raise InvalidPost("too_large", f"{len(raw)} bytes is over the {max_bytes}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPost("not_utf8", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidPost("not_json", "JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InvalidPost("not_json", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # an integer over sys.get_int_max_str_digits() digits
        raise InvalidPost("not_json", f"not JSON: {str(exc).partition(':')[0]}") from None
    _check_tree(value, MAX_DEPTH + 1)  # one level more for an HTTP batch's array; validate_obj checks each post
    return value


def _check_tree(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Refuse what parsed but cannot be encoded again: nesting over ``max_depth``, lone surrogates.

    Iterative, so that checking a deep value cannot itself hit the recursion limit.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            strings = [item]
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                raise InvalidPost("not_json", f"JSON nested too deeply (over {MAX_DEPTH} levels)")
            children = list(item.values()) if isinstance(item, dict) else item
            strings = list(item) if isinstance(item, dict) else []
            stack.extend((child, depth + 1) for child in children if isinstance(child, (str, dict, list)))
        else:
            continue
        for string in strings:
            found = _SURROGATE.search(string)
            if found:
                raise InvalidPost(
                    "not_utf8", f"a string holds a lone surrogate (\\u{ord(found.group()):04x}): not valid Unicode"
                )


validate_obj = validate_post
"""The earlier name of :func:`validate_post`."""


def parse_post(raw: bytes, max_bytes: int = MAX_POST_BYTES, now: datetime | None = None) -> Post:
    """Validate the bytes of one post; raises :class:`InvalidPost`."""
    return validate_post(decode_json(raw, max_bytes), now)


def raw_for_record(raw: bytes) -> tuple[str, str]:
    """The raw bytes as (text, encoding) for a dead-letter record: UTF-8 where it is, base64 otherwise."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"
