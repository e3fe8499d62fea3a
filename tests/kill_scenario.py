"""SIGKILL the worker mid-stream, several times, and count what each receiver got: shared by
``tests/test_faults_e2e.py`` and ``bench/kill_bench.py``.

The broker runs here so it outlives the worker. Posts are the shipped samples
with unique ids, published up front; the worker is killed each time a receiver
has taken another share of the alerts (mid-stream, at a random extra moment),
and restarted on the same data dir. At the end the truth is the ``alerts``
topic (every alert raised, whoever raised it) and the dedupe table's changelog
(every post routed, alert or not: its key is written the first time a post is
routed); the receivers' own counts say what was lost or shown twice.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.readers import read_records, read_topic
from tests.conftest import start_monitor, stop_monitor
from tests.receivers import NAMES, POLICY_RECEIVERS, Receivers

SAMPLES = Path(__file__).resolve().parents[1] / "streams" / "samples" / "sample_posts.jsonl"


@dataclass
class Result:
    posts: int
    alerts: int
    unrouted: int
    report: dict[str, dict[str, int]]
    webhook_repeats: list[tuple[str, list[str]]]
    kills_at: list[int] = field(default_factory=list)
    seconds: float = 0.0


def sample_posts(count: int) -> list[dict[str, Any]]:
    samples = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = []
    for i in range(count):
        base = dict(samples[i % len(samples)])
        base.pop("expected_label", None)
        base.update(id=f"k{i}", text=f"{base['text']} (#{i})", created_at=datetime.now(timezone.utc).isoformat())
        posts.append(base)
    return posts


def routed_posts(bootstrap: str) -> set[str]:
    """Ids of the posts routed so far: the keys (``platform:id``) of the dedupe table's changelog."""
    records = read_records({"bootstrap_servers": [bootstrap]}, "points-of-truth-seen-posts-changelog")
    return {json.loads(r.key).partition(":")[2] for r in records if r.key and r.value is not None}


def run(
    tmp: Path, posts: int = 2400, kills: int = 3, env: dict[str, str] | None = None, seed: int = 7,
    say: Callable[[str], None] = print,
) -> Result:
    from kafka import KafkaProducer

    rng = random.Random(seed)
    started = time.monotonic()
    broker = EmbeddedBroker(log_path=tmp / "broker.log").start(20)
    policy = tmp / "policy.yaml"
    policy.write_text(f"keywords: []\nsurges: {{enabled: false}}\nreceivers:\n  {POLICY_RECEIVERS}\n"
                      f"routes: {{receivers: [{', '.join(NAMES)}, audit], remind_every: 1h}}\n")
    with Receivers() as receivers:
        settings = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFY_IN_PROCESS": "false", **receivers.env(), **(env or {})}
        data = tmp / "w"
        monitor = start_monitor(data, extra_env=settings, args=["--broker", broker.url])
        producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], acks="all", linger_ms=5)
        kills_at: list[int] = []
        try:
            for post in sample_posts(posts):
                producer.send("e2e.posts", key=f"{post['platform']}:{post['id']}".encode(), value=json.dumps(post).encode())
            producer.flush()
            for kill in range(kills):
                before = len(receivers.webhook.delivered())
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and len(receivers.webhook.delivered()) < before + posts // (4 * kills):
                    time.sleep(0.1)
                time.sleep(rng.uniform(0.0, 1.0))
                kills_at.append(len(receivers.webhook.delivered()))
                say(f"kill {kill + 1}: SIGKILL after {kills_at[-1]} webhook deliveries")
                stop_monitor(monitor, sig=signal.SIGKILL)
                monitor = start_monitor(data, extra_env=settings, args=["--broker", broker.url])
            routed: set[str] = set()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and len(routed) < posts:
                time.sleep(2)
                routed = routed_posts(broker.bootstrap)
            expected = {r["alert_id"] for r in read_topic([broker.bootstrap], "e2e.alerts", timeout_s=1)}
            report = receivers.wait_for_all(expected, timeout=300)
            time.sleep(3)  # late repeats would show now
            report = receivers.report(expected)
            return Result(posts, len(expected), posts - len(routed & {f"k{i}" for i in range(posts)}), report, receivers.duplicate_keys(), kills_at,
                          time.monotonic() - started)
        finally:
            producer.close()
            stop_monitor(monitor)
            broker.stop()
