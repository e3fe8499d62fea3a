"""The notify pipeline's Kafka side: deliver alerts and follow-ups to receivers, once each, without one
receiver holding up the others.

Stages, as in Alertmanager's notifier: **dedup** (the ``deliveries`` table,
keyed by alert or notice id and receiver, records what was sent and the
receiver's reference to it, e.g. Slack's ``ts``), **breaker** (a receiver
that keeps failing is skipped at once instead of timing out for every alert),
**retry** (:func:`sinks.notify.deliver_with_retry`: backoff, jitter,
``Retry-After``), and **defer**: a delivery that still fails with a retryable
error, or whose receiver's circuit is open, goes to the ``redeliver`` topic
and is tried again there, while the main stream moves on. After
``delivery_max_attempts`` tries or ``delivery_max_age_s`` it goes to the
dead-letter topic and an event says so. Receivers of one message are
delivered side by side.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from sinks.base import Delivered, DeliveryError
from sinks.limits import CircuitBreaker
from sinks.notify import deliver_with_retry

from . import metrics
from .acking import each
from .config import Settings
from .pipeline import dead_letter
from .records import Alert, DeadLetter, Notice, parse_instant

log = logging.getLogger(__name__)

Emit = Callable[..., Awaitable[None]]


class _FollowUp:
    """Adapts a sink's ``follow_up`` to the retry stage, which calls ``deliver``."""

    def __init__(self, sink: Any, ref: str | None) -> None:
        self.sink, self.ref = sink, ref

    async def deliver(self, notice: dict[str, Any]) -> Delivered:
        return await self.sink.follow_up(notice, self.ref)


def register_delivery(
    app: faust.App,
    settings: Settings,
    sinks: dict[str, Any],
    alerts: faust.TopicT,
    notices: faust.TopicT,
    emit: Emit,
    send_dead_letter: Callable[[DeadLetter], Awaitable[None]],
    now: Callable[[], Any],
) -> None:
    redeliver = app.topic(settings.topic("redeliver"), key_type=str, value_serializer="json")
    delivered = app.Table("deliveries", partitions=settings.partitions)
    breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s)

    def ref_for(alert_id: str | None, receiver: str) -> str | None:
        ref = delivered.get(f"{alert_id}|{receiver}") if alert_id else None
        return None if ref in (None, "ok") else ref

    async def attempt(item: dict[str, Any], attempts: int, inline: bool) -> tuple[Delivered | None, int, BaseException | None, bool]:
        """(result, attempts used, error, worth trying later)."""
        receiver = item["receiver"]
        sink = sinks.get(receiver)
        if sink is None:
            return None, 0, DeliveryError(f"no sink configured for receiver {receiver!r}", retryable=False), False
        if not breaker.allow(receiver):
            metrics.DELIVERIES.labels(receiver, "deferred").inc()
            return None, 0, DeliveryError(f"{receiver}: circuit open after repeated failures", retryable=True), True
        target = sink if item["kind"] == "alert" else _FollowUp(sink, ref_for((item["payload"].get("alert") or {}).get("alert_id"), receiver))
        started = time.perf_counter()
        try:
            result, used = await deliver_with_retry(
                target, item["payload"], attempts=settings.delivery_inline_attempts if inline else 1,
                max_delay_s=settings.delivery_max_delay_s,
            )
        except DeliveryError as exc:
            if exc.retryable:
                breaker.record_failure(receiver)
            return None, settings.delivery_inline_attempts if inline else 1, exc, exc.retryable
        except Exception as exc:  # a sink's bug is a failed delivery, not a dead worker
            log.exception("sink %s raised", receiver)
            return None, attempts, exc, False
        breaker.record_success(receiver)
        metrics.DELIVERY_SECONDS.labels(receiver).observe(time.perf_counter() - started)
        return result, used, None, False

    async def settle(item: dict[str, Any], key: str, result: Delivered | None, used: int, error: BaseException | None,
                     later: bool) -> None:
        receiver, mark, subject = item["receiver"], item["mark"], item["subject"]
        if result is not None:
            delivered[mark] = result.ref or "ok"
            metrics.DELIVERIES.labels(receiver, "delivered").inc()
            if item["kind"] == "alert" and item["payload"]["post"].get("received_at"):
                seconds = (now() - parse_instant(item["payload"]["post"]["received_at"])).total_seconds()
                metrics.POST_TO_ALERT.observe(max(0.0, seconds))
            if item["kind"] == "notice" and item["payload"]["kind"] == "digest":
                metrics.DIGESTS.labels(receiver).inc()
            await emit(subject, "delivered", {"receiver": receiver, "message": item["payload"].get("kind", "alert"),
                                              "attempts": item["attempts"] + used, "ref": result.ref})
            return
        age = now().timestamp() - item["first_at"]
        tries = item["attempts"] + used
        if later and tries < settings.delivery_max_attempts and age < settings.delivery_max_age_s:
            backoff = min(settings.delivery_max_delay_s, 0.5 * 2 ** min(tries, 8))
            await redeliver.send(key=key, value={
                **item, "attempts": tries, "error": str(error)[:300], "not_before": now().timestamp() + backoff,
            })
            await emit(subject, "delivery_deferred", {"receiver": receiver, "attempts": tries, "error": str(error)[:300]})
            return
        metrics.DELIVERIES.labels(receiver, "failed").inc()
        why = "gave up" if later else "permanent failure"
        await send_dead_letter(dead_letter(
            "deliver", "delivery_failed", f"{receiver}: {why} after {tries} attempt(s) over {age:.0f} s: {error}",
            json.dumps(item["payload"], ensure_ascii=False).encode("utf-8"), now(),
        ))
        await emit(subject, "delivery_failed", {"receiver": receiver, "attempts": tries, "error": str(error)[:300]})

    async def fan_out(key: str, subject: str, kind: str, payload: dict[str, Any], receivers: list[str], mark_of: Callable[[str], str]) -> None:
        items = []
        for receiver in dict.fromkeys(receivers):
            mark = mark_of(receiver)
            if delivered.get(mark) is not None:
                metrics.DELIVERIES.labels(receiver, "skipped_duplicate").inc()
                continue
            items.append({"receiver": receiver, "mark": mark, "subject": subject, "kind": kind, "payload": payload,
                          "attempts": 0, "first_at": now().timestamp()})
        outcomes = await asyncio.gather(*(attempt(item, 0, inline=True) for item in items))
        for item, (result, used, error, later) in zip(items, outcomes, strict=True):
            await settle(item, key, result, used, error, later)

    @app.agent(alerts, name="deliver-alerts")
    async def deliver_alerts(stream: Any) -> None:
        for sink in sinks.values():
            await sink.start()
        async for event in each(stream):
            alert: Alert = event.value
            try:
                await fan_out(alert.alert_id, alert.alert_id, "alert", json.loads(alert.dumps()), alert.receivers,
                              lambda r, a=alert: f"{a.alert_id}|{r}")
            except Exception as exc:  # never a dead agent: the alert is kept whole in the dlq
                log.exception("delivering %s failed", alert.alert_id)
                await send_dead_letter(dead_letter("deliver", "delivery_error", f"{type(exc).__name__}: {exc}", alert.dumps(), now()))

    @app.agent(notices, name="deliver-notices")
    async def deliver_notices(stream: Any) -> None:
        async for event in each(stream):
            notice: Notice = event.value
            subject = (notice.alert or {}).get("alert_id") or notice.notice_id
            try:
                await fan_out(event.key, subject, "notice", json.loads(notice.dumps()), notice.receivers,
                              lambda r, n=notice: f"{n.notice_id}|{r}")
            except Exception as exc:
                log.exception("delivering notice %s failed", notice.notice_id)
                await send_dead_letter(dead_letter("deliver", "delivery_error", f"{type(exc).__name__}: {exc}", notice.dumps(), now()))

    @app.agent(redeliver, name="redeliver")
    async def redeliver_agent(stream: Any) -> None:
        """Deferred deliveries, in order: wait out the item's backoff and the receiver's open circuit, try once more.

        Items deferred together become due together, so once a receiver is
        back its backlog drains without a pause per item."""
        async for event in each(stream):
            item = event.value
            if delivered.get(item["mark"]) is not None:
                continue
            wait_s = item.get("not_before", 0.0) - now().timestamp()
            if wait_s > 0:
                await asyncio.sleep(min(wait_s, settings.delivery_max_delay_s))
            while not breaker.ready(item["receiver"]):
                if now().timestamp() - item["first_at"] >= settings.delivery_max_age_s:
                    break
                await asyncio.sleep(min(settings.breaker_reset_s, 1.0))
            result, used, error, later = await attempt(item, item["attempts"], inline=False)
            try:
                await settle(item, event.key, result, used, error, later)
            except Exception as exc:  # a bug here must not lose the delivery: keep it whole in the dlq
                log.exception("redelivery bookkeeping failed")
                await send_dead_letter(dead_letter(
                    "deliver", "delivery_failed", f"{item['receiver']}: {type(exc).__name__}: {exc}",
                    json.dumps(item, ensure_ascii=False, default=str).encode("utf-8"), now(),
                ))

    app.pot_delivered = delivered  # type: ignore[attr-defined]
    app.pot_breaker = breaker  # type: ignore[attr-defined]
