"""Replay a JSONL file of posts into a running worker, for demos.

Timestamps are shifted so that the first post was written "now" and the
gaps between posts are kept: a demo shows live deadlines, not alerts whose
windows closed on the day the sample was written.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.records import parse_instant

log = logging.getLogger(__name__)


def rebase(objs: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Shift every parseable ``created_at`` by (now − earliest), keeping each post's own UTC offset.

    >>> out = rebase([{"created_at": "2026-01-01T10:00:00+02:00"}, {"created_at": "2026-01-01T08:01:00Z"}],
    ...              datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc))
    >>> [o["created_at"] for o in out]
    ['2026-05-01T14:00:00+02:00', '2026-05-01T12:01:00+00:00']
    """
    instants = []
    for obj in objs:
        try:
            instants.append(parse_instant(obj["created_at"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            instants.append(None)
    known = [i for i in instants if i is not None]
    if not known:
        return objs
    shift = now - min(known)
    out = []
    for obj, instant in zip(objs, instants):
        if instant is not None:
            obj = {**obj, "created_at": (instant + shift).isoformat()}
        out.append(obj)
    return out


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def replay_task(posts_topic: Any, path: Path, pace_s: float) -> Callable[[], Coroutine[Any, Any, None]]:
    """An ``app.task`` that publishes the file's posts, one every ``pace_s`` seconds."""

    async def replay() -> None:
        posts = rebase(load_jsonl(path), datetime.now(timezone.utc))
        for obj in posts:
            key = f"{obj.get('platform', 'unknown')}:{obj.get('id')}"
            await posts_topic.send(key=key.encode(), value=json.dumps(obj, ensure_ascii=False).encode())
            await asyncio.sleep(pace_s)
        log.warning("replayed %d posts from %s", len(posts), path.name)

    replay.__name__ = "replay"
    return replay
