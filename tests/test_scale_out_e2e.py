"""Two workers share the topics: they split the partitions, and together deliver each alert once,
across the rebalance when the second joins and when the first leaves."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import datetime, timezone

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.core.records import alert_id_for
from tests.conftest import start_monitor, stop_monitor

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def classified_by(web: str) -> float:
    text = httpx.get(f"{web}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(r"^pot_posts_classified_total\{[^}]*\} ([0-9.e+]+)$", text, re.M))


def test_two_workers_split_the_work_and_deliver_each_alert_once(tmp_path):
    from kafka import KafkaProducer

    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text("keywords: []\nreceivers: {audit: {type: jsonl}}\nroutes: {receivers: [audit]}\n")
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
           "POT_PARTITIONS": "4"}
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5)
    expected: set[str] = set()

    def send(start: int, count: int) -> None:
        for i in range(start, start + count):
            post = {"id": str(i), "platform": "x", "text": f"#complaint number {i}", "author": {"id": f"a{i}"},
                    "created_at": datetime.now(timezone.utc).isoformat()}
            producer.send("e2e.posts", key=f"x:{i}".encode(), value=json.dumps(post).encode())
            expected.add(alert_id_for(f"x:{i}"))
        producer.flush()

    first = start_monitor(tmp_path / "w1", extra_env=env, args=["--broker", broker.url])
    second = None
    try:
        send(0, 600)
        second = start_monitor(tmp_path / "w2", extra_env=env, args=["--broker", broker.url])  # joins mid-stream
        send(600, 600)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and classified_by(second.web) == 0:
            time.sleep(0.5)
        assert classified_by(second.web) > 0, "the second worker got partitions and classified posts"
        stop_monitor(first)  # leaves mid-stream: its partitions move to the second worker
        send(1200, 600)
        deadline = time.monotonic() + 180
        lines: Counter = Counter()
        while time.monotonic() < deadline:
            lines = Counter(a["alert_id"] for m in (first, second) for a in m.alerts())
            if set(lines) >= expected:
                break
            time.sleep(1)
        assert set(lines) == expected, f"missing {len(expected - set(lines))}"
        assert max(lines.values()) == 1, f"delivered twice: {sum(1 for n in lines.values() if n > 1)} alerts"
        assert first.alerts() and second.alerts(), "both workers delivered a share"
    finally:
        producer.close()
        if second is not None:
            stop_monitor(second)
        stop_monitor(first)
        broker.stop()
