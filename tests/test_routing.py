"""The first router, table-driven: label in, window, deadline, priority and reasons out."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.records import Author, Classification, Post, parse_instant
from streams.routing import RoutingPolicy, route

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=timezone.utc)


def make(label: str, confidence: float = 0.9, created_at: str = "2026-11-23T11:00:00+02:00"):
    post = Post(id="1", platform="twitter", text="t", created_at=created_at, author=Author(id="u"))
    scores = {"praise": 0.025, "complaint": 0.025, "question": 0.025, "suggestion": 0.025, "other": 0.025}
    scores[label] = confidence
    return post, Classification(label=label, confidence=confidence, scores=scores, lang="en", model="m", model_version="1")


@pytest.mark.parametrize(
    ("label", "window_s", "deadline", "priority"),
    [
        ("complaint", 3600, "2026-11-23T10:00:00Z", "P2"),
        ("question", 3600, "2026-11-23T10:00:00Z", "P3"),
        ("suggestion", 86400, "2026-11-24T09:00:00Z", "P4"),
        ("praise", 86400, "2026-11-24T09:00:00Z", "P4"),
    ],
)
def test_default_windows(label, window_s, deadline, priority):
    alert = route(*make(label), RoutingPolicy(), NOW)
    assert alert.window_s == window_s
    assert alert.deadline == deadline
    assert alert.priority == priority
    assert alert.reasons[0].startswith(f"{label}: ")
    assert alert.receivers == ["console", "jsonl"]


def test_other_raises_no_alert():
    assert route(*make("other"), RoutingPolicy(), NOW) is None


def test_configured_window_and_p1():
    policy = RoutingPolicy(windows_s={"complaint": 600})
    alert = route(*make("complaint"), policy, NOW)
    assert alert.priority == "P1"
    assert "10 min" in alert.reasons[0]
    assert parse_instant(alert.deadline) == parse_instant("2026-11-23T09:10:00Z")


def test_low_confidence_is_marked_uncertain_but_still_routed():
    alert = route(*make("complaint", confidence=0.3), RoutingPolicy(), NOW)
    assert alert is not None
    assert any(r.startswith("uncertain") for r in alert.reasons)
    assert not any(r.startswith("uncertain") for r in route(*make("complaint"), RoutingPolicy(), NOW).reasons)


def test_alert_id_is_stable_per_post():
    first = route(*make("question"), RoutingPolicy(), NOW)
    again = route(*make("question"), RoutingPolicy(), datetime(2026, 11, 23, 12, tzinfo=timezone.utc))
    assert first.alert_id == again.alert_id


def test_closed_window_is_said():
    alert = route(*make("complaint", created_at="2026-11-22T09:00:00Z"), RoutingPolicy(), NOW)
    assert any("already closed" in r for r in alert.reasons)
