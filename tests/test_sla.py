"""The SLA clock as pure functions: steps come due once each, acks stop them, actions are idempotent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.core import sla


def clock(**overrides):
    base = {
        "alert_id": "al-1", "state": "open", "label": "complaint", "priority": "P2", "raised_at": 0.0,
        "warn_at": 2700.0, "deadline": 3600.0, "calendar": None,
        "escalation": [{"level": 1, "at": 1800.0, "receivers": ["leads"]}, {"level": 2, "at": 3000.0, "receivers": ["oncall"]}],
        "remind_every_s": 600, "next_reminder_at": 600.0, "reminders_sent": 0, "receivers": ["desk"], "fired": [],
    }
    return sla.ClockState.from_dict({**base, **overrides})


def run_until(state, end, step_s=30.0):
    """Tick like the worker's timer: propose due steps, apply them; return the fired steps with their times."""
    fired = []
    now = 0.0
    while now <= end:
        for step in sla.due_steps(state, now):
            state, outcome = sla.apply(state, {"kind": "fire", "step": step}, now)
            if outcome.event:
                fired.append((step, now))
        now += step_s
    return state, fired


def test_each_step_fires_once_at_its_time():
    state, fired = run_until(clock(), 4000)
    assert [s for s, _ in fired] == [
        "reminder:1", "reminder:2", "escalation:1", "reminder:3", "reminder:4", "warning",
        "escalation:2", "reminder:5", "breach", "reminder:6",
    ]
    times = dict(fired)
    assert times["warning"] == 2700 and times["breach"] == 3600 and times["escalation:1"] == 1800
    assert times["reminder:1"] == 600 and times["reminder:6"] == 3600
    assert state.reminders_sent == 6


def test_an_ack_stops_every_step():
    state, _ = run_until(clock(), 1000)
    state, outcome = sla.apply(state, {"kind": "ack", "actor": "ana"}, 1000.0)
    assert outcome.status == "acknowledged" and outcome.notice["receivers"] == ["desk"]
    assert outcome.detail["within_window"] is True
    assert sla.due_steps(state, 10_000.0) == []


def test_a_step_proposed_twice_is_applied_once():
    state = clock()
    state, first = sla.apply(state, {"kind": "fire", "step": "escalation:1"}, 1900.0)
    state, second = sla.apply(state, {"kind": "fire", "step": "escalation:1"}, 1901.0)
    assert first.status == "escalation" and first.notice["receivers"] == ["leads"]
    assert second.status == "not_due" and second.event is None
    assert state.fired.count("escalation:1") == 1


def test_a_step_not_yet_due_is_refused():
    state, outcome = sla.apply(clock(), {"kind": "fire", "step": "breach"}, 100.0)
    assert outcome.status == "not_due" and state.fired == []


def test_warning_is_skipped_once_the_deadline_has_passed():
    assert "warning" not in sla.due_steps(clock(), 3700.0)
    assert "breach" in sla.due_steps(clock(), 3700.0)


@pytest.mark.parametrize(
    ("state", "kind", "status"),
    [
        ("open", "ack", "acknowledged"),
        ("acknowledged", "ack", "already_acknowledged"),
        ("resolved", "ack", "already_resolved"),
        ("open", "resolve", "resolved"),
        ("acknowledged", "resolve", "resolved"),
        ("resolved", "resolve", "already_resolved"),
    ],
)
def test_ack_and_resolve_answers(state, kind, status):
    start = clock(state=state, acked_by="bo", acked_at=5.0, resolved_by="bo" if state == "resolved" else None)
    _, outcome = sla.apply(start, {"kind": kind, "actor": "ana"}, 100.0)
    assert outcome.status == status
    assert (outcome.event is not None) == (status in ("acknowledged", "resolved"))


def test_unknown_alert():
    new, outcome = sla.apply(None, {"kind": "ack", "actor": "ana"}, 1.0)
    assert new is None and outcome.status == "unknown"


def test_resolve_by_a_brand_reply_keeps_the_evidence_and_informs_escalated_receivers():
    state, _ = run_until(clock(), 1900)
    evidence = {"post": "x:99", "text": "Sorry! DM us", "url": None}
    state, outcome = sla.apply(state, {"kind": "resolve", "actor": "@acme (brand reply)", "detail": {"evidence": evidence}}, 2000.0)
    assert state.state == "resolved" and outcome.detail["evidence"] == evidence
    assert outcome.notice["receivers"] == ["desk", "leads"]
    assert "reply from the brand" in outcome.notice["summary"]


def test_open_is_idempotent():
    plan = clock()
    state, first = sla.apply(None, {"kind": "open", "clock": plan}, 0.0)
    state2, again = sla.apply(replace(state, fired=["warning"]), {"kind": "open", "clock": plan}, 1.0)
    assert first.status == "opened" and again.status == "already_open" and state2.fired == ["warning"]


def test_reminders_follow_business_hours():
    cal = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00", "holidays": []}
    friday_1630 = 1764347400.0  # 2025-11-28 16:30 UTC, a Friday
    state = clock(calendar=cal, raised_at=friday_1630, warn_at=1e12, deadline=2e12, escalation=[],
                  remind_every_s=3600, next_reminder_at=friday_1630 + 1800)
    state, outcome = sla.apply(state, {"kind": "fire", "step": "reminder:1"}, friday_1630 + 1800)
    assert outcome.status == "reminder"
    monday_1000 = 1764583200.0  # 2025-12-01 10:00 UTC: 30 open minutes on Friday, 30 on Monday
    assert state.next_reminder_at == monday_1000


def test_only_resolved_alerts_are_forgotten():
    resolved, _ = sla.apply(clock(), {"kind": "resolve", "actor": "ana"}, 10.0)
    assert sla.apply(resolved, {"kind": "forget"}, 1e9) == (None, sla.Outcome("forgotten"))
    kept, outcome = sla.apply(clock(), {"kind": "forget"}, 1e9)
    assert outcome.status == "not_resolved" and kept.state == "open"
