"""The route agent: each classified post through :func:`streams.core.handling.route_post`.

::

    classified ──[route-posts: dedupe, author context, brand replies, surges, silences, route]──►
        alerts, events, actions (the clock), digests, surge-counts

``classified`` is keyed by author, so the author table and the dedupe table
(keyed by post; a post always has the same author) live on the partition of
the posts they describe. The agent also deletes table keys past their
retention, a few per event of their partition (:mod:`streams.kafka.expiry`),
so the tombstones reach that partition's changelog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from .. import metrics
from ..core.handling import route_post
from ..core.records import Classified
from ..core.steps import dead_letter
from ..core.table_keys import read_through
from ..kafka.acking import each
from ..kafka.expiry import Expiry
from ..runtime import Runtime

__all__ = ["register"]

log = logging.getLogger(__name__)


def indexable(table: Any, where: Callable[[dict[str, Any]], tuple[int, float]]) -> Iterator[tuple[int, str, float]]:
    """``(partition, key, at)`` for each item whose value says where and when it was written; others are
    left alone (values from before expiry existed carry no partition)."""
    for key, value in list(table.items()):
        try:
            partition, at = where(value)
        except (KeyError, TypeError, ValueError):
            continue
        yield partition, key, at


def register(rt: Runtime) -> None:
    app, settings = rt.app, rt.settings
    seen, authors = rt.tables.seen, rt.tables.authors
    seen_index, authors_index = Expiry(), Expiry()
    index_stale = {"yes": True}
    metrics.TABLE_KEYS.labels("seen-posts").set_function(lambda: len(seen))
    metrics.TABLE_KEYS.labels("authors").set_function(lambda: len(authors))

    @app.on_partitions_assigned.connect
    async def _reindex(*args: Any, **kwargs: Any) -> None:
        index_stale["yes"] = True

    def reindex() -> None:
        """Index the tables' recovered items by the partition and time their values carry."""
        seen_index.rebuild(indexable(seen, lambda v: (int(str(v["origin"]).split(":")[0]), float(v["at"]))))
        authors_index.rebuild(indexable(authors, lambda v: (int(v["partition"]), float(v["last_seen"]))))
        index_stale["yes"] = False

    def expire(partition: int) -> None:
        now = rt.now().timestamp()
        for key in seen_index.due(partition, now - settings.dedupe_retention_s):
            if key in seen:
                del seen[key]
        for key in authors_index.due(partition, now - float(rt.holder.current.history.keep)):
            if key in authors:
                del authors[key]

    @app.agent(rt.topics.classified, name="route-posts")
    async def route_posts(stream: Any) -> None:
        async for event in each(stream):
            msg = event.message
            try:
                item = await rt.decode(Classified, event.value, "route", msg)
                if item is None:
                    continue
                if index_stale["yes"]:
                    reindex()
                await route_one(item, f"{msg.partition}:{msg.offset}")
                expire(msg.partition)
            except Exception as exc:
                log.exception("routing failed")
                raw = event.value if isinstance(event.value, bytes) else b""
                await rt.dead_letter(dead_letter("route", "route_error", f"{type(exc).__name__}: {exc}", raw, rt.now()))

    async def route_one(item: Classified, origin: str) -> None:
        now = rt.now()
        key = item.post.key
        routed = route_post(
            item, origin, read_through(seen, key), read_through(authors, f"{item.post.platform}:{item.post.author.id}"),
            rt.holder.current, list(rt.silences.values()), now, settings.dedupe_retention_s, rt.holder.version,
        )
        partition = int(origin.split(":")[0])
        if routed.seen is not None:
            seen[key] = routed.seen
            seen_index.note(partition, key, now.timestamp())
        if routed.author is not None:
            author_key, ctx = routed.author
            authors[author_key] = ctx
            authors_index.note(partition, author_key, now.timestamp())
        label = item.classification.label
        if routed.outcome == "duplicate":
            metrics.DUPLICATES.inc()
        elif routed.outcome == "not_alerted":
            metrics.NOT_ALERTED.inc()
        elif routed.outcome == "silenced":
            metrics.SILENCED.labels(label).inc()
        elif routed.outcome == "alerted" and routed.decision is not None:
            metrics.ALERTS.labels(label, routed.decision.alert.priority).inc()
        await rt.send_all(routed.sends)
