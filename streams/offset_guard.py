"""Never commit an offset past a record that no agent finished.

A stop or rebalance in the middle of a stream lost a few posts in about one
run in six (tests/test_stop_mid_batch_e2e.py and two others). An offset trace of a failing run showed
how, in three faults of faust-streaming 0.15.3 that compound:

1. After an assignment faust resumes the stream partitions *before* it seeks
   them to their committed offsets (``Recovery.on_recovery_completed`` and
   ``_resume_streams``), and the seek waits for one OffsetFetch per partition.
   Records fetched in that window reach the agents, then the seek resets
   faust's read position behind them.
2. The next record then looks like a jump in the partition's offsets, which
   faust takes for compaction or transaction markers: ``_add_gap`` marks every
   offset in the jump, and the record that revealed it, as done. Records that
   were dropped from a cleared buffer are among them.
3. ``_new_offset`` only refuses to commit over an un-acked head when the
   committed offset is truthy and more than one below the first acked one, so
   a single un-acked record right at the committed offset (or any, when
   nothing was committed yet) is committed over.

This module closes each one: stream partitions are not fetched from between an
assignment and the end of its seek; no offset is ever taken as done unless an
agent acked it (the monitor's topics are neither compacted nor transactional,
so real gaps do not occur there); and a hole at the head of the acked offsets
holds the commit back. Should a hole still appear with nothing in flight to
fill it, the partition is read again from its committed offset (the stages
downstream are idempotent), and the event is logged and counted rather than
silently skipped. faust is pinned (pyproject) because this reaches into its
consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from faust.transport import consumer as faust_consumer
from faust.utils.functional import consecutive_numbers

from . import metrics

log = logging.getLogger(__name__)

HOLE_GRACE_S = 5.0
"""How long a hole at the head of a partition's acked offsets may last, with no record of it in flight,
before the partition is read again from its committed offset."""


@dataclass
class Hole:
    """Offsets ``start`` (the committed offset) up to ``end`` (exclusive, the first acked one) never acked."""

    start: int
    end: int
    since: float
    rereads: int = 0


def head_hole(acked: Iterable[int], committed: int | None) -> tuple[int, int] | None:
    """The un-acked offsets between the committed offset and the first acked one, if any.

    ``committed`` is Kafka's committed offset: the next record to read. ``None`` means nothing is known to
    be committed (a new group), where no hole can be told apart from a start further on.
    """
    first = min(acked, default=None)
    if first is None or committed is None or first <= committed:
        return None
    return committed, first


def committable(acked: list[int], committed: int | None) -> tuple[int | None, list[int]]:
    """The offset to commit for a partition and the acked offsets left after it.

    Only a run of consecutive acked offsets that starts at the committed offset can be committed; ``acked``
    must be sorted.
    """
    if not acked or head_hole(acked, committed) is not None:
        return None, acked
    run = next(consecutive_numbers(acked))
    return run[-1] + 1, acked[len(run):]


def in_flight(unacked: Iterable[Any], tp: Any, start: int, end: int) -> bool:
    """Whether some record of the hole was handed to a stream and is still being worked on."""
    return any(m.tp == tp and start <= m.offset < end and not m.acked for m in list(unacked))


_installed = False
_prefix = ""


def topic_label(topic: str) -> str:
    """The metric label for a topic: its name without the deployment's prefix (the monitor's own, fixed set)."""
    return topic.removeprefix(_prefix)


def guard_offsets(topic_prefix: str = "") -> None:
    """Patch faust's consumer so that commits only ever cover records an agent acked. Idempotent."""
    global _installed, _prefix
    _prefix = topic_prefix
    if _installed:
        return
    _installed = True
    base = faust_consumer.Consumer
    delegate = faust_consumer.ThreadDelegateConsumer
    original_assigned = base.on_partitions_assigned
    original_seek = base.perform_seek
    original_getmany = delegate._getmany

    async def on_partitions_assigned(self: Any, assigned: set[Any], generation_id: int = 0) -> None:
        self._pot_generation = getattr(self, "_pot_generation", 0) + 1
        self._pot_unseeked = {tp for tp in assigned if not self._is_changelog_tp(tp)}
        self._pot_holes = {}
        await original_assigned(self, assigned, generation_id)

    async def perform_seek(self: Any) -> None:
        generation = getattr(self, "_pot_generation", 0)
        await original_seek(self)
        if getattr(self, "_pot_generation", 0) == generation:
            self._pot_unseeked = set()

    async def _getmany(self: Any, active_partitions: set[Any] | None, timeout: float) -> Mapping[Any, Any]:
        unseeked = getattr(self, "_pot_unseeked", set())
        if active_partitions is not None and unseeked:
            active_partitions = set(active_partitions) - unseeked
        records = await original_getmany(self, active_partitions, timeout)
        unseeked = getattr(self, "_pot_unseeked", set())
        early = [tp for tp in records if tp in unseeked and records[tp]]
        if not early:
            return records
        for tp in early:
            # An assignment landed while this fetch was under way: hand nothing over before the seek, and
            # rewind so that a partition with no committed offset does not skip what was fetched here.
            self._thread.seek(tp, records[tp][0].offset)
        return {tp: batch for tp, batch in records.items() if tp not in early}

    async def _add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
        log.warning(
            "offsets %s..%s of %s/%s were not handed to this worker; they are not taken as done",
            offset_from, offset_to, tp.topic, tp.partition,
        )
        metrics.OFFSET_JUMPS.labels(topic_label(tp.topic)).inc()

    def _new_offset(self: Any, tp: Any) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        committed = self._committed_offset[tp]
        if committed is not None:
            stale = [o for o in acked if o < committed]  # acked again after a seek: committed already
            if stale:
                acked[:] = [o for o in acked if o >= committed]
                self._acked_index[tp].difference_update(stale)
        acked.sort()
        span = head_hole(acked, committed)
        if span is not None:
            watch_hole(self, tp, span)
            return None
        offset, rest = committable(acked, committed)
        if offset is None:
            return None
        getattr(self, "_pot_holes", {}).pop(tp, None)
        done = acked[: len(acked) - len(rest)]
        acked[: len(done)] = []
        self._acked_index[tp].difference_update(done)
        return offset

    base.on_partitions_assigned = on_partitions_assigned  # type: ignore[method-assign]
    base.perform_seek = perform_seek  # type: ignore[method-assign]
    base._add_gap = _add_gap  # type: ignore[method-assign]
    base._new_offset = _new_offset  # type: ignore[method-assign]
    delegate._getmany = _getmany  # type: ignore[method-assign]


def watch_hole(consumer: Any, tp: Any, span: tuple[int, int]) -> None:
    """Keep track of a hole that holds a partition's commit back; read the partition again when nothing
    in flight can fill it."""
    holes: dict[Any, Hole] = consumer.__dict__.setdefault("_pot_holes", {})
    now = time.monotonic()
    hole = holes.get(tp)
    if hole is None or (hole.start, hole.end) != span:
        holes[tp] = Hole(span[0], span[1], now, hole.rereads if hole and hole.start == span[0] else 0)
        return
    if now - hole.since < HOLE_GRACE_S or in_flight(consumer._unacked_messages, tp, *span):
        return
    hole.rereads += 1
    hole.since = now
    log.error(
        "records %s..%s of %s/%s were never handled (dropped during a rebalance); reading the partition "
        "again from offset %s (attempt %d)", span[0], span[1] - 1, tp.topic, tp.partition, span[0], hole.rereads,
    )
    metrics.OFFSET_REREADS.labels(topic_label(tp.topic)).inc()
    asyncio.ensure_future(consumer.seek(tp, span[0]))
