"""The broker stops answering for a while mid-stream (frozen with SIGSTOP, as a partition or a long GC
pause looks from the client), then comes back: the worker stays up, says so plainly, and every post
published before or accepted during the outage is alerted once."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from datetime import datetime, timezone

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.core.records import alert_id_for
from tests.conftest import TOKEN, start_monitor, stop_monitor

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
OUTAGE_S = 15


def post(key: str) -> dict:
    return {"id": key, "platform": "x", "text": f"#question where is order {key}?", "author": {"id": f"a-{key}"},
            "created_at": datetime.now(timezone.utc).isoformat()}


def test_broker_lost_mid_stream_then_back(tmp_path):
    from kafka import KafkaProducer

    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text("keywords: []\nreceivers: {audit: {type: jsonl}}\nroutes: {receivers: [audit]}\n")
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:SlowByTag", "POT_CLASSIFY_IN_PROCESS": "false",
           "POT_PUBLISH_TIMEOUT_S": "3"}
    monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url])
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5)
    expected = set()
    try:
        for i in range(400):
            producer.send("e2e.posts", key=f"x:b{i}".encode(), value=json.dumps(post(f"b{i}")).encode())
            expected.add(alert_id_for(f"x:b{i}"))
        producer.flush()
        while len(monitor.alerts()) < 50:
            time.sleep(0.1)
        os.kill(broker.process.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        answers = Counter()
        for i in range(3):
            try:
                r = httpx.post(f"{monitor.web}/posts", json=[post(f"h{i}")], timeout=10,
                               headers={"Authorization": f"Bearer {TOKEN}"})
                answers[r.status_code] += 1
                if r.status_code == 202:
                    expected.add(alert_id_for(f"x:h{i}"))
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - frozen_at)))
        os.kill(broker.process.pid, signal.SIGCONT)
        print(f"answers during the outage: {dict(answers)}")
        assert answers == Counter({503: 3}), "no post is accepted that the broker has not confirmed"
        assert monitor.process.poll() is None, "the worker stayed up through the outage"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not expected <= {a["alert_id"] for a in monitor.alerts()}:
            time.sleep(0.5)
        lines = Counter(a["alert_id"] for a in monitor.alerts())
        assert expected <= set(lines), f"missing {len(expected - set(lines))} after the broker came back"
        assert max(lines.values()) == 1
        assert httpx.get(f"{monitor.web}/readyz", timeout=10).status_code == 200
        again = httpx.post(f"{monitor.web}/posts", json=[post("h0")], timeout=10, headers={"Authorization": f"Bearer {TOKEN}"})
        assert again.status_code == 202, "after the outage the same post is accepted (its id makes it harmless)"
    finally:
        try:
            os.kill(broker.process.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        producer.close()
        stop_monitor(monitor)
        broker.stop()
