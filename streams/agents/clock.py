"""The SLA clock agent: each action (open, ack, resolve, fire, forget) through
:func:`streams.core.handling.clock_step`, on the partition that owns the alert.

::

    actions ──[sla-clock]──► clocks table, events, notices (follow-ups for the receivers)
"""

from __future__ import annotations

import logging
from typing import Any

from .. import metrics
from ..core import sla
from ..core.handling import ClockStep, clock_step
from ..core.records import Action
from ..core.steps import dead_letter
from ..core.vocabulary import ClockState
from ..kafka.acking import each
from ..runtime import Runtime

__all__ = ["register", "stored_clock"]

log = logging.getLogger(__name__)


def stored_clock(value: Any) -> ClockState | None:
    """A clocks-table value as a :class:`ClockState` (``None`` for a missing or deleted one)."""
    return ClockState.from_dict(value) if isinstance(value, dict) else None


def register(rt: Runtime) -> None:
    clocks = rt.tables.clocks

    @rt.app.agent(rt.topics.actions, name="sla-clock")
    async def sla_clock(stream: Any) -> None:
        async for event in each(stream):
            try:
                action = await rt.decode(Action, event.value, "clock", event.message)
                if action is not None:
                    await apply_action(action, event.message.partition)
            except Exception as exc:
                log.exception("clock action failed")
                raw = event.value if isinstance(event.value, bytes) else b""
                await rt.dead_letter(dead_letter("clock", "clock_error", f"{type(exc).__name__}: {exc}", raw, rt.now()))

    async def apply_action(action: Action, partition: int) -> None:
        now = rt.now()
        old = stored_clock(clocks.get(action.alert_id))
        step = clock_step(action, old, partition, now)
        if step.forget:
            del clocks[action.alert_id]
            return
        if step.new is not None and step.new is not old:
            clocks[action.alert_id] = step.new.to_dict()
        status = step.outcome.status
        if status in ("unknown", "already_acknowledged", "already_resolved") and action.kind in ("ack", "resolve"):
            log.info("%s of %s by %s: %s", action.kind, action.alert_id, action.actor, status)
        count(step, old, now.timestamp())
        await rt.send_all(step.sends)


def count(step: ClockStep, old: ClockState | None, now: float) -> None:
    """The clock's metrics: steps fired, time to acknowledge and to resolve, acknowledged in time."""
    new, outcome = step.new, step.outcome
    if outcome.event is None or new is None:
        return
    label, priority, kind = new.label, new.priority, outcome.event["kind"]
    if kind in sla.STEP_KINDS:
        metrics.SLA_STEPS.labels(kind, label).inc()
    if kind == "acknowledged" or (kind == "resolved" and old and old.state == "open"):
        metrics.TIME_TO_ACK.labels(label, priority).observe(max(0.0, now - new.raised_at))
        metrics.ACKED.labels(label, "true" if now <= new.deadline else "false").inc()
    if kind == "resolved":
        metrics.TIME_TO_RESOLVE.labels(label, priority).observe(max(0.0, now - new.raised_at))
        if outcome.detail.get("evidence"):
            metrics.AUTO_RESOLVED.inc()
