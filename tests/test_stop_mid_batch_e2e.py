"""A worker stopped (SIGTERM) while the classifier is in the middle of a batch loses none of it.

This test found the loss that streams/kafka/patches.py fixes: about one run in six, posts of the interrupted
batch were classified once and never became alerts, because faust resumed the restarted worker's
partitions before seeking them and then committed over records it took for a compaction gap.

Counted at receivers that record every request (tests/receivers.py): the webhook, Slack and email receivers
each get every alert, Slack none twice, the others at most one repeat for the stop (the JSONL log drops repeats
itself, so it cannot show a duplicate).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timezone

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.core.records import alert_id_for
from tests.conftest import start_monitor, stop_monitor
from tests.receivers import NAMES, POLICY_RECEIVERS, Receivers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_stop_in_the_middle_of_a_batch_loses_nothing(tmp_path):
    from kafka import KafkaProducer

    receivers = Receivers().__enter__()
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"keywords: []\nsurges: {{enabled: false}}\nreceivers:\n  {POLICY_RECEIVERS}\n"
                      f"routes: {{receivers: [audit, {', '.join(NAMES)}]}}\n")
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:VerySlowByTag",
           "POT_CLASSIFY_IN_PROCESS": "false", "POT_BATCH_SIZE": "8", **receivers.env()}
    data = tmp_path / "w"
    monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all")
    expected = {alert_id_for(f"x:{i}") for i in range(60)}
    try:
        for i in range(60):
            post = {"id": str(i), "platform": "x", "text": f"#question number {i}", "author": {"id": f"a{i}"},
                    "created_at": datetime.now(timezone.utc).isoformat()}
            producer.send("e2e.posts", key=f"x:{i}".encode(), value=json.dumps(post).encode())
        producer.flush()
        while len(monitor.alerts()) < 8:
            time.sleep(0.05)
        time.sleep(0.8)  # half-way through a 1.6 s batch
        stop_monitor(monitor)
        monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not expected <= {a["alert_id"] for a in monitor.alerts()}:
            time.sleep(0.5)
        lines = Counter(a["alert_id"] for a in monitor.alerts())
        if set(lines) != expected:
            from streams.kafka.readers import read_topic

            lost = expected - set(lines)
            for topic in ("posts-normal", "alerts"):
                rows = read_topic([broker.bootstrap], f"e2e.{topic}", timeout_s=2)
                keys = [alert_id_for(f"x:{(r.get('post') or r)['id']}") if topic != "alerts" else r["alert_id"] for r in rows]
                print(topic, {a: keys.count(a) for a in lost})
        assert set(lines) == expected, f"lost {len(expected - set(lines))} posts of the interrupted batch"
        report = receivers.wait_for_all(expected, timeout=60)
        print(report)
        assert all(r["lost"] == 0 and r["extra"] == 0 for r in report.values()), report
        assert report["chat"]["duplicated"] == 0, report
        assert report["hook"]["duplicated"] <= 1 and report["mail"]["duplicated"] <= 1, "at most one repeat per stop"
    finally:
        producer.close()
        stop_monitor(monitor)
        broker.stop()
        receivers.__exit__(None, None, None)
