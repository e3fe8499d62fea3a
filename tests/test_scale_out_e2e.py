"""Two workers share the topics: they split the partitions, and together deliver each alert once,
across the rebalance when the second joins and when the first leaves. Counted in the two workers' own alert logs
and at receivers both workers share and that record every request (tests/receivers.py): Slack shows no message
twice, the webhook and email at most one repeat per rebalance."""

from __future__ import annotations

import re
import time
from collections import Counter

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from tests.conftest import publish_complaints, start_monitor, stop_monitor
from tests.receivers import NAMES, POLICY_RECEIVERS, Receivers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def classified_by(web: str) -> float:
    text = httpx.get(f"{web}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(r"^pot_posts_classified_total\{[^}]*\} ([0-9.e+]+)$", text, re.M))


def test_two_workers_split_the_work_and_deliver_each_alert_once(tmp_path):
    from kafka import KafkaProducer

    receivers = Receivers().__enter__()
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"keywords: []\nsurges: {{enabled: false}}\nreceivers:\n  {POLICY_RECEIVERS}\n"
                      f"routes: {{receivers: [audit, {', '.join(NAMES)}]}}\n")
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
           "POT_PARTITIONS": "4", **receivers.env()}
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5)
    expected: set[str] = set()

    def send(start: int, count: int) -> None:
        expected.update(publish_complaints(producer, start, count))

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
        report = receivers.wait_for_all(expected, timeout=120)
        print(report)
        assert all(r["lost"] == 0 and r["extra"] == 0 for r in report.values()), report
        assert report["chat"]["duplicated"] == 0, report
        assert report["hook"]["duplicated"] <= 2 and report["mail"]["duplicated"] <= 2, "at most one per rebalance"
    finally:
        producer.close()
        if second is not None:
            stop_monitor(second)
        stop_monitor(first)
        broker.stop()
        receivers.__exit__(None, None, None)
