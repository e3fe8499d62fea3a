"""The bodies of the intake agents as plain functions over records, testable without Kafka: validate a
batch, join a post with its prediction, build a dead letter, compare with a shadow classifier.

The agents (:mod:`streams.agents`) only move records between topics and
tables; every decision is made here and in :mod:`streams.core.handling`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from classifiers.base import Prediction

from .records import Classification, Classified, DeadLetter, Post, ShadowDisagreement, isoformat
from .validation import InvalidPost, parse_post, raw_for_record

__all__ = ["Rejected", "dead_letter", "disagreements", "to_classified", "validate_batch"]


@dataclass(frozen=True)
class Rejected:
    """A record that failed a stage, with what the dead-letter topic needs."""

    code: str
    reason: str
    raw: bytes


def validate_batch(
    raws: Sequence[bytes | None], arrived: Sequence[float | None], max_bytes: int
) -> tuple[list[Post], list[tuple[int, Rejected]]]:
    """Split a batch into valid posts (stamped with their arrival time) and rejections by index."""
    valid: list[Post] = []
    rejected: list[tuple[int, Rejected]] = []
    for index, (raw, at) in enumerate(zip(raws, arrived)):
        if raw is None:
            rejected.append((index, Rejected("not_json", "empty message (no value)", b"")))
            continue
        try:
            post = parse_post(raw, max_bytes)
        except InvalidPost as exc:
            rejected.append((index, Rejected(exc.code, exc.reason, raw)))
            continue
        if post.received_at is None:
            moment = datetime.fromtimestamp(at, timezone.utc) if at else datetime.now(timezone.utc)
            post.received_at = moment.isoformat(timespec="milliseconds")
        valid.append(post)
    return valid, rejected


def to_classified(post: Post, prediction: Prediction, model: str, version: str) -> Classified:
    """Join a post with its prediction; the author's declared ``lang`` wins over detection."""
    classification = Classification(
        label=prediction.label,
        confidence=round(prediction.confidence, 4),
        scores=prediction.scores,
        lang=post.lang or prediction.lang,
        model=model,
        model_version=version,
    )
    return Classified(post=post, classification=classification)


def dead_letter(
    stage: str,
    code: str,
    reason: str,
    raw: bytes,
    now: datetime,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> DeadLetter:
    """A dead-letter record that keeps the raw bytes (base64 where they are not text)."""
    text, encoding = raw_for_record(raw)
    return DeadLetter(
        stage=stage,
        reason_code=code,
        reason=reason,
        raw=text,
        raw_encoding=encoding,
        at=isoformat(now),
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
    )


def disagreements(
    posts: Sequence[Post],
    primary: Sequence[Prediction],
    shadow: Sequence[Prediction],
    primary_model: str,
    shadow_model: str,
    now: datetime,
) -> list[ShadowDisagreement]:
    """The posts on which a shadow classifier's label differs from the primary's."""
    return [
        ShadowDisagreement(
            post_key=post.key,
            text=post.text,
            lang=post.lang or p.lang,
            primary_model=primary_model,
            primary_label=p.label,
            primary_confidence=round(p.confidence, 4),
            shadow_model=shadow_model,
            shadow_label=s.label,
            shadow_confidence=round(s.confidence, 4),
            at=isoformat(now),
        )
        for post, p, s in zip(posts, primary, shadow)
        if p.label != s.label
    ]
