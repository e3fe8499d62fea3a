"""The SLA clock of one alert, as pure functions over its state (a :class:`ClockState`; a plain dict in the
changelog-backed ``clocks`` table).

An alert is ``open`` until someone acknowledges it, then ``acknowledged``
until someone resolves it. While it is open, its steps come due in time:
a ``warning`` when the policy's share of the window has passed, the
``breach`` at the deadline, ``escalation:N`` at each level's delay, and
``reminder:N`` every interval. Acknowledging stops them all.

The worker's timer only *proposes* steps (:func:`due_steps`); the agent that
owns the alert's partition applies them (:func:`apply`), recording each step
in ``fired``. A step proposed twice (two timer ticks, a standby copy, a
replay after a restart) is therefore applied once, which is what lets the
clock survive restarts without firing a warning twice.

>>> clock = ClockState(alert_id="al-1", state="open", label="complaint", priority="P2", raised_at=0.0,
...                    warn_at=2700.0, deadline=3600.0, receivers=["slack"])
>>> due_steps(clock, now=2800.0)
['warning']
>>> clock, outcome = apply(clock, {"kind": "fire", "step": "warning"}, now=2800.0)
>>> outcome.status, due_steps(clock, now=2900.0)
('warning', [])
>>> clock, outcome = apply(clock, {"kind": "ack", "actor": "ana"}, now=2950.0)
>>> outcome.status, due_steps(clock, now=4000.0)
('acknowledged', [])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .routing import add_seconds, human_duration
from .vocabulary import ClockState

__all__ = ["ACK_ANSWERS", "STEP_KINDS", "ClockState", "Outcome", "apply", "due_steps", "view"]

ACK_ANSWERS = ("acknowledged", "already_acknowledged", "already_resolved", "unknown")
STEP_KINDS = ("warning", "breach", "escalation", "reminder")


@dataclass(frozen=True)
class Outcome:
    """What applying an action did: ``status`` for the caller, and the event and notice to emit, if any."""

    status: str
    event: dict[str, Any] | None = None
    notice: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def due_steps(clock: ClockState, now: float) -> list[str]:
    """The steps of an open alert whose time has come and that have not fired yet, in order."""
    if clock.state != "open":
        return []
    fired = set(clock.fired)
    steps: list[str] = []
    if "warning" not in fired and clock.warn_at <= now < clock.deadline:
        steps.append("warning")
    if "breach" not in fired and clock.deadline <= now:
        steps.append("breach")
    for level in clock.escalation:
        step = f"escalation:{level['level']}"
        if step not in fired and level["at"] <= now:
            steps.append(step)
    nxt = clock.next_reminder_at
    if nxt is not None and nxt <= now:
        steps.append(f"reminder:{clock.reminders_sent + 1}")
    return steps


def _left(clock: ClockState, now: float) -> str:
    delta = int(clock.deadline - now)
    if delta >= 0:
        return f"{human_duration(max(60, delta // 60 * 60))} left"
    return f"{human_duration(max(60, -delta // 60 * 60))} overdue"


def _informed(clock: ClockState) -> list[str]:
    """Everyone who has heard of the alert: its receivers and the escalation levels that fired."""
    names = list(clock.receivers)
    fired = set(clock.fired)
    for level in clock.escalation:
        if f"escalation:{level['level']}" in fired:
            names += [r for r in level["receivers"] if r not in names]
    return names


def _fire(clock: ClockState, step: str, now: float) -> tuple[ClockState, Outcome]:
    if step not in due_steps(clock, now):
        return clock, Outcome("not_due")
    new = replace(clock, fired=[*clock.fired, step])
    kind, _, n = step.partition(":")
    window = human_duration(max(60, int(clock.deadline - clock.raised_at) // 60 * 60))
    receivers = list(clock.receivers)
    detail: dict[str, Any] = {"step": step, "label": clock.label, "priority": clock.priority}
    if kind == "warning":
        summary = f"no one has acknowledged this {clock.label} yet: {_left(clock, now)} in its window"
    elif kind == "breach":
        summary = f"window closed: this {clock.label} was not acknowledged by its deadline"
    elif kind == "escalation":
        level = next(lv for lv in clock.escalation if lv["level"] == int(n))
        receivers = list(level["receivers"])
        detail["level"] = int(n)
        summary = f"escalated (level {n}): still unacknowledged, {_left(clock, now)}"
    else:
        interval = clock.remind_every_s
        nxt = clock.next_reminder_at
        assert interval is not None and nxt is not None
        while nxt <= now:
            nxt = add_seconds(clock.calendar, nxt, interval)
        new = replace(new, reminders_sent=int(n), next_reminder_at=nxt)
        summary = f"reminder {n}: still unacknowledged, {_left(clock, now)}"
    detail["window"] = window
    notice = {"kind": kind, "step": step, "receivers": receivers, "summary": summary, "detail": detail}
    return new, Outcome(kind, event={"kind": kind, "detail": detail}, notice=notice)


def apply(clock: ClockState | None, action: dict[str, Any], now: float) -> tuple[ClockState | None, Outcome]:
    """The new state and what happened, for ``open``, ``ack``, ``resolve``, ``fire`` or ``forget`` (drop a
    resolved alert's state once it is older than the retention). Idempotent. ``open`` carries the plan in
    ``action["clock"]`` (a :class:`ClockState`)."""
    kind = action["kind"]
    actor = action.get("actor") or "unknown"
    if kind == "open":
        if clock is not None:
            return clock, Outcome("already_open")
        return replace(action["clock"]), Outcome("opened")
    if clock is None:
        return None, Outcome("unknown")
    if kind == "fire":
        return _fire(clock, action["step"], now)
    if kind == "forget":
        return (None, Outcome("forgotten")) if clock.state == "resolved" else (clock, Outcome("not_resolved"))
    if clock.state == "resolved":
        return clock, Outcome("already_resolved", detail={"by": clock.resolved_by, "at": clock.resolved_at})
    if kind == "ack":
        if clock.state == "acknowledged":
            return clock, Outcome("already_acknowledged", detail={"by": clock.acked_by, "at": clock.acked_at})
        new = replace(clock, state="acknowledged", acked_by=actor, acked_at=now)
        summary = f"acknowledged by {actor} ({_left(clock, now)})"
        detail = {"seconds_to_ack": now - clock.raised_at, "within_window": now <= clock.deadline}
        return new, Outcome(
            "acknowledged", event={"kind": "acknowledged", "detail": detail},
            notice={"kind": "acknowledged", "step": "acknowledged", "receivers": _informed(clock), "summary": summary, "detail": detail},
            detail=detail,
        )
    if kind == "resolve":
        evidence = (action.get("detail") or {}).get("evidence")
        new = replace(clock, state="resolved", resolved_by=actor, resolved_at=now)
        if clock.state == "open":
            new = replace(new, acked_by=actor, acked_at=now)
        summary = f"resolved by {actor}" + (" (a reply from the brand was seen in the stream)" if evidence else "")
        detail = {
            "seconds_to_resolve": now - clock.raised_at,
            "within_window": now <= clock.deadline,
            "was": clock.state,
        }
        if evidence:
            detail["evidence"] = evidence
        return new, Outcome(
            "resolved", event={"kind": "resolved", "detail": detail},
            notice={"kind": "resolved", "step": "resolved", "receivers": _informed(clock), "summary": summary, "detail": detail},
            detail=detail,
        )
    raise ValueError(f"unknown action kind {kind!r}")


def view(clock: ClockState, now: float) -> dict[str, Any]:
    """An alert's state as ``GET /alerts`` shows it: times as seconds left, not raw epochs."""
    return {
        "alert_id": clock.alert_id,
        "state": clock.state,
        "label": clock.label,
        "priority": clock.priority,
        "seconds_left": round(clock.deadline - now),
        "deadline": clock.deadline,
        "acked_by": clock.acked_by,
        "fired": clock.fired,
        "text": (clock.text or "")[:200],
        "receivers": clock.receivers,
    }
