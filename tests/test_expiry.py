"""The retention index that lets the route agent drop old keys from its tables (streams/expiry.py)."""

from __future__ import annotations

from streams.kafka.expiry import Expiry


def test_only_keys_of_the_asked_partition_and_older_than_the_cut_are_due():
    index = Expiry()
    index.note(0, "a", 10.0)
    index.note(1, "b", 10.0)
    index.note(0, "c", 50.0)
    assert index.due(0, older_than=20.0) == ["a"]
    assert index.due(0, older_than=20.0) == []
    assert index.due(1, older_than=20.0) == ["b"]
    assert len(index) == 1


def test_a_key_written_again_counts_from_its_last_write():
    index = Expiry()
    index.note(0, "a", 10.0)
    index.note(0, "a", 40.0)
    assert index.due(0, older_than=20.0) == []
    assert index.due(0, older_than=41.0) == ["a"]
    assert index.due(0, older_than=100.0) == []


def test_a_few_keys_per_call_so_no_event_pays_for_the_whole_backlog():
    index = Expiry()
    for i in range(40):
        index.note(0, f"k{i}", float(i))
    first = index.due(0, older_than=100.0, limit=16)
    assert first == [f"k{i}" for i in range(16)]
    assert len(index.due(0, older_than=100.0, limit=16)) == 16
    assert len(index.due(0, older_than=100.0, limit=16)) == 8


def test_rebuild_starts_again_from_what_the_table_holds():
    index = Expiry()
    index.note(0, "gone", 1.0)
    index.rebuild([(2, "x", 5.0), (3, "y", 500.0)])
    assert index.due(0, older_than=100.0) == []
    assert index.due(2, older_than=100.0) == ["x"]
    assert index.due(3, older_than=100.0) == []
