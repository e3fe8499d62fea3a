"""Offset rules of the consumer fixes (:mod:`streams.kafka.patches`), as pure functions over plain data.

Kept apart from the patching so that what decides a commit or the end of a
table's recovery can be read and tested without a consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from faust.exceptions import NotReady

__all__ = ["Hole", "committable", "head_hole", "in_flight", "raise_to_fetched"]


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
    end = 1
    while end < len(acked) and acked[end] == acked[end - 1] + 1:
        end += 1
    return acked[end - 1] + 1, acked[end:]


def in_flight(unacked: Iterable[Any], tp: Any, start: int, end: int) -> bool:
    """Whether some record of the hole was handed to a stream and is still being worked on."""
    return any(m.tp == tp and start <= m.offset < end and not m.acked for m in list(unacked))


def raise_to_fetched(last_offsets: dict[Any, int], fetched_end: Callable[[Any], int | None]) -> None:
    """Raise each partition's last offset to the end the latest fetch response gave (minus one), where higher.

    ``fetched_end`` is the consumer's ``highwater``: the high watermark of the
    last fetch response for the partition, ``None`` before the first. It is
    read from a partition's state, which a revocation takes away; a partition
    whose state is gone keeps the end it had, as it would without this fix.
    """
    for tp, last in list(last_offsets.items()):
        try:
            end = fetched_end(tp)
        except (AssertionError, AttributeError, NotReady):  # aiokafka: not assigned; no state yet; faust: not started
            continue
        if end is not None and end - 1 > last:
            last_offsets[tp] = end - 1
