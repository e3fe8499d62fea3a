"""The delivery agents: each alert and follow-up through its receivers' notify pipelines (:mod:`sinks.pipeline`).

::

    alerts, notices ──[deliver-alerts, deliver-notices]──► receivers (side by side)
                                      │ deferred ──► redeliver ──[redeliver]──► receivers
                                      └ gave up ──► dlq, event delivery_failed

The pipeline decides (dedup against the ``deliveries`` table, breaker, rate
limit, retry, defer or give up); this module only turns each final outcome
into records: a ``delivered`` event, a :class:`DeliveryItem` on
``redeliver``, or a dead letter with a ``delivery_failed`` event.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sinks.base import DeliveryError
from sinks.pipeline import Attempt, Outcome, Pipeline, for_receiver

from .. import metrics
from ..core.records import Alert, Notice, parse_instant
from ..core.steps import dead_letter
from ..core.vocabulary import DeliveryItem
from ..kafka.acking import each
from ..runtime import Runtime

__all__ = ["register"]

log = logging.getLogger(__name__)
_COUNTED = {"delivered": "delivered", "duplicate": "skipped_duplicate", "deferred": "deferred", "failed": "failed"}


def observe(receiver: str, outcome: Outcome, seconds: float) -> None:
    metrics.DELIVERIES.labels(receiver, _COUNTED[outcome.status]).inc()
    if outcome.status == "delivered":
        metrics.DELIVERY_SECONDS.labels(receiver).observe(seconds)


def register(rt: Runtime) -> None:
    app, settings = rt.app, rt.settings
    pipelines: dict[str, Pipeline] = {
        name: for_receiver(
            sink, log=rt.tables.deliveries, breaker=rt.breaker, observe=observe,
            inline_attempts=settings.delivery_inline_attempts, max_delay_s=settings.delivery_max_delay_s,
            max_attempts=settings.delivery_max_attempts, max_age_s=settings.delivery_max_age_s,
            clock=lambda: rt.now().timestamp(),
        )
        for name, sink in rt.sinks.items()
    }

    async def attempt(item: DeliveryItem, inline: bool) -> Outcome:
        pipeline, sink = pipelines.get(item.receiver), rt.sinks.get(item.receiver)
        if pipeline is None or sink is None:
            error = DeliveryError(f"no sink configured for receiver {item.receiver!r}", retryable=False)
            outcome = Outcome("failed", error=error, reason="permanent failure")
            observe(item.receiver, outcome, 0.0)
            return outcome
        return await pipeline(Attempt(
            item.receiver, sink, item.kind, item.payload, item.mark, item.first_at, item.attempts, inline,
        ))

    async def settle(item: DeliveryItem, key: str, outcome: Outcome) -> None:
        receiver, payload = item.receiver, item.payload
        tries = item.attempts + outcome.used
        if outcome.status == "delivered":
            assert outcome.result is not None
            if item.kind == "alert" and payload["post"].get("received_at"):
                seconds = (rt.now() - parse_instant(payload["post"]["received_at"])).total_seconds()
                metrics.POST_TO_ALERT.observe(max(0.0, seconds))
            if item.kind == "notice" and payload["kind"] == "digest":
                metrics.DIGESTS.labels(receiver).inc()
            await rt.emit(item.subject, "delivered", {"receiver": receiver, "message": payload.get("kind", "alert"),
                                                      "attempts": tries, "ref": outcome.result.ref})
        elif outcome.status == "deferred":
            error = str(outcome.error)[:300]
            later = DeliveryItem(**{**item.to_dict(), "attempts": tries, "error": error, "not_before": outcome.not_before})
            await rt.topics.redeliver.send(key=key, value=later.to_dict())
            await rt.emit(item.subject, "delivery_deferred", {"receiver": receiver, "attempts": tries, "error": error})
        elif outcome.status == "failed":
            age = rt.now().timestamp() - item.first_at
            await rt.dead_letter(dead_letter(
                "deliver", "delivery_failed",
                f"{receiver}: {outcome.reason} after {tries} attempt(s) over {age:.0f} s: {outcome.error}",
                json.dumps(payload, ensure_ascii=False).encode("utf-8"), rt.now(),
            ))
            await rt.emit(item.subject, "delivery_failed", {"receiver": receiver, "attempts": tries, "error": str(outcome.error)[:300]})

    async def fan_out(key: str, subject: str, kind: str, payload: dict[str, Any], receivers: list[str], mark_id: str) -> None:
        first_at = rt.now().timestamp()
        items = [DeliveryItem(receiver=r, mark=f"{mark_id}|{r}", subject=subject, kind=kind, payload=payload, first_at=first_at)
                 for r in dict.fromkeys(receivers)]
        outcomes = await asyncio.gather(*(attempt(item, inline=True) for item in items))
        for item, outcome in zip(items, outcomes, strict=True):
            await settle(item, key, outcome)

    @app.agent(rt.topics.alerts, name="deliver-alerts")
    async def deliver_alerts(stream: Any) -> None:
        for sink in rt.sinks.values():
            await sink.start()
        async for event in each(stream):
            alert = await rt.decode(Alert, event.value, "deliver", event.message)
            if alert is None:
                continue
            try:
                await fan_out(alert.alert_id, alert.alert_id, "alert", alert.to_wire(), alert.receivers, alert.alert_id)
            except Exception as exc:  # never a dead agent: the alert is kept whole in the dlq
                log.exception("delivering %s failed", alert.alert_id)
                await rt.dead_letter(dead_letter("deliver", "delivery_error", f"{type(exc).__name__}: {exc}", alert.dumps(), rt.now()))

    @app.agent(rt.topics.notices, name="deliver-notices")
    async def deliver_notices(stream: Any) -> None:
        async for event in each(stream):
            notice = await rt.decode(Notice, event.value, "deliver", event.message)
            if notice is None:
                continue
            subject = (notice.alert or {}).get("alert_id") or notice.notice_id
            try:
                await fan_out(event.key, subject, "notice", notice.to_wire(), notice.receivers, notice.notice_id)
            except Exception as exc:
                log.exception("delivering notice %s failed", notice.notice_id)
                await rt.dead_letter(dead_letter("deliver", "delivery_error", f"{type(exc).__name__}: {exc}", notice.dumps(), rt.now()))

    @app.agent(rt.topics.redeliver, name="redeliver")
    async def redeliver_agent(stream: Any) -> None:
        """Deferred deliveries, in order: wait out the item's backoff and the receiver's open circuit, try once more.

        Items deferred together become due together, so once a receiver is
        back its backlog drains without a pause per item."""
        async for event in each(stream):
            item = DeliveryItem.from_dict(event.value)
            if rt.tables.deliveries.get(item.mark) is not None:
                continue
            wait_s = (item.not_before or 0.0) - rt.now().timestamp()
            if wait_s > 0:
                await asyncio.sleep(min(wait_s, settings.delivery_max_delay_s))
            while not rt.breaker.ready(item.receiver):
                if rt.now().timestamp() - item.first_at >= settings.delivery_max_age_s:
                    break
                await asyncio.sleep(min(settings.breaker_reset_s, 1.0))
            outcome = await attempt(item, inline=False)
            try:
                await settle(item, event.key, outcome)
            except Exception as exc:  # a bug here must not lose the delivery: keep it whole in the dlq
                log.exception("redelivery bookkeeping failed")
                await rt.dead_letter(dead_letter(
                    "deliver", "delivery_failed", f"{item.receiver}: {type(exc).__name__}: {exc}",
                    json.dumps(item.to_dict(), ensure_ascii=False, default=str).encode("utf-8"), rt.now(),
                ))
