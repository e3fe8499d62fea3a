"""Every alert's state and trail, whichever worker asks: topics read whole, outside the consumer group.

A worker's ``clocks`` table holds only the alerts of the partitions it owns.
The desk (and ``GET /alerts``, ``pot alerts`` later) must show them all, so
each worker follows the clocks table's changelog (compacted; one record per
change of an alert's clock, a tombstone when a resolved alert is forgotten)
and the ``events`` topic, every partition from the beginning, as
:func:`streams.kafka.readers.follow_silences` does for silences.

* :class:`QueueView`: alert id → clock (state, deadline, fired steps, the
  alert itself); :meth:`QueueView.rows` filters and sorts by time left.
* :class:`EventLog`: every event per alert, for an alert's trail and for
  :mod:`streams.core.reports`; events older than ``keep_s`` are dropped.
* :func:`follow`: the reading loop (aiokafka, assigned partitions), which
  reconnects on errors and marks a view ``ready`` once it has caught up
  with the end offsets it saw at start.

>>> view = QueueView()
>>> view.apply(b'"al-1"', json.dumps({"alert_id": "al-1", "state": "open", "label": "complaint", "priority": "P2",
...     "deadline": 100.0, "raised_at": 0.0}).encode())
>>> [r["alert_id"] for r in view.rows(now=50.0)], view.version
(['al-1'], 1)
>>> view.apply(b'"al-1"', None)
>>> view.rows(now=50.0), view.version
([], 2)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.reports import _epoch
from ..core.vocabulary import canonical_platform

__all__ = ["FILTERS", "EventLog", "QueueView", "dims_of", "follow"]

log = logging.getLogger(__name__)

FILTERS = ("label", "priority", "lang", "platform", "brand", "route", "state")
"""What the queue can be filtered on (each a set of allowed values)."""
ACTIVE = ("open", "acknowledged")


def _key(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        key = json.loads(raw)
    except ValueError:
        key = raw.decode("utf-8", "replace")
    return key if isinstance(key, str) else None


def dims_of(clock: Mapping[str, Any]) -> dict[str, str]:
    """The filterable values of an alert, from its clock and the alert it carries; the platform folded to its
    canonical name, so an alert raised before aliases were folded (``twitter``) is filed with the ``x`` ones."""
    alert = clock.get("alert") or {}
    post = alert.get("post") or {}
    classification = alert.get("classification") or {}
    return {
        "label": str(clock.get("label") or ""), "priority": str(clock.get("priority") or ""),
        "lang": str(classification.get("lang") or post.get("lang") or ""),
        "platform": canonical_platform(str(post.get("platform") or "")),
        "brand": str(post.get("brand") or ""), "route": str(clock.get("route") or ""), "state": str(clock.get("state") or ""),
    }


class QueueView:
    """Alert id → latest clock, from the clocks changelog of every partition."""

    def __init__(self) -> None:
        self.clocks: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.ready = False

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        alert_id = _key(key)
        if alert_id is None:
            return
        if value is None:
            if self.clocks.pop(alert_id, None) is not None:
                self.version += 1
            return
        try:
            clock = json.loads(value)
        except ValueError:
            log.warning("ignoring a clock record that is not JSON (%s)", alert_id)
            return
        if isinstance(clock, dict) and "state" in clock and clock != self.clocks.get(alert_id):
            self.clocks[alert_id] = clock
            self.version += 1

    def reset(self) -> None:
        if self.clocks:
            self.clocks.clear()
            self.version += 1

    def get(self, alert_id: str) -> dict[str, Any] | None:
        return self.clocks.get(alert_id)

    def rows(self, now: float, filters: Mapping[str, Iterable[str]] | None = None) -> list[dict[str, Any]]:
        """Clocks matching every filter (a set of allowed values each; ``state`` defaults to open and
        acknowledged), most urgent first: open by time left, then acknowledged, then resolved."""
        filters = {k: set(v) for k, v in (filters or {}).items() if v}
        states = filters.pop("state", set(ACTIVE))
        out = []
        for clock in list(self.clocks.values()):
            dims = dims_of(clock)
            if dims["state"] not in states or any(dims.get(k) not in allowed for k, allowed in filters.items()):
                continue
            out.append(clock)
        rank = {"open": 0, "acknowledged": 1, "resolved": 2}
        out.sort(key=lambda c: (rank.get(c.get("state"), 3), float(c.get("deadline") or 0) - now))
        return out

    def choices(self) -> dict[str, list[str]]:
        """The values present for each filter, for the filter form."""
        seen: dict[str, set[str]] = {name: set() for name in FILTERS}
        for clock in list(self.clocks.values()):
            for name, value in dims_of(clock).items():
                if value:
                    seen[name].add(value)
        return {name: sorted(values) for name, values in seen.items()}


class EventLog:
    """Events per alert id, in the order the topic holds them (one alert's events share a partition)."""

    def __init__(self, keep_s: float | None = None, clock: Callable[[], float] = time.time) -> None:
        self.by_alert: dict[str, list[dict[str, Any]]] = {}
        self.keep_s = keep_s
        self.clock = clock
        self.version = 0
        self.ready = False
        self._pruned = clock()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            return
        try:
            event = json.loads(value)
        except ValueError:
            return
        if not isinstance(event, dict) or not isinstance(event.get("alert_id"), str):
            return
        event.pop("__faust", None)
        event.pop("v", None)
        self.by_alert.setdefault(event["alert_id"], []).append(event)
        self.version += 1
        if self.keep_s and self.clock() - self._pruned > 600:
            self.prune()

    def prune(self) -> None:
        """Forget alerts whose newest event is older than ``keep_s``."""
        self._pruned = now = self.clock()
        if not self.keep_s:
            return
        for alert_id, events in list(self.by_alert.items()):
            last = _epoch(events[-1].get("at"))
            if last is not None and now - last > self.keep_s:
                del self.by_alert[alert_id]

    def reset(self) -> None:
        self.by_alert.clear()
        self.version += 1

    def trail(self, alert_id: str) -> list[dict[str, Any]]:
        return list(self.by_alert.get(alert_id, []))

    def events(self) -> list[dict[str, Any]]:
        return [event for events in list(self.by_alert.values()) for event in events]


async def follow(
    bootstrap_servers: list[str], topic: str | Callable[[], str], apply: Callable[[bytes | None, bytes | None], None],
    on_ready: Callable[[], None] = lambda: None, reset: Callable[[], None] = lambda: None,
    client_id: str = "pot-queue-view", poll_ms: int = 300, security: Mapping[str, Any] | None = None,
) -> None:
    """Apply every record of every partition of ``topic`` from the beginning, then follow it; runs until
    cancelled. ``on_ready`` is called once the records present at start have been applied; ``reset`` before
    each (re)reading from the beginning, after a lost connection."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    ready = False
    while True:
        name = topic() if callable(topic) else topic
        consumer = AIOKafkaConsumer(
            **{**(security or {}), "bootstrap_servers": bootstrap_servers},
            enable_auto_commit=False, auto_offset_reset="earliest", client_id=client_id,
        )
        try:
            await consumer.start()
            partitions = consumer.partitions_for_topic(name)
            if not partitions:
                await consumer.stop()
                await asyncio.sleep(1)
                continue
            tps = [TopicPartition(name, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            reset()
            ends = await consumer.end_offsets(tps)
            while True:
                batches = await consumer.getmany(timeout_ms=poll_ms)
                for records in batches.values():
                    for record in records:
                        apply(record.key, record.value)
                if not ready and await _caught_up(consumer, ends):
                    ready = True
                    on_ready()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("following %s failed (%s: %s); retrying in 2 s", name, type(exc).__name__, exc)
            await asyncio.sleep(2)
        finally:
            await consumer.stop()


async def _caught_up(consumer: Any, ends: Mapping[Any, int]) -> bool:
    for tp, end in ends.items():
        if int(await consumer.position(tp)) < end:
            return False
    return True
