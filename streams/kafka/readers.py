"""Readers outside the consumer group: a whole topic once (:func:`read_topic`), or the silences for ever.

:func:`read_topic` is for exports and checks (``pot corrections export``,
tests): kafka-python with assigned partitions, which works on Apache Kafka and
on the embedded broker alike (kafka-python's group consumer gets no
assignment from the latter).

:func:`follow_silences`: every worker reads the whole ``silences`` topic,
outside the consumer group, and keeps it in memory. Silences are few and must
be the same on every worker (any worker may route a post that one of them
matches), so each worker assigns itself every partition of the compacted
topic and reads it from the beginning, applying records in order; a record
whose value is an already-ended silence expires it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ..config import Settings
from ..core.silences import Silence

__all__ = ["apply_silence", "follow_silences", "read_topic"]

log = logging.getLogger(__name__)


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


async def follow_silences(settings: Settings, silences: dict[str, Silence], poll_ms: int = 500) -> None:
    """Keep ``silences`` (id → silence) equal to the topic; runs until cancelled, reconnecting on errors."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topic = settings.topic("silences")
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest",
            client_id="pot-silences",
        )
        try:
            await consumer.start()
            partitions = consumer.partitions_for_topic(topic) or {0}
            consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
            await consumer.seek_to_beginning()
            while True:
                batches = await consumer.getmany(timeout_ms=poll_ms)
                for records in batches.values():
                    for record in records:
                        apply_silence(silences, record.value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reading silences failed (%s); retrying in 5 s", type(exc).__name__)
            await asyncio.sleep(5)
        finally:
            await consumer.stop()


def apply_silence(silences: dict[str, Silence], value: bytes | None) -> None:
    """One record of the topic; a bad one is logged and skipped, since silences only ever suppress."""
    if value is None:
        return
    try:
        silence = Silence.model_validate(json.loads(value))
    except (ValueError, ValidationError) as exc:
        log.warning("ignoring an invalid silence record: %s", str(exc)[:200])
        return
    silences[silence.id] = silence
