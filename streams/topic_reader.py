"""Read a whole topic from its beginning, without joining a consumer group.

For exports and checks (``pot corrections export``, tests): kafka-python with
assigned partitions, which works on Apache Kafka and on the embedded broker
alike (kafka-python's group consumer gets no assignment from the latter).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def read_topic(bootstrap_servers: str | Sequence[str], topic: str, timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """Every record's JSON value, partition by partition; stops after ``timeout_s`` with nothing new."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, consumer_timeout_ms=int(timeout_s * 1000)
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [json.loads(message.value) for message in consumer]
    finally:
        consumer.close()
