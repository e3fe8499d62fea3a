"""Routing: each classified post through :func:`streams.core.handling.route_post`, against the tables of its
partition.

::

    posts-urgent, posts-normal ──[classify-urgent, classify-normal: classify, then Router.route]──►
    classified (replays only) ──[route-posts: Router.route]──►
        alerts, events, actions (the clock), digests, surge-counts

The lane agents (:mod:`streams.agents.intake`) route each post right after
classifying it, in the same agent: one Kafka hop, with its fetch wait, less
between a post and its alert. Both lanes are keyed by author
(:attr:`streams.core.records.Post.author_key`), as ``classified`` is, so the
author table and the dedupe table (keyed by post; a post always has the same
author) live on the partition of the posts they describe, and the tables'
changelog partitions are owned by whoever owns that partition of the lanes
(faust assigns the same partition number of every topic with the same count to
one worker). A lane record is acknowledged only after its batch was classified
and routed (:func:`streams.kafka.acking.batches`), so a crash replays the batch:
the dedupe table remembers the record each post was first seen at (``origin``:
partition, offset and lane), a replayed record is routed again with the same
alert id, and the delivery log absorbs the repeat, as it did for a replayed
``classified`` record; a table restored one update short after a SIGKILL is
absorbed the same way.

``classified`` is no longer written on the way to an alert. ``route-posts``
still reads it, for ``pot dlq replay`` of the route stage (a route dead letter
carries the classified record) and for records a worker of the previous
version wrote before an upgrade.

The router also deletes table keys past their retention, a few per record of
their partition (:mod:`streams.kafka.expiry`), so the tombstones reach that
partition's changelog.
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

__all__ = ["Router", "register"]

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


class Router:
    """One per worker: routes a classified post with the tables of the partition its record came from. The
    caller makes that record faust's current event (an agent's own stream does; a batch uses
    :func:`streams.kafka.acking.current`), so the table writes go to that partition's changelog."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.seen, self.authors = rt.tables.seen, rt.tables.authors
        self.seen_index, self.authors_index = Expiry(), Expiry()
        self.stale = True
        metrics.TABLE_KEYS.labels("seen-posts").set_function(lambda: len(self.seen))
        metrics.TABLE_KEYS.labels("authors").set_function(lambda: len(self.authors))

        @rt.app.on_partitions_assigned.connect
        async def _reindex(*args: Any, **kwargs: Any) -> None:
            self.stale = True

    def reindex(self) -> None:
        """Index the tables' recovered items by the partition and time their values carry."""
        self.seen_index.rebuild(indexable(self.seen, lambda v: (int(str(v["origin"]).split(":")[0]), float(v["at"]))))
        self.authors_index.rebuild(indexable(self.authors, lambda v: (int(v["partition"]), float(v["last_seen"]))))
        self.stale = False

    def expire(self, partition: int) -> None:
        now = self.rt.now().timestamp()
        for key in self.seen_index.due(partition, now - self.rt.settings.dedupe_retention_s):
            if key in self.seen:
                del self.seen[key]
        for key in self.authors_index.due(partition, now - float(self.rt.holder.current.history.keep)):
            if key in self.authors:
                del self.authors[key]

    async def route(self, item: Classified, partition: int, origin: str) -> None:
        """Route one post read at ``origin`` (``"partition:offset"``, and the lane when read from one); a
        failure sends the classified record to the dead-letter topic (``pot dlq replay`` puts it on
        ``classified``) instead of stopping the agent."""
        try:
            if self.stale:
                self.reindex()
            await self._route(item, partition, origin)
            self.expire(partition)
        except Exception as exc:
            log.exception("routing failed")
            await self.rt.dead_letter(dead_letter("route", "route_error", f"{type(exc).__name__}: {exc}", item.dumps(), self.rt.now()))

    async def _route(self, item: Classified, partition: int, origin: str) -> None:
        rt, now, key = self.rt, self.rt.now(), item.post.key
        routed = route_post(
            item, origin, read_through(self.seen, key), read_through(self.authors, item.post.author_key),
            rt.holder.current, list(rt.silences.values()), now, rt.settings.dedupe_retention_s, rt.holder.version,
        )
        if routed.seen is not None:
            self.seen[key] = routed.seen
            self.seen_index.note(partition, key, now.timestamp())
        if routed.author is not None:
            author_key, ctx = routed.author
            self.authors[author_key] = ctx
            self.authors_index.note(partition, author_key, now.timestamp())
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


def register(rt: Runtime) -> Router:
    """The route-posts agent on ``classified``; returns the router, which the lane agents use as well."""
    router = Router(rt)

    @rt.app.agent(rt.topics.classified, name="route-posts")
    async def route_posts(stream: Any) -> None:
        async for event in each(stream):
            msg = event.message
            try:
                item = await rt.decode(Classified, event.value, "route", msg)
            except Exception as exc:  # never a dead agent
                log.exception("reading a classified record failed")
                raw = event.value if isinstance(event.value, bytes) else b""
                await rt.dead_letter(dead_letter("route", "route_error", f"{type(exc).__name__}: {exc}", raw, rt.now()))
                continue
            if item is not None:
                await router.route(item, msg.partition, f"{msg.partition}:{msg.offset}")

    return router
