"""Reports match the events they are computed from: alerts driven through the real SLA clock
(:func:`streams.sla.apply`) on an advanceable fake clock, events recorded as the worker emits them."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from streams.core import isoformat, report_format, reports, sla
from streams.core.vocabulary import ClockState

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def now(self) -> datetime:
        return self.at


class Desk:
    """The worker's clock agent in miniature: the raised event, then each action through ``sla.apply``."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.clocks, self.events = clock, {}, []

    def emit(self, alert_id: str, kind: str, detail: dict, actor: str = "monitor") -> None:
        self.events.append({"alert_id": alert_id, "kind": kind, "at": isoformat(self.clock.now()), "actor": actor, "detail": detail})

    def raise_alert(self, alert_id: str, label: str = "complaint", window_s: int = 3600, brand: str | None = "acme",
                    route: str = "root", lang: str = "en", escalate_after_s: int | None = None) -> None:
        now = self.clock.now().timestamp()
        deadline = now + window_s
        self.emit(alert_id, "raised", {"label": label, "priority": "P2", "deadline": isoformat(datetime.fromtimestamp(deadline, timezone.utc)),
                                      "brand": brand, "lang": lang, "platform": "x", "route": route})
        escalation = [{"level": 1, "at": now + escalate_after_s, "receivers": ["lead"]}] if escalate_after_s else []
        self.clocks[alert_id] = ClockState.from_dict({
            "alert_id": alert_id, "state": "open", "label": label, "priority": "P2", "raised_at": now,
            "warn_at": now + 0.75 * window_s, "deadline": deadline, "calendar": None, "escalation": escalation,
            "remind_every_s": None, "next_reminder_at": None, "reminders_sent": 0, "receivers": ["slack"], "fired": [],
        })

    def act(self, alert_id: str, kind: str, actor: str = "ana", **detail) -> None:
        request = {"kind": kind, "actor": actor, "detail": detail or None}
        new, outcome = sla.apply(self.clocks[alert_id], request, self.clock.now().timestamp())
        self.clocks[alert_id] = new
        if outcome.event:
            self.emit(alert_id, outcome.event["kind"], outcome.event["detail"], actor)

    def tick(self) -> None:
        """The timer: every due step of every open alert, as the worker fires them."""
        for alert_id, clock in self.clocks.items():
            for step in sla.due_steps(clock, self.clock.now().timestamp()):
                new, outcome = sla.apply(clock, {"kind": "fire", "step": step}, self.clock.now().timestamp())
                self.clocks[alert_id] = clock = new
                if outcome.event:
                    self.emit(alert_id, outcome.event["kind"], outcome.event["detail"])


@pytest.fixture
def week():
    """Two weeks of alerts: acks in and out of the window, a breach with an escalation, a brand reply."""
    clock = FakeClock(START)
    desk = Desk(clock)
    desk.raise_alert("a1")                                          # acked after 10 min, resolved after 30
    desk.raise_alert("a2", brand="globex", escalate_after_s=1800)   # escalated, warned, breached, acked late
    desk.raise_alert("a3", label="question", route="root/faq")      # resolved by the brand's reply, never acked
    clock.advance(minutes=10)
    desk.act("a1", "ack")
    clock.advance(minutes=20)
    desk.act("a1", "resolve")
    desk.tick()                                                     # 30 min: a2's escalation
    clock.advance(minutes=15)
    desk.act("a3", "resolve", actor="acme_support (brand reply)", evidence={"post": "x:r1"})
    desk.tick()                                                     # 45 min: a2's warning
    clock.advance(minutes=20)
    desk.tick()                                                     # 65 min: a2's breach
    desk.act("a2", "ack", actor="bo")
    clock.advance(days=7)                                           # the next week
    desk.raise_alert("b1")
    clock.advance(minutes=50)
    desk.act("b1", "ack")
    desk.raise_alert("b2")                                          # still open: 10 minutes left at report time
    clock.advance(minutes=50)
    desk.tick()
    return clock, desk


def test_report_matches_the_events(week):
    clock, desk = week
    kinds = [(e["alert_id"], e["kind"]) for e in desk.events]
    assert {("a2", "escalation"), ("a2", "warning"), ("a2", "breach"), ("b2", "warning")} <= set(kinds)
    report = reports.build(desk.events, clock.now(), reports.parse_since("14d"))
    first, second, total = report.rows
    assert (first.week, second.week, total.week) == ("2026-03-02", "2026-03-09", "all")
    assert (first.raised, first.pending, first.acked_in_window, first.share_in_window) == (3, 0, 2, 2 / 3)
    assert (first.ack_p50, first.ack_p90) == (2700.0, pytest.approx(2700 + 0.8 * 1200))  # 600, 2700 (a3), 3900 s
    assert (first.resolve_p50, first.resolve_p90) == (2250.0, pytest.approx(1800 + 0.9 * 900))  # 1800, 2700 s
    assert (first.breaches, first.escalations, first.answered_in_stream) == (1, 1, 1)
    assert (second.raised, second.pending, second.acked_in_window, second.share_in_window) == (2, 1, 1, 1.0)
    assert (second.ack_p50, second.breaches, second.resolve_p50) == (3000.0, 0, None)
    assert (total.raised, total.pending, total.acked_in_window, total.share_in_window) == (5, 1, 3, 0.75)
    assert total.ack_p50 == 2850.0 and total.breaches == 1
    clock.advance(minutes=15)  # b2's deadline passes unacknowledged: no longer pending, out of its window
    later = reports.build(desk.events, clock.now(), reports.parse_since("14d")).totals()[0]
    assert (later.pending, later.share_in_window) == (0, 3 / 5)


def test_resolve_times_and_pending(week):
    clock, desk = week
    facts = reports.facts_of(desk.events)
    assert facts["a1"].seconds_to_resolve == 1800.0 and facts["a3"].seconds_to_resolve == 2700.0
    assert facts["a3"].answered_in_stream and facts["a3"].acked_in_window
    assert facts["a2"].acked_in_window is False and facts["a2"].breached
    assert facts["b2"].pending(clock.now().timestamp()) and not facts["b1"].pending(clock.now().timestamp())


def test_groups_since_and_formats(week, tmp_path):
    clock, desk = week
    report = reports.build(desk.events, clock.now(), reports.parse_since("3d"), reports.parse_by("label,brand"))
    totals = {r.group: r for r in report.totals()}
    assert set(totals) == {("complaint", "acme")}, "only the second week is within 3 days"
    by_route = reports.build(desk.events, clock.now(), 14 * 86400, ("route",)).totals()
    assert {r.group: r.raised for r in by_route} == {("root",): 4, ("root/faq",): 1}
    data = json.loads(report_format.to_json(report))
    assert data["by"] == ["label", "brand"] and data["rows"][0]["label"] == "complaint"
    rows = list(csv.DictReader(io.StringIO(report_format.to_csv(report))))
    assert rows[-1]["week"] == "all" and rows[-1]["raised"] == "2"
    png = tmp_path / "trend.png"
    report_format.plot(reports.build(desk.events, clock.now(), 14 * 86400, ("brand",)), png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_duplicates_and_strangers_count_once():
    events = [
        {"alert_id": "a", "kind": "raised", "at": "2026-03-02T10:00:00Z", "detail": {"label": "complaint", "brand": "=cmd|' /C calc'!A0"}},
        {"alert_id": "a", "kind": "raised", "at": "2026-03-02T10:00:01Z", "detail": {"label": "complaint"}},
        {"alert_id": "a", "kind": "acknowledged", "at": "2026-03-02T10:01:00Z", "detail": {"seconds_to_ack": 60, "within_window": True}},
        {"alert_id": "a", "kind": "acknowledged", "at": "2026-03-02T10:02:00Z", "detail": {"seconds_to_ack": 120, "within_window": True}},
        {"alert_id": "z", "kind": "acknowledged", "at": "2026-03-02T10:02:00Z", "detail": {}},
        {"alert_id": "surge:all:1", "kind": "surge", "at": "2026-03-02T10:02:00Z", "detail": {}},
        {"kind": "raised"}, "not even a dict"[:0] or {},
    ]
    report = reports.build(events, datetime(2026, 3, 3, tzinfo=timezone.utc), 86400 * 7, ("brand",))
    (total,) = report.totals()
    assert (total.raised, total.ack_p50) == (1, 60.0)
    assert "'=cmd" in report_format.to_csv(report), "a brand that looks like a formula is quoted for spreadsheets"
    with pytest.raises(ValueError):
        reports.parse_by("label,colour")
    with pytest.raises(ValueError):
        reports.parse_since("a week")
