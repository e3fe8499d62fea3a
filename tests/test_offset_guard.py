"""The commit rules that keep a stop or rebalance from skipping records (streams/offset_guard.py)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import pytest

from faust.types import TP

from streams import offset_guard
from streams.offset_guard import committable, guard_offsets, head_hole, in_flight


T0, T1 = TP("t", 0), TP("t", 1)


def test_no_hole_when_the_first_acked_offset_is_the_committed_one():
    assert head_hole([10, 11, 12], 10) is None


def test_a_single_unacked_record_at_the_committed_offset_is_a_hole():
    # faust 0.15.3 committed over exactly this one (it only looked for holes wider than one record)
    assert head_hole([11, 12], 10) == (10, 11)


def test_a_committed_offset_of_zero_still_guards_the_head():
    assert head_hole([3, 4], 0) == (0, 3)


def test_nothing_committed_yet_cannot_tell_a_hole_from_a_later_start():
    assert head_hole([3, 4], None) is None


def test_only_the_run_that_starts_at_the_committed_offset_is_committed():
    assert committable([10, 11, 12, 15, 16], 10) == (13, [15, 16])


def test_a_hole_holds_the_commit_back():
    assert committable([11, 12, 13], 10) == (None, [11, 12, 13])


def test_nothing_acked_commits_nothing():
    assert committable([], 10) == (None, [])


def _message(tp, offset, acked=False):
    return SimpleNamespace(tp=tp, offset=offset, acked=acked)


def test_a_record_still_being_handled_is_in_flight_and_a_dropped_one_is_not():
    unacked = [_message(T0, 10), _message(T1, 10)]
    assert in_flight(unacked, T0, 10, 12)
    assert not in_flight(unacked, T0, 11, 12)
    assert not in_flight([_message(T0, 10, acked=True)], T0, 10, 11)


class _Consumer:
    """Enough of faust's Consumer for its commit bookkeeping: the real methods are the patched ones."""

    def __init__(self, committed):
        self._acked = defaultdict(list)
        self._acked_index = defaultdict(set)
        self._committed_offset = defaultdict(lambda: None, committed)
        self._unacked_messages = []
        self.seeks = []

    async def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    def ack(self, tp, *offsets):
        for offset in offsets:
            self._acked[tp].append(offset)
            self._acked_index[tp].add(offset)


@pytest.fixture()
def patched():
    from faust.transport import consumer as faust_consumer

    guard_offsets()
    return faust_consumer.Consumer._new_offset


def test_the_patched_consumer_commits_a_contiguous_run_and_keeps_the_rest(patched):
    consumer = _Consumer({T0: 10})
    consumer.ack(T0, 10, 11, 13)
    assert patched(consumer, T0) == 12
    assert consumer._acked[T0] == [13]


def test_the_patched_consumer_never_commits_over_an_unhandled_record(patched):
    consumer = _Consumer({T0: 10})
    consumer.ack(T0, 11, 12)
    assert patched(consumer, T0) is None
    consumer.ack(T0, 10)
    assert patched(consumer, T0) == 13


def test_offsets_acked_again_below_the_committed_one_are_dropped(patched):
    consumer = _Consumer({T0: 10})
    consumer.ack(T0, 7, 8, 10)
    assert patched(consumer, T0) == 11
    assert consumer._acked[T0] == []
    assert consumer._acked_index[T0] == set()


def test_a_hole_nothing_can_fill_reads_the_partition_again(patched, monkeypatch):
    import asyncio

    consumer = _Consumer({T0: 10})
    consumer.ack(T0, 12, 13)
    clock = [100.0]
    monkeypatch.setattr(offset_guard.time, "monotonic", lambda: clock[0])

    async def scenario():
        assert patched(consumer, T0) is None  # first seen: wait, something may still be on its way
        clock[0] += offset_guard.HOLE_GRACE_S + 1
        consumer._unacked_messages = [_message(T0, 11)]
        assert patched(consumer, T0) is None  # record 11 is being handled: still wait
        await asyncio.sleep(0)
        assert consumer.seeks == []
        consumer._unacked_messages = []
        assert patched(consumer, T0) is None
        await asyncio.sleep(0)
        assert consumer.seeks == [(T0, 10)]

    asyncio.run(scenario())
