"""Which keys of a changelog-backed table have outlived their retention, partition by partition.

faust writes a table's changelog to the partition of the event being processed, so a key can only be
deleted while the agent handles an event of the partition the key was written under. The router (in the lane
agents and route-posts) asks this index, on each event, for the expired keys of that event's partition (a few
at a time, so no event pays for a backlog) and deletes them. The index lives in memory: after a restart or rebalance the table's
recovered items are indexed again from the times and partitions stored in their values.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class Expiry:
    """Keys by the time they were last written, per partition; stale heap entries are skipped lazily."""

    def __init__(self) -> None:
        self._latest: dict[str, tuple[int, float]] = {}
        self._heaps: dict[int, list[tuple[float, str]]] = {}

    def __len__(self) -> int:
        return len(self._latest)

    def note(self, partition: int, key: str, at: float) -> None:
        """``key`` was written under ``partition`` at ``at`` (seconds); an earlier note for it no longer counts."""
        self._latest[key] = (partition, at)
        heapq.heappush(self._heaps.setdefault(partition, []), (at, key))

    def rebuild(self, items: Iterable[tuple[int, str, float]]) -> None:
        """Start again from ``(partition, key, at)`` for every key the table holds now."""
        self._latest.clear()
        self._heaps.clear()
        for partition, key, at in items:
            self.note(partition, key, at)

    def due(self, partition: int, older_than: float, limit: int = 16) -> list[str]:
        """Up to ``limit`` keys of ``partition`` last written before ``older_than``; they leave the index."""
        heap = self._heaps.get(partition)
        out: list[str] = []
        while heap and len(out) < limit and heap[0][0] < older_than:
            at, key = heapq.heappop(heap)
            if self._latest.get(key) == (partition, at):
                del self._latest[key]
                out.append(key)
        return out
