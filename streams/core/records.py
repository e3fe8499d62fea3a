"""The wire contracts of DESIGN.md as plain dataclasses; :mod:`streams.core.wire` turns them into JSON.

:class:`Post` (with :class:`Author`) is the one Post schema: the producers'
input is validated against these very classes (:mod:`streams.core.validation`
runs pydantic over them in strict mode), and the same classes travel on the
topics. Timestamps stay ISO 8601 strings on the wire so that the author's own
offset survives a round trip; :func:`parse_instant` turns them into aware
datetimes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Strict

from .wire import Record

__all__ = [
    "Action", "Alert", "Author", "Classification", "Classified", "Correction", "DeadLetter", "Event", "Notice",
    "Post", "ShadowDisagreement", "alert_id_for", "isoformat", "parse_instant", "utcnow",
]


def _non_negative(value: int) -> int:
    if value < 0:
        raise ValueError("must not be negative")
    return value


# Validation (pydantic over these dataclasses) is strict where producers write: no coercion of their values.
Text = Annotated[str, Strict()]
Count = Annotated[int, Strict(), AfterValidator(_non_negative)]
Flag = Annotated[bool, Strict()]


@dataclass(kw_only=True)
class Author(Record):
    id: Text
    handle: Text | None = None
    followers: Count = 0
    verified: Flag = False


@dataclass(kw_only=True)
class Post(Record):
    """A post as producers send it (docs/operations.md, "Feeding it posts"); ``received_at`` is stamped by the monitor."""

    nested: ClassVar[dict[str, type[Record]]] = {"author": Author}

    id: Text
    platform: Text = "unknown"
    text: Text
    created_at: Text
    author: Author
    url: Text | None = None
    lang: Text | None = None
    in_reply_to: Text | None = None
    brand: Text | None = None
    metadata: dict[str, Any] | None = None
    received_at: Text | None = None

    @property
    def key(self) -> str:
        """The dedup key: a post id is unique per platform, not across platforms."""
        return f"{self.platform}:{self.id}"

    @property
    def author_key(self) -> str:
        """The author table's key, and the key of every record routed from: all of an author's posts on one
        partition, with the table entries they read and write."""
        return f"{self.platform}:{self.author.id}"


@dataclass(kw_only=True)
class Classification(Record):
    label: str
    confidence: float
    scores: dict[str, float]
    lang: str | None
    model: str
    model_version: str


@dataclass(kw_only=True)
class Classified(Record):
    """What the ``classified`` topic carries: a post and what the classifier said of it."""

    nested: ClassVar[dict[str, type[Record]]] = {"post": Post, "classification": Classification}

    post: Post
    classification: Classification


@dataclass(kw_only=True)
class Alert(Record):
    nested: ClassVar[dict[str, type[Record]]] = {"post": Post, "classification": Classification}

    alert_id: str
    post: Post
    classification: Classification
    window_s: int
    deadline: str
    priority: str
    reasons: list[str]
    receivers: list[str]
    raised_at: str
    history: str | None = None
    recent_labels: list[str] | None = None
    keyword_classes: list[str] | None = None
    uncertain: bool = False


@dataclass(kw_only=True)
class Event(Record):
    """One line of an alert's audit trail; ``kind`` is e.g. raised, delivered, delivery_failed."""

    alert_id: str
    kind: str
    at: str
    actor: str
    detail: dict[str, Any]


@dataclass(kw_only=True)
class Action(Record):
    """A change to an alert's clock, keyed by alert id so one partition owns each alert's state.

    ``kind`` is ``open`` (with the clock plan in ``clock``), ``ack``,
    ``resolve``, ``fire`` (a timer step that came due, named in ``step``) or
    ``forget`` (drop a resolved clock after the retention).
    """

    alert_id: str
    kind: str
    at: str
    actor: str = "monitor"
    step: str | None = None
    clock: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


@dataclass(kw_only=True)
class Notice(Record):
    """A follow-up for receivers: warning, breach, escalation, reminder, acknowledged, resolved, digest, surge.

    ``notice_id`` is stable (alert id and step), so the delivery log absorbs a
    notice sent twice.
    """

    notice_id: str
    kind: str
    receivers: list[str]
    at: str
    summary: str
    actor: str = "monitor"
    alert: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


@dataclass(kw_only=True)
class DeadLetter(Record):
    """A record the pipeline could not process, kept whole so it can be replayed."""

    stage: str
    reason_code: str
    reason: str
    raw: str
    raw_encoding: str
    at: str
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None


@dataclass(kw_only=True)
class ShadowDisagreement(Record):
    """The primary and the shadow classifier gave one post different labels."""

    post_key: str
    text: str
    lang: str | None
    primary_model: str
    primary_label: str
    primary_confidence: float
    shadow_model: str
    shadow_label: str
    shadow_confidence: float
    at: str


@dataclass(kw_only=True)
class Correction(Record):
    """A person said a post's label was wrong; ``pot corrections export`` turns these into training data."""

    text: str
    right_label: str
    actor: str
    at: str
    post_key: str | None = None
    alert_id: str | None = None
    wrong_label: str | None = None
    lang: str | None = None


def alert_id_for(post_key: str) -> str:
    """A stable alert id, so a post processed twice yields the same alert (dedup key)."""
    return "al-" + hashlib.sha256(post_key.encode("utf-8")).hexdigest()[:24]


def parse_instant(value: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries an offset (``Z`` accepted)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no UTC offset")
    return parsed


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def isoformat(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
