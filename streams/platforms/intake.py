"""Native payloads in, validated posts out: what ``pot send --format``, ``POST /ingest/{format}`` and the
connectors share.

Each payload is mapped, then each post is validated by the same rules as any post on the topic, its size
included (``POT_MAX_POST_BYTES``, passed in by each way in). Everything that does not become a post is
returned with a reason, so it can be reported (with its line number) and dead-lettered
(:func:`native_dead_letter`, whose source :func:`format_of_source` reads back for ``pot dlq replay``);
things that are not posts by nature (a like, a delete) are ``skipped``, not errors.

>>> lines = [b'{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {"name": "t1_a", "body": "late",'
...          b' "author": "bo", "created_utc": 1732352400, "parent_id": "t3_x", "permalink": "/r/a/comments/x/y/a/"}}]}}',
...          b'not json', b'{"kind": "t5"}']
>>> result = map_lines("reddit", lines)
>>> [p.key for _, p, _ in result.posts], [(r.line, r.code, r.stage) for r in result.rejected]
(['reddit:t1_a'], [(2, 'not_json', 'validate'), (3, 'unknown_shape', 'map')])

A rejection carries its stage: ``map`` when the mapper could not read the payload, ``validate`` when the
line could not be decoded or the post it made breaks the Post contract. The codes alone cannot tell them
apart (``missing_field`` and ``wrong_type`` are both), so the stage is recorded where it is known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ..core.records import DeadLetter, Post
from ..core.steps import dead_letter
from ..core.validation import MAX_POST_BYTES, InvalidPost, decode_json, validate_post
from ..core.vocabulary import canonical_platform
from .base import Context, MappingError
from .registry import UnknownFormat, get


class Rejection(NamedTuple):
    """Why something in a payload did not become a post, and the dead-letter stage where it failed."""

    code: str
    reason: str
    stage: str = "validate"


class Rejected(NamedTuple):
    """A rejection with its line number and the raw native line, for the report and the dead-letter topic."""

    line: int
    code: str
    reason: str
    raw: bytes
    stage: str = "validate"


@dataclass
class IntakeResult:
    posts: list[tuple[int, Post, bytes]] = field(default_factory=list)
    """(line number, post, its JSON bytes for the topic)."""
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


PayloadResult = tuple[list[tuple[Post, bytes]], list[Rejection], list[str]]
"""What one payload gave: (posts with their bytes, rejections, skipped reasons)."""


def map_payload(fmt: str, payload: Any, ctx: Context = Context(), now: datetime | None = None,
                max_post_bytes: int = MAX_POST_BYTES) -> PayloadResult:
    """Map and validate one decoded payload: (posts with bytes, rejections, skipped reasons). A post the
    mapper made whose JSON is over ``max_post_bytes`` (``POT_MAX_POST_BYTES``) is rejected ``too_large``,
    as a plain post would be."""
    mapper = get(fmt)
    try:
        mapped = mapper(payload, ctx)
    except MappingError as exc:
        return [], [Rejection(exc.code, exc.reason, "map")], []
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # a mapper tripped on an odd value
        return [], [Rejection("wrong_type", f"{type(exc).__name__}: {str(exc)[:200]}", "map")], []
    posts: list[tuple[Post, bytes]] = []
    rejected: list[Rejection] = []
    for obj in mapped.posts:
        raw = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        try:
            if len(raw) > max_post_bytes:
                raise InvalidPost("too_large", f"{len(raw)} bytes is over the {max_post_bytes}-byte limit")
            posts.append((validate_post(obj, now), raw))
        except InvalidPost as exc:  # mapped fine; the post is what is wrong
            rejected.append(Rejection(exc.code, f"post {str(obj.get('id'))[:80]}: {exc.reason}", "validate"))
    return posts, rejected, list(mapped.skipped)


MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
"""Largest native payload read at once: a page of 100 Reddit things or a Meta delivery is far below it."""


def map_document(fmt: str, data: bytes, ctx: Context = Context(), max_bytes: int = MAX_PAYLOAD_BYTES,
                 now: datetime | None = None, max_post_bytes: int = MAX_POST_BYTES) -> IntakeResult:
    """A file or request body: one JSON document (a saved API answer, pretty-printed or not), or JSON lines.
    ``max_bytes`` bounds a payload, ``max_post_bytes`` each post made from it (pass ``POT_MAX_POST_BYTES``).

    >>> doc = b'{"reviews": [ NL {"id": "r1", "stars": 1, "text": "no", "createdAt": "2026-11-23T09:00:00Z", NL' \\
    ...       b' "consumer": {"id": "c1"}}]}'
    >>> doc = doc.replace(b"NL", bytes([10]))  # pretty-printed: one document over several lines
    >>> [p.key for _, p, _ in map_document("trustpilot", doc).posts]
    ['trustpilot:r1']
    """
    stripped = data.strip()
    if stripped[:1] in (b"{", b"[") and b"\n" in stripped:
        try:
            json.loads(stripped)
        except (ValueError, RecursionError):
            pass  # not one document: JSON lines
        else:
            return map_lines(fmt, [stripped], ctx, max_bytes, now, max_post_bytes)
    return map_lines(fmt, data.splitlines(), ctx, max_bytes, now, max_post_bytes)


def map_lines(fmt: str, lines: Iterable[bytes], ctx: Context = Context(), max_bytes: int = MAX_PAYLOAD_BYTES,
              now: datetime | None = None, max_post_bytes: int = MAX_POST_BYTES) -> IntakeResult:
    """Map JSON lines (one native payload each; blank lines ignored), numbering from 1."""
    get(fmt)  # an unknown format fails before any line is read
    return read_lines(lines, lambda line: map_payload(fmt, decode_json(line, max_bytes), ctx, now, max_post_bytes))


def read_lines(lines: Iterable[bytes], read: Callable[[bytes], PayloadResult]) -> IntakeResult:
    """Each non-blank line through ``read``, numbering from 1; an :class:`InvalidPost` it raises (the line is
    not JSON, or too big) rejects the line whole, stage ``validate``. Rejections keep the line as it came,
    for the dead-letter topic."""
    result = IntakeResult()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            posts, rejected, skipped = read(line)
        except InvalidPost as exc:
            result.rejected.append(Rejected(number, exc.code, exc.reason, line))
            continue
        result.posts.extend((number, p, raw) for p, raw in posts)
        result.rejected.extend(Rejected(number, r.code, r.reason, line, r.stage) for r in rejected)
        result.skipped.extend((number, reason) for reason in skipped)
    return result


DEAD_LETTER_MAX_BYTES = 900 * 1024
"""Largest dead-letter record written whole: Kafka producers and brokers refuse records over 1 MiB by default,
and a refused dead letter would fail the request, the ``pot send`` run, or a connector's session (which would
then read the same frame again, forever)."""
DEAD_LETTER_CUT_BYTES = 100 * 1024
"""What is kept of a payload too big for that: its head, which JSON escaping can at most sextuple."""


def native_dead_letter(rejected: Rejected, now: datetime, source: str) -> DeadLetter:
    """The dead-letter record of a rejected native payload, kept whole unless the record would be over
    :data:`DEAD_LETTER_MAX_BYTES`; then its head is kept and the reason says so. ``source`` names the way in
    (``http /ingest/reddit:3``, ``pot send --format x a.json:2``, ``connector x``: :func:`format_of_source`).

    >>> cut = native_dead_letter(Rejected(1, "too_large", "big", b"[" * 2_000_000), datetime(2026, 1, 1), "connector x")
    >>> len(cut.raw), cut.reason
    (102400, 'big (the payload was 2000000 bytes: only its first 102400 are kept here)')
    """
    record = dead_letter(rejected.stage, rejected.code, rejected.reason, rejected.raw, now, source)
    if len(record.dumps()) <= DEAD_LETTER_MAX_BYTES:
        return record
    kept = f"the payload was {len(rejected.raw)} bytes: only its first {DEAD_LETTER_CUT_BYTES} are kept here"
    reason = f"{rejected.reason} ({kept})"
    return dead_letter(rejected.stage, rejected.code, reason, rejected.raw[:DEAD_LETTER_CUT_BYTES], now, source)


_NATIVE_SOURCE = re.compile(r"(?:http /ingest/|pot send --format |connector )([A-Za-z0-9_.-]+)")
"""The ``source_topic`` the native ways in write on their dead letters (``http /ingest/reddit:3``,
``pot send --format reddit page.json:2``, ``connector x``)."""


def format_of_source(source: str | None) -> str | None:
    """The format a dead letter's native payload came in as, from its ``source_topic``; ``None`` when it came
    from a topic (a post already in the wire contract). ``pot dlq replay`` maps such a payload again instead
    of sending it to a topic that expects posts.

    >>> format_of_source("http /ingest/reddit:3"), format_of_source("pot send --format twitter a.json:2")
    ('reddit', 'x')
    >>> format_of_source("connector bluesky"), format_of_source("posts"), format_of_source("pot send a.jsonl:1")
    ('bluesky', None, None)
    """
    found = _NATIVE_SOURCE.match(source or "")
    if found is None:
        return None
    try:
        get(found.group(1))
    except UnknownFormat:
        return None
    return canonical_platform(found.group(1))
