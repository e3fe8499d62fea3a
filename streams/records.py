"""The wire contracts of DESIGN.md as faust Records (JSON on every topic).

Timestamps stay ISO 8601 strings on the wire so that the author's own offset
survives a round trip; :func:`parse_instant` turns them into aware datetimes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

import faust


class Author(faust.Record, serializer="json"):
    id: str
    handle: str | None = None
    followers: int = 0
    verified: bool = False


class Post(faust.Record, serializer="json"):
    id: str
    platform: str
    text: str
    created_at: str
    author: Author
    url: str | None = None
    lang: str | None = None
    in_reply_to: str | None = None
    brand: str | None = None
    metadata: dict[str, Any] | None = None
    received_at: str | None = None

    @property
    def key(self) -> str:
        """The dedup key: a post id is unique per platform, not across platforms."""
        return f"{self.platform}:{self.id}"


class Classification(faust.Record, serializer="json"):
    label: str
    confidence: float
    scores: dict[str, float]
    lang: str | None
    model: str
    model_version: str


class Classified(faust.Record, serializer="json"):
    """What the ``classified`` topic carries: a post and what the classifier said of it."""

    post: Post
    classification: Classification


class Alert(faust.Record, serializer="json"):
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


class Event(faust.Record, serializer="json"):
    """One line of an alert's audit trail; ``kind`` is e.g. raised, delivered, delivery_failed."""

    alert_id: str
    kind: str
    at: str
    actor: str
    detail: dict[str, Any]


class Action(faust.Record, serializer="json"):
    """A change to an alert's clock, keyed by alert id so one partition owns each alert's state.

    ``kind`` is ``open`` (with the clock plan in ``clock``), ``ack``,
    ``resolve`` or ``fire`` (a timer step that came due, named in ``step``).
    """

    alert_id: str
    kind: str
    at: str
    actor: str = "monitor"
    step: str | None = None
    clock: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None


class Notice(faust.Record, serializer="json"):
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


class DeadLetter(faust.Record, serializer="json"):
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


class ShadowDisagreement(faust.Record, serializer="json"):
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


class Correction(faust.Record, serializer="json"):
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
