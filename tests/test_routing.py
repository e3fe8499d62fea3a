"""The router, table-driven: a post, its classification and history in; window, priority, reasons, routes out."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.core.authors import new_context, record_post
from streams.core.keywords import KeywordMatcher
from streams.core.policy import PolicyError, parse_policy
from streams.core.records import Author, Classification, Post, parse_instant
from streams.core.routing import decide, match_routes

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=timezone.utc)
NO_KEYWORDS = KeywordMatcher([])


def make(label: str, confidence: float = 0.9, created_at: str = "2026-11-23T11:00:00+02:00", text: str = "t",
         followers: int = 0, verified: bool = False, handle: str | None = None, lang: str = "en", brand: str | None = None):
    post = Post(id="1", platform="x", text=text, created_at=created_at, brand=brand,
                author=Author(id="u", handle=handle, followers=followers, verified=verified))
    scores = {"praise": 0.025, "complaint": 0.025, "question": 0.025, "suggestion": 0.025, "other": 0.025}
    scores[label] = confidence
    return post, Classification(label=label, confidence=confidence, scores=scores, lang=lang, model="m", model_version="1")


def run(label: str, policy: dict | None = None, ctx: dict | None = None, keywords: KeywordMatcher = NO_KEYWORDS, **kw):
    post, cls = make(label, **kw)
    return decide(post, cls, ctx or new_context(), parse_policy(policy or {}), keywords, NOW)


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
    alert = run(label).alert
    assert (alert.window_s, alert.deadline, alert.priority) == (window_s, deadline, priority)
    assert alert.reasons[0].startswith(f"{label}: ")
    assert alert.receivers == ["console", "jsonl"]


def test_other_raises_no_alert():
    assert run("other") is None


def test_configured_window_makes_a_complaint_p1():
    alert = run("complaint", {"windows": {"complaint": "10m"}}).alert
    assert alert.priority == "P1"
    assert "10 min" in alert.reasons[0]
    assert parse_instant(alert.deadline) == parse_instant("2026-11-23T09:10:00Z")


def test_low_confidence_is_still_routed_and_marked_uncertain():
    decision = run("complaint", confidence=0.3)
    assert decision is not None and decision.alert.uncertain
    assert any(r.startswith("uncertain: confidence below 0.50") for r in decision.alert.reasons)
    assert not run("complaint").alert.uncertain


def test_late_post_says_so():
    alert = run("complaint", created_at="2026-11-22T09:00:00Z").alert
    assert any("already closed" in r for r in alert.reasons)


REACH = {"reach": {
    "followers": [{"over": 10000, "window": "30m"}, {"over": 100000, "window": "15m", "priority": "P1"}],
    "verified": {"window": "20m"},
    "vip": {"handles": ["@BigRetailer"], "authors": ["x:777"], "window": "5m", "priority": "P1"},
}}


@pytest.mark.parametrize(
    ("label", "kw", "window_s", "priority", "reason"),
    [
        ("complaint", {"followers": 500}, 3600, "P2", None),
        ("complaint", {"followers": 15000}, 1800, "P2", "reach: 15,000 followers (over 10,000)"),
        ("complaint", {"followers": 250000}, 900, "P1", "reach: 250,000 followers (over 100,000)"),
        ("question", {"followers": 250000}, 900, "P1", "reach: 250,000 followers"),
        ("complaint", {"verified": True}, 1200, "P2", "reach: verified account"),
        ("complaint", {"handle": "bigretailer"}, 300, "P1", "reach: on the VIP list"),
        ("praise", {"followers": 250000}, 86400, "P4", None),
    ],
)
def test_reach_tightens_the_window(label, kw, window_s, priority, reason):
    alert = run(label, REACH, **kw).alert
    assert (alert.window_s, alert.priority) == (window_s, priority)
    reach_lines = [r for r in alert.reasons if r.startswith("reach:")]
    assert (reason is None and not reach_lines) or any(r.startswith(reason) for r in reach_lines)


def test_tightest_of_several_modifiers_wins_and_each_gives_a_reason():
    alert = run("complaint", REACH, followers=15000, verified=True).alert
    assert alert.window_s == 1200
    assert sum(r.startswith("reach:") for r in alert.reasons) == 2


def test_keyword_class_sets_window_priority_and_raises_even_other():
    from streams.core.keywords import KeywordRule

    matcher = KeywordMatcher([KeywordRule(name="safety", phrases=["food poisoning"], priority="P1", window_s=900)])
    alert = run("complaint", keywords=matcher, text="Got FOOD  poisoning from your salad").alert
    assert (alert.window_s, alert.priority, alert.keyword_classes) == (900, "P1", ["safety"])
    other = run("other", keywords=matcher, text="food poisoning at the branch on main st")
    assert other is not None and other.alert.priority == "P1"
    assert run("other", keywords=matcher, text="lovely weather") is None


def test_repeat_complainer_and_history_line():
    ctx = new_context()
    for day in (20, 21, 22):
        ctx = record_post(ctx, datetime(2026, 11, day, tzinfo=timezone.utc).timestamp(), "complaint", "x", 30 * 86400)
    ctx = record_post(ctx, NOW.timestamp(), "complaint", "x", 30 * 86400)
    policy = {"history": {"repeat_complainer": {"count": 3, "within": "7d", "window": "20m"}}}
    alert = run("complaint", policy, ctx=ctx).alert
    assert alert.window_s == 1200
    assert alert.history == "4th complaint in 7 days"
    assert alert.recent_labels == ["complaint"] * 3, "the author's earlier posts, not this one"
    assert any(r.startswith("history: repeat complaint (4th in 7 days)") for r in alert.reasons)


TREE = {
    "receivers": {n: {"type": "console"} for n in ("root", "audit", "desk", "legal", "oncall", "digest", "ro-desk")},
    "calendars": {"office": {"timezone": "Europe/Bucharest", "days": "mon-fri", "start": "09:00", "end": "17:00"}},
    "routes": {
        "receivers": ["root"],
        "routes": [
            {"name": "audit", "receivers": ["audit"], "continue": True},
            {"name": "legal", "match": {"keyword_class": "legal"}, "receivers": ["legal"],
             "escalation": [{"after": "10m", "receivers": ["oncall"]}]},
            {"name": "complaints", "match": {"label": "complaint"}, "receivers": ["desk"], "routes": [
                {"name": "romanian", "match": {"lang": "ro"}, "receivers": ["ro-desk"]},
            ]},
            {"name": "good-news", "match": {"label": ["praise", "suggestion"]}, "receivers": ["digest"], "digest": "1h"},
            {"name": "questions", "match": {"label": "question"}, "business_hours": "office"},
        ],
    },
}


@pytest.mark.parametrize(
    ("labels", "paths", "receivers"),
    [
        ({"label": "complaint", "lang": "en"}, ["audit", "complaints"], ["audit", "desk"]),
        ({"label": "complaint", "lang": "ro"}, ["audit", "romanian"], ["audit", "ro-desk"]),
        ({"label": "complaint", "keyword_class": {"legal", "churn"}}, ["audit", "legal"], ["audit", "legal"]),
        ({"label": "praise"}, ["audit", "good-news"], ["audit", "digest"]),
        ({"label": "question"}, ["audit", "questions"], ["audit", "root"]),
        ({"kind": "surge"}, ["audit"], ["audit"]),
    ],
)
def test_route_tree_first_match_wins_unless_continue(labels, paths, receivers):
    routes = match_routes(parse_policy(TREE).routes, labels)
    assert [r.path for r in routes] == paths
    assert [name for r in routes for name in r.receivers] == receivers


def test_digest_receivers_are_held_back_and_business_hours_move_the_deadline():
    praise = run("praise", TREE)
    assert praise.alert.receivers == ["audit"] and praise.digests == {"digest": 3600}
    question = run("question", TREE, created_at="2026-11-27T16:30:00+02:00")  # a Friday, 30 min before closing
    assert question.alert.deadline == "2026-11-30T07:30:00Z"  # Monday 09:30 in Bucharest
    assert any("business hours (office, Europe/Bucharest)" in r for r in question.alert.reasons)


def test_clock_plan_has_warning_escalation_and_reminders():
    from streams.core.keywords import KeywordRule

    matcher = KeywordMatcher([KeywordRule(name="legal", phrases=["my lawyer"])])
    policy = {**TREE, "routes": {**TREE["routes"], "remind_every": "15m"}}
    clock = run("complaint", policy, keywords=matcher, text="talking to my lawyer").clock
    raised = NOW.timestamp()
    assert clock.warn_at == pytest.approx(parse_instant("2026-11-23T09:45:00Z").timestamp())
    assert clock.escalation == [{"level": 1, "at": raised + 600, "receivers": ["oncall"]}]
    assert clock.next_reminder_at == raised + 900
    assert clock.receivers == ["audit", "legal"]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"windows": {"complaint": "soon"}}, "windows.complaint: 'soon' is not a duration"),
        ({"windows": {"other": "1h"}}, "unknown label(s) ['other']"),
        ({"routes": {"receivers": ["slak"]}}, "routes: unknown receiver 'slak'"),
        ({"receivers": {"a": {"type": "console"}}, "routes": {"receivers": ["a"], "routes": [{"receivers": ["b"]}]}},
         "routes.routes[0]: unknown receiver 'b'"),
        ({"routes": {"receivers": ["console"], "routes": [{"match": {"colour": "red"}}]}}, "unknown key(s) ['colour']"),
        ({"routes": {"receivers": ["console"], "business_hours": "nope"}}, "unknown calendar 'nope'"),
        ({"reach": {"followers": [{"over": 10, "window": "1h", "windw": "1h"}]}}, "reach.followers[0].windw: unknown key"),
        ({"reach": {"followers": [{"over": 10}]}}, "reach.followers[0].window: Field required"),
        ({"calendars": {"c": {"timezone": "Mars/Olympus"}}}, "calendars.c.timezone"),
        ([1, 2], "must be a YAML mapping"),
    ],
)
def test_invalid_policies_name_the_bad_key(policy, message):
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy)
    assert message in str(caught.value)


def test_example_policy_in_deploy_is_valid():
    from pathlib import Path

    from streams.core.policy import load_policy

    policy = load_policy(Path(__file__).parent.parent / "deploy" / "policy.example.yaml")
    assert "desk" in policy.receivers and policy.keyword_rules()


@pytest.mark.parametrize(
    ("text", "kw", "urgent"),
    [
        ("got food poisoning at your place", {}, "keyword class safety"),
        ("love the new menu", {}, None),
        ("meh", {"followers": 250000}, "reach: 250,000 followers (over 100,000)"),
        ("meh", {"followers": 15000}, None),  # a 30-min window, but no priority: not urgent on its face
        ("meh", {"handle": "bigretailer"}, "reach: on the VIP list"),
    ],
)
def test_urgent_on_its_face_before_classification(text, kw, urgent):
    from streams.core.keywords import KeywordRule
    from streams.core.routing import urgent_on_its_face

    matcher = KeywordMatcher([KeywordRule(name="safety", phrases=["food poisoning"], priority="P1", window_s=900),
                              KeywordRule(name="churn", phrases=["menu"], priority="P3")])
    post, _ = make("praise", text=text, **kw)
    found = urgent_on_its_face(post, parse_policy(REACH), matcher)
    assert (found is None and urgent is None) or (found is not None and found.startswith(urgent))
