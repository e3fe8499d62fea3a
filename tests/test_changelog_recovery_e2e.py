"""A restarted worker recovers every record of its changelogs, the last batch's included, so a post it had
already seen is not alerted again.

The embedded broker (Tansu) answers ListOffsets(latest) with the base offset of a
partition's last record batch plus one, while its fetch responses give the true
end. faust ended recovery at the short answer; the rest of the last batch
reached faust's recovery buffer after recovery had ended and was not applied
(streams/kafka/patches.py, fault 5). A worker that crashed right after writing
a batch of dedupe records came back without them, and alerted those posts again
when they were sent again. This test makes that state on purpose: the dedupe
changelog holds one batch of five records when the worker starts.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from streams.kafka.broker import EmbeddedBroker
from tests.conftest import start_monitor, stop_monitor, wait_for
from tests.test_table_expiry_e2e import AUTH, POLICY, posts

pytestmark = pytest.mark.e2e

CHANGELOG = "points-of-truth-seen-posts-changelog"


def write_one_batch(bootstrap: str, keys: list[str]) -> None:
    """The dedupe records of ``keys``, as a worker writes them (faust's JSON keys and values), in one batch."""
    admin = KafkaAdminClient(bootstrap_servers=[bootstrap])
    try:
        admin.create_topics([NewTopic(CHANGELOG, 2, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        admin.close()  # an open client's network thread outlives the test (and its broker), drawing on `random`
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", linger_ms=500)
    try:
        for key in keys:
            value = {"at": time.time(), "origin": "1:9999:normal"}
            producer.send(CHANGELOG, key=json.dumps(key).encode(), value=json.dumps(value).encode(), partition=0)
        producer.flush()
    finally:
        producer.close()


def test_posts_remembered_in_the_changelogs_last_batch_are_not_alerted_again(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    seen_before = posts("seen", 5)
    write_one_batch(broker.bootstrap, [f"x:{post['id']}" for post in seen_before])
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false"}
    monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url])
    try:
        assert httpx.post(f"{monitor.web}/posts", headers=AUTH, json=[*seen_before, *posts("fresh", 1)]).status_code == 202
        handled = lambda: len(monitor.alerts()) + monitor.metric("pot_posts_duplicate_total")  # noqa: E731
        wait_for(lambda: handled() >= 6, "the six posts alerted or counted as duplicates", timeout=60)
        time.sleep(2)
        alerted = sorted(alert["post"]["id"] for alert in monitor.alerts())
        assert alerted == ["fresh0"], f"posts already seen before the restart were alerted again: {alerted}"
        assert monitor.metric("pot_posts_duplicate_total") == 5
        assert monitor.metric("pot_table_keys", table="seen-posts") == 6
    finally:
        stop_monitor(monitor)
        broker.stop()
