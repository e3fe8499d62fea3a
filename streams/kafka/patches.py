"""The fixes this project makes to faust-streaming and aiokafka, installed together and checked first.

:func:`install` refuses to run unless the installed versions are the ones the
fixes were written against (:data:`VERSIONS`) and every name it replaces
exists with the signature it expects (:data:`TARGETS`): a renamed method
upstream would otherwise turn the assignment into an unused attribute and the
loss it prevents would return silently. :class:`PatchError` names what
differs. tests/test_patches.py runs the checks and the patched bookkeeping
against the real installed classes.

Faults, written up for the upstream trackers (faust-streaming 0.15.3,
aiokafka 0.14.0):

1. **faust: streams resume before their seek.** After an assignment,
   ``Recovery.on_recovery_completed`` / ``_resume_streams`` resume the stream
   partitions *before* ``perform_seek`` has moved them to their committed
   offsets, and the seek waits for one OffsetFetch per partition. Records
   fetched in that window reach the agents, then the seek resets the read
   position behind them. Fix here: partitions assigned but not yet seeked are
   left out of ``ThreadDelegateConsumer._getmany``, and a fetch that raced an
   assignment is rewound (``on_partitions_assigned``, ``perform_seek``,
   ``_getmany``).
2. **faust: an offset jump is taken as done.** ``Consumer._add_gap`` marks
   every offset between the last seen one and the next record, and that
   record, as acked, assuming compaction or transaction markers. After fault 1
   the jump covers records dropped from a cleared buffer, which are then
   committed over. The monitor's topics are neither compacted nor
   transactional, so here ``_add_gap`` only logs and counts
   (``pot_consumer_offset_jumps_total``).
3. **faust: a single un-acked head record is committed over.**
   ``Consumer._new_offset`` refuses to commit past an un-acked head only when
   the committed offset is truthy and more than one below the first acked
   one: one un-acked record right at the committed offset (or any, when
   nothing was committed yet, or at offset 0) is skipped. Fix here: only a
   run of acked offsets that starts at the committed offset is committed; a
   hole at the head holds the commit back, and if nothing in flight can fill
   it within :data:`HOLE_GRACE_S` the partition is read again from the
   committed offset (``pot_consumer_rereads_total``).
4. **faust: the fetch wait is hard-coded.**
   ``AIOKafkaConsumerThread._create_worker_consumer`` builds aiokafka's
   consumer with ``fetch_max_wait_ms=1500`` and no setting to change it. A
   broker that holds a fetch for the whole wait (the embedded Tansu broker
   does) adds up to 1.5 s to every hop. Fix here: the created consumer's
   ``_fetch_max_wait_ms`` is set to ``POT_FETCH_MAX_WAIT_MS`` before it starts.
5. **faust: a table's recovery ends at the end offset read before fetching.**
   ``Recovery._build_highwaters`` takes ListOffsets(latest) minus one as a
   changelog partition's last record and ends recovery when it is read. The
   embedded Tansu broker answers ListOffsets with the base offset of the
   partition's last record batch plus one (after a batch at offsets 4-6 it says
   5, while its fetch responses say 7), so recovery ended after the batch's
   first record, and the rest of that batch, fetched with it, went into
   faust's recovery buffer after recovery had ended: not applied (by faust's
   code, a later rebalance would apply it, over newer state). A restarted worker came back a few
   table updates short and alerted posts it had already seen
   (tests/test_changelog_recovery_e2e.py).
   Fix here: ``Recovery.need_recovery`` first raises each active partition's
   last offset to what the latest fetch response reported
   (:func:`raise_to_fetched`); on Apache Kafka the two agree.
6. **faust: acks in ``finally`` blocks** (not patched: worked around in
   :mod:`streams.kafka.acking`). ``Stream.__aiter__`` and ``take_events`` ack
   events when the generator is closed, even when the agent's body was
   cancelled mid-record, so a rebalance commits work never done.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

from aiokafka import AIOKafkaConsumer
from faust.tables.recovery import Recovery
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from .. import metrics
from .offsets import Hole, committable, head_hole, in_flight, raise_to_fetched

__all__ = [
    "HOLE_GRACE_S", "TARGETS", "VERSIONS", "Hole", "PatchError", "check", "committable", "head_hole", "in_flight",
    "install", "raise_to_fetched",
]

log = logging.getLogger(__name__)

VERSIONS = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}
"""The versions these fixes were written against and tested with (pinned in pyproject.toml)."""
_Consumer, _Delegate, _Thread = faust_consumer.Consumer, faust_consumer.ThreadDelegateConsumer, faust_aiokafka.AIOKafkaConsumerThread
TARGETS: tuple[tuple[type, str, tuple[str, ...], bool], ...] = (
    (_Consumer, "on_partitions_assigned", ("self", "assigned", "generation_id"), True),
    (_Consumer, "perform_seek", ("self",), True),
    (_Consumer, "_add_gap", ("self", "tp", "offset_from", "offset_to"), True),
    (_Consumer, "_new_offset", ("self", "tp"), False),
    (_Delegate, "_getmany", ("self", "active_partitions", "timeout"), True),
    (_Thread, "_create_worker_consumer", ("self", "transport"), False),
    (Recovery, "need_recovery", ("self",), False),
)
"""(class, attribute, parameter names, is a coroutine function) of every name :func:`install` replaces."""
_STATE = (
    (_Consumer, ("_acked", "_acked_index", "_committed_offset", "_unacked_messages")),
    (AIOKafkaConsumer, ("_fetch_max_wait_ms",)),
    (Recovery, ("active_highwaters",)),
)
"""Instance attributes the fixes read or write, looked for in each class's ``__init__``."""
HOLE_GRACE_S = 5.0
"""How long a hole at the head of a partition's acked offsets may last, with no record of it in flight,
before the partition is read again from its committed offset."""


class PatchError(RuntimeError):
    """The installed faust or aiokafka is not what the fixes were written for."""


def check() -> None:
    """Raise :class:`PatchError` unless the versions and every patched name are as expected."""
    problems = [
        f"{dist} {version(dist)} is installed, the fixes were written for {want}"
        for dist, want in VERSIONS.items() if version(dist) != want
    ]
    for cls, name, params, is_async in TARGETS:
        current = getattr(cls, name, None)
        if current is None or not callable(current):
            problems.append(f"{cls.__module__}.{cls.__qualname__}.{name} does not exist")
            continue
        got = tuple(inspect.signature(current).parameters)
        if got != params:
            problems.append(f"{cls.__qualname__}.{name}{got} does not take {params}")
        if inspect.iscoroutinefunction(current) != is_async:
            problems.append(f"{cls.__qualname__}.{name} is {'not ' if is_async else ''}a coroutine function now")
    for cls, names in _STATE:
        source = inspect.getsource(cls.__init__)
        problems += [f"{cls.__qualname__}.__init__ no longer sets {n}" for n in names if f"self.{n} =" not in source]
    if problems:
        raise PatchError("refusing to patch faust/aiokafka: " + "; ".join(problems))


_installed = False
_settings: dict[str, Any] = {"prefix": "", "fetch_max_wait_ms": 1500}


def install(topic_prefix: str = "", fetch_max_wait_ms: int = 1500) -> None:
    """Check (:func:`check`), then apply every fix; later calls only update the settings. Idempotent."""
    global _installed
    _settings.update(prefix=topic_prefix, fetch_max_wait_ms=fetch_max_wait_ms)
    if _installed:
        return
    check()
    _installed = True
    original_assigned, original_seek = _Consumer.on_partitions_assigned, _Consumer.perform_seek
    original_getmany, original_create = _Delegate._getmany, _Thread._create_worker_consumer
    original_need_recovery = Recovery.need_recovery

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

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original_create(self, transport)
        consumer._fetch_max_wait_ms = _settings["fetch_max_wait_ms"]
        return consumer

    def need_recovery(self: Any) -> bool:
        raise_to_fetched(self.active_highwaters, self.app.consumer.highwater)
        return original_need_recovery(self)

    _Consumer.on_partitions_assigned = on_partitions_assigned  # type: ignore[method-assign]
    _Consumer.perform_seek = perform_seek  # type: ignore[method-assign]
    _Consumer._add_gap = _add_gap  # type: ignore[method-assign]
    _Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    _Delegate._getmany = _getmany  # type: ignore[method-assign]
    _Thread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
    Recovery.need_recovery = need_recovery  # type: ignore[method-assign]


def topic_label(topic: str) -> str:
    """The metric label for a topic: its name without the deployment's prefix (the monitor's own, fixed set)."""
    return topic.removeprefix(_settings["prefix"])


def _new_offset(self: Any, tp: Any) -> int | None:
    """faust's ``Consumer._new_offset`` with fault 3 fixed: the offset to commit for ``tp``, or ``None``."""
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
