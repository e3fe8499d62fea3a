"""A burst: a backlog of ordinary posts in front of the classifier, and the urgent ones still come first.

The classifier here works at a real model's pace (~50 posts/s), so 1,000
posts queue for about 20 s; five safety complaints sent after them are
triaged into the urgent lane and alerted within seconds, long before the
backlog has drained.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.core.records import alert_id_for
from tests.conftest import start_monitor, stop_monitor

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
POLICY = """
keywords:
  - {name: safety, phrases: ["food poisoning"], priority: P1, window_s: 900}
receivers: {audit: {type: jsonl}}
routes: {receivers: [audit]}
"""


def test_urgent_posts_skip_the_backlog(tmp_path):
    from kafka import KafkaProducer

    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:SlowByTag", "POT_CLASSIFY_IN_PROCESS": "false"}
    monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url])
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], linger_ms=5)

    def send(key: str, text: str) -> None:
        post = {"id": key, "platform": "x", "text": text, "author": {"id": f"a-{key}"},
                "created_at": datetime.now(timezone.utc).isoformat()}
        producer.send("e2e.posts", key=f"x:{key}".encode(), value=json.dumps(post).encode())

    try:
        for i in range(1000):
            send(f"n{i}", f"#praise nice service {i}")
        producer.flush()
        sent = time.monotonic()
        urgent = {alert_id_for(f"x:u{i}") for i in range(5)}
        for i in range(5):
            send(f"u{i}", f"#complaint my son got food poisoning after eating there ({i})")
        producer.flush()
        while time.monotonic() - sent < 60 and not urgent <= {a["alert_id"] for a in monitor.alerts()}:
            time.sleep(0.2)
        took = time.monotonic() - sent
        alerts = monitor.alerts()
        done = {a["alert_id"] for a in alerts}
        assert urgent <= done, "the urgent posts were alerted"
        backlog_done = sum(1 for a in alerts if a["alert_id"] not in urgent)
        print(f"urgent alerts after {took:.1f} s, when {backlog_done} of 1000 ordinary posts were alerted")
        assert took < 8, f"urgent alerts took {took:.1f} s"
        assert backlog_done < 800, "the backlog was still draining when the urgent posts were through"
        assert {a["priority"] for a in alerts if a["alert_id"] in urgent} == {"P1"}
    finally:
        producer.close()
        stop_monitor(monitor)
        broker.stop()
