"""Bound how long the worker's Kafka fetches wait for data.

faust-streaming 0.15.3 creates its aiokafka consumer with ``fetch_max_wait_ms=1500``
written into the code. Apache Kafka answers a waiting fetch as soon as data
arrives, but the embedded Tansu broker holds it for the whole wait, which put
about 0.75 s on average (up to 1.5 s) between a post's arrival and its
classification. This sets the wait on the consumer faust creates, before it
starts; faust is pinned (pyproject) because this reaches into its consumer
thread.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

_original = faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer


def bound_fetch_wait(max_wait_ms: int) -> None:
    """Make every worker consumer created from now on wait at most ``max_wait_ms`` for data."""

    def create(self: Any, transport: Any) -> Any:
        consumer = _original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]
