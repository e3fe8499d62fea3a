"""Native payloads in, validated posts out: what ``pot send --format`` and ``POST /ingest/{format}`` share.

Each payload is mapped, then each post is validated by the same rules as any post on the topic.
Everything that does not become a post is returned with a reason, so it can be reported (with its
line number) and dead-lettered; things that are not posts by nature (a like, a delete) are
``skipped``, not errors.

>>> lines = [b'{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {"name": "t1_a", "body": "late",'
...          b' "author": "bo", "created_utc": 1732352400, "parent_id": "t3_x", "permalink": "/r/a/comments/x/y/a/"}}]}}',
...          b'not json', b'{"kind": "t5"}']
>>> result = map_lines("reddit", lines)
>>> [p.key for _, p, _ in result.posts], [(n, code) for n, code, _, _ in result.rejected]
(['reddit:t1_a'], [(2, 'not_json'), (3, 'unknown_shape')])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.records import Post
from ..core.validation import MAX_POST_BYTES, InvalidPost, decode_json, validate_post
from .base import Context, MappingError
from .registry import get


@dataclass
class IntakeResult:
    posts: list[tuple[int, Post, bytes]] = field(default_factory=list)
    """(line number, post, its JSON bytes for the topic)."""
    rejected: list[tuple[int, str, str, bytes]] = field(default_factory=list)
    """(line number, reason code, reason, the raw native line) for the report and the dead-letter topic."""
    skipped: list[tuple[int, str]] = field(default_factory=list)


PayloadResult = tuple[list[tuple[Post, bytes]], list[tuple[str, str]], list[str]]
"""What one payload gave: (posts with their bytes, (code, reason) rejections, skipped reasons)."""


def map_payload(fmt: str, payload: Any, ctx: Context = Context(), now: datetime | None = None,
                max_post_bytes: int = MAX_POST_BYTES) -> PayloadResult:
    """Map and validate one decoded payload: (posts with bytes, (code, reason) rejections, skipped reasons)."""
    mapper = get(fmt)
    try:
        mapped = mapper(payload, ctx)
    except MappingError as exc:
        return [], [(exc.code, exc.reason)], []
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # a mapper tripped on an odd value
        return [], [("wrong_type", f"{type(exc).__name__}: {str(exc)[:200]}")], []
    posts: list[tuple[Post, bytes]] = []
    rejected: list[tuple[str, str]] = []
    for obj in mapped.posts:
        raw = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        try:
            if len(raw) > max_post_bytes:
                raise InvalidPost("too_large", f"{len(raw)} bytes is over the {max_post_bytes}-byte limit")
            posts.append((validate_post(obj, now), raw))
        except InvalidPost as exc:
            rejected.append((exc.code, f"post {str(obj.get('id'))[:80]}: {exc.reason}"))
    return posts, rejected, list(mapped.skipped)


MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
"""Largest native payload read at once: a page of 100 Reddit things or a Meta delivery is far below it."""


def map_document(fmt: str, data: bytes, ctx: Context = Context(), max_bytes: int = MAX_PAYLOAD_BYTES,
                 now: datetime | None = None) -> IntakeResult:
    """A file or request body: one JSON document (a saved API answer, pretty-printed or not), or JSON lines.

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
            return map_lines(fmt, [stripped], ctx, max_bytes, now)
    return map_lines(fmt, data.splitlines(), ctx, max_bytes, now)


def map_lines(fmt: str, lines: Iterable[bytes], ctx: Context = Context(), max_bytes: int = MAX_PAYLOAD_BYTES,
              now: datetime | None = None) -> IntakeResult:
    """Map JSON lines (one native payload each; blank lines ignored), numbering from 1."""
    get(fmt)  # an unknown format fails before any line is read
    return read_lines(lines, lambda line: map_payload(fmt, decode_json(line, max_bytes), ctx, now))


def read_lines(lines: Iterable[bytes], read: Callable[[bytes], PayloadResult]) -> IntakeResult:
    """Each non-blank line through ``read``, numbering from 1; an :class:`InvalidPost` it raises rejects the
    line whole. Rejections keep the line as it came, for the dead-letter topic."""
    result = IntakeResult()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            posts, rejected, skipped = read(line)
        except InvalidPost as exc:
            result.rejected.append((number, exc.code, exc.reason, line))
            continue
        result.posts.extend((number, p, raw) for p, raw in posts)
        result.rejected.extend((number, code, reason, line) for code, reason in rejected)
        result.skipped.extend((number, reason) for reason in skipped)
    return result
