"""Readers outside the consumer group: a whole topic once (:func:`read_records`, :func:`read_topic`), or the
silences for ever.

The one-off readers are kafka-python with every partition assigned and read
from the beginning, which works on Apache Kafka and on the embedded broker
alike (kafka-python's group consumer gets no assignment from the latter).
:func:`read_records` reads up to the end offsets seen at start, so it is exact
(``pot report``, ``pot dlq``, the connectors' cursors); :func:`read_topic`
stops once nothing new came for a while (``pot corrections export``, tests).

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
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from pydantic import ValidationError

from ..config import Settings
from ..core.silences import Silence
from .security import aiokafka_kwargs

__all__ = ["StoredRecord", "apply_silence", "follow_silences", "read_records", "read_topic"]

log = logging.getLogger(__name__)


@contextmanager
def _from_beginning(kafka: Mapping[str, Any], topic: str, **config: Any) -> Iterator[tuple[Any, list[Any]]]:
    """A kafka-python consumer outside any group with every partition of ``topic`` assigned at its beginning,
    and those partitions (none when the topic is missing); closed on leaving."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka, enable_auto_commit=False, group_id=None, **config)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if partitions:
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
        yield consumer, partitions
    finally:
        consumer.close()


def read_topic(
    bootstrap_servers: str | Sequence[str], topic: str, timeout_s: float = 5.0, security: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every record's JSON value, partition by partition; stops after ``timeout_s`` with nothing new.

    ``security``: :func:`streams.kafka.security.kafka_python_kwargs` (its servers are replaced)."""
    kafka = {**(security or {}), "bootstrap_servers": bootstrap_servers}
    with _from_beginning(kafka, topic, consumer_timeout_ms=int(timeout_s * 1000)) as (consumer, _):
        return [json.loads(message.value) for message in consumer]


class StoredRecord(NamedTuple):
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


def read_records(
    security: Mapping[str, Any], topic: str, follow: bool = False, timeout_s: float = 30.0, client_id: str = "pot-reader",
) -> Iterator[StoredRecord]:
    """Every record of ``topic`` up to the end offsets seen at the start (exact, not timeout-based), then,
    with ``follow``, new ones as they come. ``security`` is :func:`streams.kafka.security.kafka_python_kwargs`.

    Raises ``TimeoutError`` when the topic cannot be read to its end within ``timeout_s``."""
    with _from_beginning(security, topic, client_id=client_id) as (consumer, partitions):
        if not partitions:
            return
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while follow or any(consumer.position(tp) < ends[tp] for tp in partitions):
            if not follow and time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout_s:g} s")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    yield StoredRecord(tp.partition, record.offset, record.key, record.value, record.timestamp)


async def follow_silences(settings: Settings, silences: dict[str, Silence], poll_ms: int = 500) -> None:
    """Keep ``silences`` (id → silence) equal to the topic; runs until cancelled, reconnecting on errors."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topic = settings.topic("silences")
    while True:
        consumer = AIOKafkaConsumer(
            **aiokafka_kwargs(settings), enable_auto_commit=False, auto_offset_reset="earliest", client_id="pot-silences",
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
