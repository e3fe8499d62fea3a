"""Where post -> alert time goes, hop by hop, from the Kafka timestamps of each post's records.

Every record a worker produces carries the producer's wall clock (Kafka ``CreateTime``), and the bench sets the
``posts`` record's timestamp to its send time, so for each post the times it was written to ``posts``, to its
lane (``posts-urgent`` or ``posts-normal``), to ``classified`` (when something writes it) and to ``alerts`` give
the time spent in each stage: a stage is the consumer's fetch wait, any batch wait, the work, and the send. The
last stage (alert record -> line in the JSONL receiver's file) is the delivery agent's fetch wait and the sink.
Same machine, same clock. Used by bench/latency_ab.py (``--hops``); reads the topics whole, after the load.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

STAGES = ("posts", "lane", "classified", "alerts")


def _post_id(topic: str, value: dict[str, Any]) -> str | None:
    post = value if topic in ("posts", "lane") else value.get("post")
    return post.get("id") if isinstance(post, dict) else None


def stamps(bootstrap: str, prefix: str, tag: str) -> dict[str, dict[str, float]]:
    """``{post id: {stage: seconds}}`` for the posts whose id starts with ``tag``, from every stage's topic."""
    from kafka import KafkaConsumer, TopicPartition

    topics = {"posts": "posts", "posts-urgent": "lane", "posts-normal": "lane", "classified": "classified",
              "alerts": "alerts"}
    out: dict[str, dict[str, float]] = {}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=1500, client_id="hops-bench")
    try:
        for topic, stage in topics.items():
            partitions = [TopicPartition(prefix + topic, p) for p in sorted(consumer.partitions_for_topic(prefix + topic) or [])]
            if not partitions:
                continue
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            for message in consumer:
                try:
                    value = json.loads(message.value)
                except (TypeError, ValueError):
                    continue
                post_id = _post_id(stage, value) if isinstance(value, dict) else None
                if post_id and post_id.startswith(tag):
                    out.setdefault(post_id, {}).setdefault(stage, message.timestamp / 1000)
    finally:
        consumer.close()
    return out


def breakdown(times: dict[str, dict[str, float]], seen_at: dict[str, float]) -> dict[str, dict[str, float]]:
    """p50/p95/p99 (ms) and count of each stage: time from the stage before (the last one present) to this one.

    ``seen_at``: post id -> when the alert line was read (the ``delivery`` stage ends there)."""
    spans: dict[str, list[float]] = {}
    for post_id, at in times.items():
        chain = [(stage, at[stage]) for stage in STAGES if stage in at]
        if post_id in seen_at:
            chain.append(("delivery", seen_at[post_id]))
        for (_, start), (stage, end) in zip(chain, chain[1:]):
            spans.setdefault(stage, []).append(1000 * (end - start))
    return {stage: {"n": len(values), **{f"p{q}": round(float(np.percentile(values, q)), 1) for q in (50, 95, 99)}}
            for stage, values in spans.items()}
