"""Classify and route in one lane agent (issue 17, fewer hops), as a user would check it.

- An author's posts are counted together whichever lane each one took, and after the worker was stopped and
  started between them: the lanes are keyed by author, so the author table's entries live on (and are recovered
  from) the partition of the lane records that read them. Four partitions, so a post keyed any other way would
  likely land elsewhere.
- The ``classified`` topic is off the way to an alert (nothing is written to it), and a classified record put
  back on it, as ``pot dlq replay --stage route`` does, is still routed to its alert.

An urgent post overtaking a backlog of normal ones is tests/test_burst_e2e.py; SIGKILLs mid-stream with no
alert lost or shown twice at the receivers, tests/test_faults_e2e.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from streams.core.records import Author, Classification, Classified, Post, alert_id_for
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.readers import read_records, read_topic
from tests.conftest import start_monitor, stop_monitor, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
POLICY = """
keywords:
  - {name: safety, phrases: ["food poisoning"], priority: P1, window_s: 900}
receivers: {audit: {type: jsonl}}
routes: {receivers: [audit]}
"""


def post(post_id: str, author: str, text: str) -> dict[str, object]:
    return {"id": post_id, "platform": "x", "text": text, "author": {"id": author},
            "created_at": datetime.now(timezone.utc).isoformat()}


def test_an_authors_posts_meet_across_lanes_and_restarts_and_classified_is_only_for_replays(tmp_path):
    from kafka import KafkaProducer

    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
           "POT_PARTITIONS": "4"}
    data = tmp_path / "w"
    monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all")

    def send(value: dict[str, object], topic: str = "e2e.posts", key: str | None = None) -> None:
        producer.send(topic, key=(key or f"x:{value['id']}").encode(), value=json.dumps(value).encode()).get(timeout=10)

    def alert(post_id: str) -> dict[str, object]:
        wanted = alert_id_for(f"x:{post_id}")
        return wait_for(lambda: next((a for a in monitor.alerts() if a["alert_id"] == wanted), None), f"the alert of {post_id}")

    try:
        for i in range(12):
            send(post(f"n{i}", f"someone-{i}", f"#complaint parcel {i} is late"))
        send(post("ann-1", "ann", "#complaint my parcel is late again"))
        first = alert("ann-1")
        send(post("ann-2", "ann", "#complaint my son got food poisoning after eating there"))
        second = alert("ann-2")
        assert second["priority"] == "P1", "the second post went through the urgent lane"
        assert (first["history"], second["history"]) == ("first post we have seen from this author", "2nd complaint in 7 days")

        stop_monitor(monitor)
        monitor = start_monitor(data, extra_env=env, args=["--broker", broker.url])
        send(post("ann-3", "ann", "#complaint and still no refund"))
        assert alert("ann-3")["history"] == "3rd complaint in 7 days", "the author table came back on its partition"
        assert {a["alert_id"] for a in monitor.alerts()} >= {alert_id_for(f"x:n{i}") for i in range(12)}
        partitions: dict[str, set[int]] = {}
        for record in read_records({"bootstrap_servers": [broker.bootstrap]}, "points-of-truth-authors-changelog"):
            partitions.setdefault(json.loads(record.key), set()).add(record.partition)
        assert partitions['x:ann'] and all(len(p) == 1 for p in partitions.values()), f"one partition per author: {partitions}"

        assert read_topic([broker.bootstrap], "e2e.classified", timeout_s=2) == [], "nothing waits on classified"
        replayed = Classified(
            post=Post(id="bob-1", platform="x", text="refund me", created_at=datetime.now(timezone.utc).isoformat(),
                      author=Author(id="bob")),
            classification=Classification(label="complaint", confidence=0.9, scores={"complaint": 0.9}, lang="en",
                                          model="by-tag", model_version="1"),
        )
        producer.send("e2e.classified", key=b"x:bob", value=replayed.dumps()).get(timeout=10)
        assert alert("bob-1")["classification"]["label"] == "complaint", "a record replayed onto classified is routed"
        ids = [a["alert_id"] for a in monitor.alerts()]
        assert len(ids) == len(set(ids)), "no alert twice"
    finally:
        producer.close()
        stop_monitor(monitor)
        broker.stop()
