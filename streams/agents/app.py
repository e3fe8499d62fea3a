"""The faust app: topics, tables, one :class:`streams.runtime.Runtime`, and every agent registered on it.

::

    posts ──[triage]──► posts-urgent, posts-normal ──[classify and route, per lane]──► alerts ──[delivery]──► receivers
       └─ bad input ─► dlq   (keyed by author)                                └─► actions ──[clock]──► events, notices
                                                                               └─► digests, surge-counts ──[digests, surges]──► notices
    classified (dlq replays of the route stage) ──[route]──► the same

Records travel in their versioned wire form (:mod:`streams.core.wire`): the
record topics are raw bytes to faust, and each agent decodes what it reads.
Offsets are committed only after an agent has finished with a record
(:mod:`streams.kafka.acking`, :mod:`streams.kafka.patches`), so the pipeline is
at-least-once; stable post keys and alert ids absorb the duplicates a crash
can replay.
"""

from __future__ import annotations

from typing import Any

import faust

from sinks.limits import CircuitBreaker

from .. import metrics
from ..clock import Clock
from ..config import Settings
from ..core.policy import PolicyHolder
from ..kafka import patches
from ..kafka.security import faust_broker_kwargs
from ..kafka.topics import RECORD_TOPICS, SINGLE_PARTITION_TOPICS, TOPICS
from ..runtime import Runtime, Tables, Topics
from . import clock, delivery, digests, intake, route, surges, timer

__all__ = ["create_worker"]


def _topics(app: faust.App, settings: Settings) -> Topics:
    def topic(name: str, **options: Any) -> Any:
        if name in RECORD_TOPICS:
            options = {"key_type": str, "value_serializer": "raw", **options}
        return app.topic(settings.topic(name), **options)

    return Topics(
        posts=topic("posts", key_serializer="raw", value_serializer="raw"),
        posts_urgent=topic("posts-urgent"), posts_normal=topic("posts-normal"), classified=topic("classified"),
        alerts=topic("alerts"), events=topic("events"), dlq=topic("dlq"), shadow=topic("shadow"),
        corrections=topic("corrections"), actions=topic("actions"), notices=topic("notices"),
        surge_counts=topic("surge-counts", key_type=str, value_serializer="json"),
        redeliver=topic("redeliver", key_type=str, value_serializer="json"),
        silences=topic("silences", key_type=str, value_serializer="json", partitions=1),
        digests=topic("digests", key_type=str, value_serializer="json", partitions=1),
    )


def _tables(app: faust.App, settings: Settings) -> Tables:
    return Tables(
        seen=app.Table("seen-posts", partitions=settings.partitions),
        authors=app.Table("authors", partitions=settings.partitions),
        clocks=app.Table("clocks", partitions=settings.partitions),
        digest_buffers=app.Table("digest-buffers", partitions=1),
        surge_state=app.Table("surge-state", partitions=settings.partitions),
        deliveries=app.Table("deliveries", partitions=settings.partitions),
    )


def create_worker(
    settings: Settings,
    classifier: Any,
    sinks: dict[str, Any],
    shadow: Any | None = None,
    holder: PolicyHolder | None = None,
) -> Runtime:
    """Build the app around a loaded classifier (and optional shadow), the policy and sinks keyed by receiver
    name; ``runtime.app`` is the faust app to run."""
    patches.install(settings.topic_prefix, settings.fetch_max_wait_ms)
    app = faust.App(
        settings.app_id,
        **faust_broker_kwargs(settings),
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        store="memory://",
        # The check guards local table files (RocksDB) against a changelog emptied behind them; memory tables have
        # none. What it did catch here: the embedded Tansu broker reports a partition's end as its last batch's
        # base offset + 1, so a worker that had recovered a changelog ending in a multi-record batch crashed at
        # the next rebalance that left it the partition (tests/test_rebalance_recovery_e2e.py).
        recovery_consistency_check=False,
        datadir=str(settings.data_dir / "faust"),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        autodiscover=False,
        producer_acks=-1,
    )
    metrics.initialise(list(sinks), classifier.name, TOPICS + SINGLE_PARTITION_TOPICS)
    rt = Runtime(
        app=app, settings=settings, holder=holder or PolicyHolder(None), classifier=classifier, shadow=shadow,
        sinks=sinks, topics=_topics(app, settings), tables=_tables(app, settings),
        clock=Clock(settings.clock_offset_file),
        breaker=CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s),
    )
    intake.register(rt, route.register(rt))
    for module in (clock, digests, surges, timer, delivery):
        module.register(rt)
    from ..api import register_api

    register_api(rt)
    return rt
