"""SIGKILL the worker at random moments while a few thousand posts stream through, three times.

Afterwards every valid post has exactly one alert in the receiver's own log
(the JSONL file), and every alert's clock is there, open, with its deadline:
nothing lost, nothing sent twice. The broker runs in the test so it outlives
the worker; a restarted worker waits for the killed member's session to
expire (POT_SESSION_TIMEOUT_S) before it gets the partitions back.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from datetime import datetime, timezone

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.core.records import alert_id_for
from tests.conftest import start_monitor, stop_monitor

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
POSTS = 2400


def test_three_sigkills_lose_nothing_and_send_nothing_twice(tmp_path):
    from kafka import KafkaProducer

    rng = random.Random(7)
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text("keywords: []\nreceivers: {audit: {type: jsonl}}\nroutes: {receivers: [audit], remind_every: 1h}\n")
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false"}
    data = tmp_path / "w"
    monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5)
    labels = ["#complaint", "#question", "#praise", "nothing to see"]
    expected = set()
    try:
        for i in range(POSTS):
            text = f"{labels[i % 4]} post number {i}"
            post = {"id": str(i), "platform": "x", "text": text, "author": {"id": f"a{i % 97}"},
                    "created_at": datetime.now(timezone.utc).isoformat()}
            producer.send("e2e.posts", key=f"x:{i}".encode(), value=json.dumps(post).encode())
            if i % 4 != 3:
                expected.add(alert_id_for(f"x:{i}"))
        producer.flush()
        for kill in range(3):
            before = len(monitor.alerts())
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(monitor.alerts()) < before + 100:
                time.sleep(0.1)  # mid-stream: the restarted worker is delivering again
            time.sleep(rng.uniform(0.0, 2.0))
            done = len(monitor.alerts())
            assert done < len(expected), "the stream ended before the kill: send more posts"
            print(f"kill {kill + 1}: SIGKILL after {done} alert lines")
            stop_monitor(monitor, sig=signal.SIGKILL)
            monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len({a["alert_id"] for a in monitor.alerts()}) < len(expected):
            time.sleep(1)
        lines = Counter(a["alert_id"] for a in monitor.alerts())
        assert set(lines) == expected, f"missing {len(expected - set(lines))}, unexpected {len(set(lines) - expected)}"
        assert max(lines.values()) == 1, f"sent twice: {[a for a, n in lines.items() if n > 1][:5]}"
        # the praise alerts are among them; every alert has its clock, open and unacknowledged
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = httpx.get(f"{monitor.web}/alerts", params={"state": "open"}, timeout=30).json()["alerts"]
            if len(rows) >= len(expected):
                break
            time.sleep(1)
        assert {r["alert_id"] for r in rows} == expected
        assert all(r["seconds_left"] > 0 for r in rows)
    finally:
        producer.close()
        stop_monitor(monitor)
        broker.stop()
