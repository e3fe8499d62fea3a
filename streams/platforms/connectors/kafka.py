"""The Kafka side of connectors: posts to the posts topic, dead letters to the dlq, cursors in a compacted topic.

kafka-python throughout; the cursor topic is read back whole with :func:`streams.kafka.readers.read_records`
(no consumer group, up to the end offsets taken when reading starts, so loading is exact, not timeout-based).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

CURSOR_TOPIC = "connector-cursors"


def ensure_cursor_topic(
    bootstrap: Sequence[str], name: str, replication: int = 1, security: Mapping[str, Any] | None = None,
) -> bool:
    """Create the compacted cursor topic when missing; True when created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**{**(security or {}), "bootstrap_servers": list(bootstrap)}, client_id="pot-connect-admin")
    try:
        if name in set(admin.list_topics()):
            return False
        try:
            admin.create_topics([NewTopic(name, 1, replication, topic_configs={"cleanup.policy": "compact"})])
        except TopicAlreadyExistsError:
            return False
        return True
    finally:
        admin.close()


def read_latest(
    bootstrap: Sequence[str], topic: str, timeout_s: float = 10.0, security: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The last value of every key in ``topic`` (a tombstone removes the key)."""
    from ...kafka.readers import read_records

    latest: dict[str, dict[str, Any]] = {}
    kafka = {**(security or {}), "bootstrap_servers": list(bootstrap)}
    for record in read_records(kafka, topic, timeout_s=timeout_s, client_id="pot-connect-cursors"):
        key = record.key.decode("utf-8") if record.key else ""
        if record.value is None:
            latest.pop(key, None)
        else:
            latest[key] = json.loads(record.value)
    return latest


class KafkaSide:
    """Publisher and cursor store on one kafka-python producer (acks=all)."""

    def __init__(
        self, bootstrap: Sequence[str], posts_topic: str, dlq_topic: str, cursor_topic: str,
        security: Mapping[str, Any] | None = None,
    ) -> None:
        from kafka import KafkaProducer

        self.posts_topic, self.dlq_topic, self.cursor_topic = posts_topic, dlq_topic, cursor_topic
        self.producer = KafkaProducer(**{**(security or {}), "bootstrap_servers": list(bootstrap)}, acks="all", linger_ms=5,
                                      client_id="pot-connect", max_block_ms=30_000)
        self.cursors = read_latest(bootstrap, cursor_topic, security=security)

    async def _confirm(self, futures: list[Any]) -> None:
        def wait() -> None:
            self.producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=30)  # raises the send's error, if any

        await asyncio.to_thread(wait)

    async def publish(self, records: list[tuple[str, bytes]]) -> None:
        await self._confirm([self.producer.send(self.posts_topic, key=k.encode(), value=v) for k, v in records])

    async def dead_letter(self, code: str, record: bytes) -> None:
        await self._confirm([self.producer.send(self.dlq_topic, key=code.encode(), value=record)])

    def load(self, key: str) -> dict[str, Any] | None:
        return self.cursors.get(key)

    async def save(self, key: str, value: dict[str, Any]) -> None:
        if self.cursors.get(key) == value:
            return
        self.cursors[key] = dict(value)
        await self._confirm([self.producer.send(self.cursor_topic, key=key.encode(), value=json.dumps(value).encode())])

    def close(self) -> None:
        self.producer.close(timeout=5)
