"""The faust/aiokafka fixes (streams/kafka/patches.py), checked against the real installed classes.

The install step refuses versions and signatures it was not written for; the
commit bookkeeping is exercised on a real faust consumer (built by a real app,
never started), not on a hand-built fake.
"""

from __future__ import annotations

import asyncio
import inspect

import faust
import pytest
from faust.transport import consumer as faust_consumer
from faust.types import TP

from streams.kafka import patches
from streams.kafka.patches import PatchError, committable, head_hole, in_flight

T0, T1 = TP("t", 0), TP("t", 1)


def test_the_installed_versions_and_every_patched_name_are_the_expected_ones():
    patches.check()  # raises PatchError naming what differs
    for cls, name, params, _ in patches.TARGETS:
        assert tuple(inspect.signature(getattr(cls, name)).parameters) == params


def test_install_replaces_every_target_on_the_real_classes():
    patches.install("t.", 100)
    for cls, name, _, _ in patches.TARGETS:
        assert getattr(cls, name).__module__ == patches.__name__, f"{cls.__qualname__}.{name} is not patched"


def test_a_renamed_method_upstream_fails_loudly(monkeypatch):
    monkeypatch.delattr(faust_consumer.Consumer, "_new_offset")
    with pytest.raises(PatchError, match="_new_offset does not exist"):
        patches.check()


def test_a_changed_signature_upstream_fails_loudly(monkeypatch):
    async def _getmany(self, partitions, timeout, extra=None):
        return {}

    monkeypatch.setattr(faust_consumer.ThreadDelegateConsumer, "_getmany", _getmany)
    with pytest.raises(PatchError, match="_getmany"):
        patches.check()


def test_another_version_fails_loudly(monkeypatch):
    monkeypatch.setitem(patches.VERSIONS, "aiokafka", "0.0.1")
    with pytest.raises(PatchError, match="aiokafka 0.14.0 is installed"):
        patches.check()


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


class _Message:
    """What faust keeps of a record in flight (its ``_unacked_messages`` is a weak set)."""

    def __init__(self, tp, offset, acked=False):
        self.tp, self.offset, self.acked = tp, offset, acked


def _message(tp, offset, acked=False):
    return _Message(tp, offset, acked)


def test_a_record_still_being_handled_is_in_flight_and_a_dropped_one_is_not():
    unacked = [_message(T0, 10), _message(T1, 10)]
    assert in_flight(unacked, T0, 10, 12)
    assert not in_flight(unacked, T0, 11, 12)
    assert not in_flight([_message(T0, 10, acked=True)], T0, 10, 11)


@pytest.fixture()
def consumer(monkeypatch):
    """A real faust consumer (aiokafka driver) with the fixes installed; its commit bookkeeping is driven by hand."""
    patches.install()
    app = faust.App("patches-test", broker="kafka://127.0.0.1:1", autodiscover=False)
    real = app.consumer
    assert isinstance(real, faust_consumer.Consumer)
    seeks = []

    async def seek(tp, offset):
        seeks.append((tp, offset))

    monkeypatch.setattr(real, "seek", seek)
    real.seeks = seeks
    return real


def ack(consumer, tp, *offsets):
    for offset in offsets:
        consumer._acked[tp].append(offset)
        consumer._acked_index[tp].add(offset)


def test_the_patched_consumer_commits_a_contiguous_run_and_keeps_the_rest(consumer):
    consumer._committed_offset[T0] = 10
    ack(consumer, T0, 10, 11, 13)
    assert consumer._new_offset(T0) == 12
    assert consumer._acked[T0] == [13]


def test_the_patched_consumer_never_commits_over_an_unhandled_record(consumer):
    consumer._committed_offset[T0] = 10
    ack(consumer, T0, 11, 12)
    assert consumer._new_offset(T0) is None
    ack(consumer, T0, 10)
    assert consumer._new_offset(T0) == 13


def test_offsets_acked_again_below_the_committed_one_are_dropped(consumer):
    consumer._committed_offset[T0] = 10
    ack(consumer, T0, 7, 8, 10)
    assert consumer._new_offset(T0) == 11
    assert consumer._acked[T0] == []
    assert consumer._acked_index[T0] == set()


def test_a_hole_nothing_can_fill_reads_the_partition_again(consumer, monkeypatch):
    consumer._committed_offset[T0] = 10
    ack(consumer, T0, 12, 13)
    clock = [100.0]
    monkeypatch.setattr(patches.time, "monotonic", lambda: clock[0])

    async def scenario():
        assert consumer._new_offset(T0) is None  # first seen: wait, something may still be on its way
        clock[0] += patches.HOLE_GRACE_S + 1
        handling = _message(T0, 11)  # held here: faust keeps records in flight in a weak set
        consumer._unacked_messages.add(handling)
        assert consumer._new_offset(T0) is None  # record 11 is being handled: still wait
        await asyncio.sleep(0)
        assert consumer.seeks == []
        consumer._unacked_messages.clear()
        assert consumer._new_offset(T0) is None
        await asyncio.sleep(0)
        assert consumer.seeks == [(T0, 10)]

    asyncio.run(scenario())


def test_the_worker_consumer_waits_at_most_the_configured_fetch_wait():
    patches.install("t.", 100)
    app = faust.App("patches-fetch-test", broker="kafka://127.0.0.1:1", autodiscover=False)

    async def build():
        return app.consumer._thread._create_worker_consumer(app.transport)

    created = asyncio.run(build())
    assert created._fetch_max_wait_ms == 100  # faust 0.15.3 writes 1500 into the code


def test_recovery_reads_to_the_end_a_fetch_reported_when_list_offsets_said_less():
    # The embedded broker said partition 0 ends at 5 (last record 4) while its fetch said 7; partition 1 agrees.
    last = {T0: 4, T1: 9}
    patches.raise_to_fetched(last, {T0: 7, T1: 10}.get)
    assert last == {T0: 6, T1: 9}


def test_recovery_keeps_the_listed_end_before_any_fetch_or_after_a_revocation():
    def fetched(tp):
        if tp == T1:
            raise AssertionError("Partition is not assigned")  # aiokafka's answer for a revoked partition
        return None

    last = {T0: 4, T1: 9}
    patches.raise_to_fetched(last, fetched)
    assert last == {T0: 4, T1: 9}


def test_a_fetch_that_says_less_never_lowers_the_end():
    last = {T0: 4}
    patches.raise_to_fetched(last, {T0: 3}.get)
    assert last == {T0: 4}
