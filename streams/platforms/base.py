"""What every platform mapper shares: the result type, the error, time and text helpers.

A mapper is a pure function ``(payload, context) -> Mapped``: one native JSON value in (a stream
message, a page of search results, a webhook delivery), zero or more posts out, in the wire
contract of DESIGN.md (plain dicts, validated later by :func:`streams.core.validation.validate_post`).
What a payload holds that is not a post (a like, a delete, a rating without words) is listed in
``skipped`` with a reason; what cannot be read at all raises :class:`MappingError`.

>>> epoch_to_iso(1732352400)
'2024-11-23T09:00:00Z'
>>> epoch_to_iso(1732352400123)   # milliseconds are told apart by size
'2024-11-23T09:00:00Z'
>>> epoch_to_iso(1725911162329308, unit="us")
'2024-09-09T19:46:02Z'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MAP_REASON_CODES: tuple[str, ...] = ("unknown_shape", "missing_field", "wrong_type")
"""Why a payload could not be mapped; bounded, so they can be metric labels and dead-letter codes."""


def stage_of(code: str) -> str:
    """The dead-letter stage of a frame a connector could not read, when only its code is known: ``map`` when
    it was not the format's shape, ``validate`` otherwise (``not_json``, as for a plain post). What the intake
    rejects carries its own stage (:class:`streams.platforms.intake.Rejection`): there ``missing_field`` may be
    either."""
    return "map" if code in MAP_REASON_CODES else "validate"


class MappingError(ValueError):
    """A payload that is not what the format documents; ``code`` is one of :data:`MAP_REASON_CODES`."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"[{code}] {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Context:
    """What a mapper may know besides the payload: all of it optional, none of it I/O.

    ``profiles`` maps an author id (a Bluesky DID) to a profile as ``app.bsky.actor.getProfile``
    answers it; a connector fills it from its cache, ``pot send`` leaves it empty.
    """

    brand: str | None = None
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class Mapped:
    posts: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One reason per thing in the payload that is not a post (deleted, a like, no text)."""

    def extend(self, other: "Mapped") -> "Mapped":
        self.posts.extend(other.posts)
        self.skipped.extend(other.skipped)
        return self


def map_each(mapper: Callable[[Any, Context], Mapped], items: Iterable[Any], ctx: Context) -> Mapped:
    """Each item mapped and the results joined (a page of statuses or reviews, a listing's children)."""
    out = Mapped()
    for item in items:
        out.extend(mapper(item, ctx))
    return out


def need(obj: Any, *path: str) -> Any:
    """``obj[path[0]][path[1]]...`` or :class:`MappingError` naming the missing field."""
    value = obj
    for depth, key in enumerate(path):
        if not isinstance(value, dict) or value.get(key) is None:
            raise MappingError("missing_field", "missing field " + ".".join(path[: depth + 1]))
        value = value[key]
    return value


def need_dict(obj: Any, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MappingError("wrong_type", f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def as_id(value: Any, what: str) -> str:
    """Ids arrive as strings or numbers; the contract wants strings."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MappingError("wrong_type", f"{what} must be a string or integer id")
    text = str(value).strip()
    if not text:
        raise MappingError("missing_field", f"{what} is empty")
    return text


def count(value: Any) -> int:
    """A follower count: a non-negative int, 0 when unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def epoch_to_iso(value: Any, unit: str = "auto") -> str:
    """Seconds (or milliseconds, or ``unit="us"`` microseconds) since the epoch as ISO 8601 UTC."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MappingError("wrong_type", f"a timestamp must be a number, got {type(value).__name__}")
    seconds = float(value)
    if unit == "us":
        seconds /= 1_000_000
    elif unit == "auto" and seconds > 1e11:  # after 5138 in seconds, so it is milliseconds
        seconds /= 1000
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise MappingError("wrong_type", f"timestamp {value!r} is out of range") from None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_or_epoch(value: Any, what: str) -> str:
    """A timestamp that may be ISO 8601 text (kept, ``+0000`` made ``+00:00``) or epoch seconds."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]  # Graph API writes 2024-11-23T09:00:00+0000
        return text
    if value is None:
        raise MappingError("missing_field", f"missing field {what}")
    return epoch_to_iso(value)


def join_text(*parts: Any) -> str:
    """Non-empty string parts joined by a blank line (a title and its body)."""
    return "\n\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


def post(
    *,
    id: str,
    platform: str,
    text: str,
    created_at: str,
    author_id: str,
    handle: str | None = None,
    followers: int = 0,
    verified: bool = False,
    url: str | None = None,
    lang: str | None = None,
    in_reply_to: str | None = None,
    brand: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One post in the wire contract; optional fields left out when unknown."""
    out: dict[str, Any] = {
        "id": id,
        "platform": platform,
        "text": text,
        "created_at": created_at,
        "author": {"id": author_id, "handle": handle, "followers": followers, "verified": verified},
    }
    for name, value in (("url", url), ("lang", lang), ("in_reply_to", in_reply_to), ("brand", brand)):
        if value:
            out[name] = value
    kept = {k: v for k, v in (metadata or {}).items() if v is not None}
    if kept:
        out["metadata"] = kept
    return out
