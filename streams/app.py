"""The faust app: topics, tables and three thin agents.

::

    posts ──[validate, classify in micro-batches]──► classified ──[dedupe, route]──► alerts ──[deliver]──► sinks
       └─ bad input ─► dlq                                                                   └─ gave up ─► dlq

Offsets are committed only after an agent has finished with a record (faust
acks a ``take`` batch after the loop body returns, and flushes the producer
before every commit), so the pipeline is at-least-once; stable post keys and
alert ids absorb the duplicates that a crash can replay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import faust

from classifiers.base import Classifier

from . import metrics
from .config import Settings
from .dedupe import is_duplicate, remember
from .fetchwait import bound_fetch_wait
from .pipeline import dead_letter, disagreements, to_classified, validate_batch
from .records import Alert, Classified, Correction, DeadLetter, Event, ShadowDisagreement, isoformat, parse_instant
from .routing import RoutingPolicy, route

log = logging.getLogger(__name__)

TOPICS = ("posts", "classified", "alerts", "events", "dlq", "shadow", "corrections")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(
    settings: Settings, classifier: Classifier, sinks: dict[str, Any], shadow: Classifier | None = None
) -> faust.App:
    """Build the app around a loaded classifier (and optional shadow) and sinks keyed by receiver name."""
    bound_fetch_wait(settings.fetch_max_wait_ms)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        autodiscover=False,
        producer_acks=-1,
    )
    posts = app.topic(settings.topic("posts"), key_serializer="raw", value_serializer="raw")
    classified = app.topic(settings.topic("classified"), key_type=str, value_type=Classified)
    alerts = app.topic(settings.topic("alerts"), key_type=str, value_type=Alert)
    events = app.topic(settings.topic("events"), key_type=str, value_type=Event)
    dlq = app.topic(settings.topic("dlq"), key_type=str, value_type=DeadLetter)
    shadow_topic = app.topic(settings.topic("shadow"), key_type=str, value_type=ShadowDisagreement)
    corrections = app.topic(settings.topic("corrections"), key_type=str, value_type=Correction)
    seen = app.Table("seen-posts", partitions=settings.partitions)
    delivered = app.Table("deliveries", partitions=settings.partitions)
    policy = RoutingPolicy(
        windows_s=dict(settings.windows_s),
        receivers=tuple(settings.receivers),
        uncertain_below=settings.uncertain_below,
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")
    metrics.initialise(list(sinks), classifier.name)

    app.pot_classifier = classifier  # type: ignore[attr-defined]
    app.pot_posts_topic = posts  # type: ignore[attr-defined]
    app.pot_dlq = dlq  # type: ignore[attr-defined]
    app.pot_corrections = corrections  # type: ignore[attr-defined]

    async def send_dead_letter(record: DeadLetter) -> None:
        metrics.DEAD_LETTERS.labels(record.stage).inc()
        log.warning("dead letter (%s, %s): %s", record.stage, record.reason_code, record.reason[:200])
        await dlq.send(key=record.reason_code, value=record)

    async def emit(alert_id: str, kind: str, detail: dict[str, Any], actor: str = "monitor") -> None:
        await events.send(key=alert_id, value=Event(alert_id=alert_id, kind=kind, at=isoformat(_now()), actor=actor, detail=detail))

    @app.agent(posts, name="classify-posts")
    async def classify_posts(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for batch in stream.take_events(settings.batch_size, within=settings.batch_wait_s):
            messages = [event.message for event in batch]
            metrics.POSTS_RECEIVED.labels("kafka").inc(len(batch))
            valid, rejected = validate_batch(
                [event.value for event in batch], [m.timestamp for m in messages], settings.max_post_bytes
            )
            for index, bad in rejected:
                metrics.POSTS_REJECTED.labels(bad.code).inc()
                msg = messages[index]
                await send_dead_letter(
                    dead_letter("validate", bad.code, bad.reason, bad.raw, _now(), msg.topic, msg.partition, msg.offset)
                )
            if not valid:
                continue
            started = time.perf_counter()
            try:
                predictions = await loop.run_in_executor(executor, classifier.predict, [p.text for p in valid])
            except Exception as exc:  # a broken model must not lose posts: they go to the dlq whole
                log.exception("classifier failed on a batch of %d", len(valid))
                for post in valid:
                    await send_dead_letter(
                        dead_letter("classify", "classifier_error", f"{type(exc).__name__}: {exc}", post.dumps(), _now())
                    )
                continue
            metrics.CLASSIFY_SECONDS.observe(time.perf_counter() - started)
            metrics.CLASSIFY_BATCH.observe(len(valid))
            for post, prediction in zip(valid, predictions):
                metrics.CLASSIFIED.labels(prediction.label, classifier.name).inc()
                await classified.send(key=post.key, value=to_classified(post, prediction, classifier.name, classifier.version))
            if shadow is not None:
                await compare_with_shadow(loop, valid, predictions)

    async def compare_with_shadow(loop: asyncio.AbstractEventLoop, valid: list[Any], predictions: list[Any]) -> None:
        """Run the shadow on the same batch; its failures are counted and never touch the primary path."""
        assert shadow is not None
        try:
            shadow_predictions = await loop.run_in_executor(executor, shadow.predict, [p.text for p in valid])
        except Exception:
            log.exception("shadow classifier %s failed on a batch of %d", shadow.name, len(valid))
            metrics.SHADOW_ERRORS.inc()
            return
        metrics.SHADOW_COMPARED.inc(len(valid))
        for record in disagreements(valid, predictions, shadow_predictions, classifier.name, shadow.name, _now()):
            metrics.SHADOW_DISAGREEMENTS.labels(record.primary_label, record.shadow_label).inc()
            await shadow_topic.send(key=record.post_key, value=record)

    @app.agent(classified, name="route-posts")
    async def route_posts(stream: Any) -> None:
        async for event in stream.events():
            item = event.value
            try:
                now = _now()
                key = item.post.key
                origin = f"{event.message.partition}:{event.message.offset}"
                previous = seen.get(key)
                if is_duplicate(previous, origin, now.timestamp(), settings.dedupe_retention_s):
                    metrics.DUPLICATES.inc()
                    continue
                if previous is None or previous.get("origin") != origin:
                    seen[key] = remember(origin, now.timestamp())
                alert = route(item.post, item.classification, policy, now)
                if alert is None:
                    metrics.NOT_ALERTED.inc()
                    continue
                metrics.ALERTS.labels(alert.classification.label, alert.priority).inc()
                await alerts.send(key=alert.alert_id, value=alert)
                await emit(alert.alert_id, "raised", {"label": alert.classification.label, "priority": alert.priority, "deadline": alert.deadline})
            except Exception as exc:
                log.exception("routing failed")
                await send_dead_letter(dead_letter("route", "route_error", f"{type(exc).__name__}: {exc}", item.dumps(), _now()))

    @app.agent(alerts, name="deliver-alerts")
    async def deliver_alerts(stream: Any) -> None:
        from sinks.base import DeliveryError
        from sinks.notify import deliver_with_retry

        for sink in sinks.values():
            await sink.start()
        async for alert in stream:
            payload = json.loads(alert.dumps())
            for receiver in alert.receivers:
                mark = f"{alert.alert_id}|{receiver}"
                if delivered.get(mark) is not None:
                    metrics.DELIVERIES.labels(receiver, "skipped_duplicate").inc()
                    continue
                sink = sinks.get(receiver)
                try:
                    if sink is None:
                        raise DeliveryError(f"no sink configured for receiver {receiver!r}", retryable=False)
                    result, attempts = await deliver_with_retry(sink, payload)
                except Exception as exc:  # a sink's bug is a failed delivery, not a dead worker
                    metrics.DELIVERIES.labels(receiver, "failed").inc()
                    await send_dead_letter(dead_letter("deliver", "delivery_failed", f"{receiver}: {exc}", alert.dumps(), _now()))
                    await emit(alert.alert_id, "delivery_failed", {"receiver": receiver, "error": str(exc)})
                    continue
                delivered[mark] = result.ref or "ok"
                metrics.DELIVERIES.labels(receiver, "delivered").inc()
                if alert.post.received_at:
                    metrics.POST_TO_ALERT.observe(max(0.0, (_now() - parse_instant(alert.post.received_at)).total_seconds()))
                await emit(alert.alert_id, "delivered", {"receiver": receiver, "attempts": attempts})

    from .api import register_api

    register_api(app, settings, posts)
    return app
