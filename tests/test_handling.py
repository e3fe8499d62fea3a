"""The routing and clock agents' bodies as pure functions (streams/core/handling.py): records in, writes out."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from streams.core.handling import clock_step, route_post
from streams.core.policy import parse_policy
from streams.core.records import Action, Author, Classification, Classified, Notice, Post, alert_id_for
from streams.core.silences import Silence
from streams.core.table_keys import read_through

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=timezone.utc)
DAY = 86400


def classified(label="complaint", text="my parcel is late", handle="@ana", in_reply_to=None) -> Classified:
    post = Post(id="p1", platform="x", text=text, created_at="2026-11-23T09:00:00Z", brand="acme",
                author=Author(id="u1", handle=handle), in_reply_to=in_reply_to)
    scores = {name: 0.01 for name in ("praise", "complaint", "question", "suggestion", "other")}
    return Classified(post=post, classification=Classification(
        label=label, confidence=0.96, scores={**scores, label: 0.96}, lang="en", model="m", model_version="1"))


def route(item=None, seen=None, policy=None, silences=()):
    return route_post(item or classified(), "0:7", seen, None, parse_policy(policy or {}), list(silences), NOW, DAY)


def test_an_alert_goes_out_with_its_event_and_clock_in_that_order():
    routed = route()
    assert routed.outcome == "alerted"
    assert [s.topic for s in routed.sends] == ["surge-counts", "surge-counts", "alerts", "events", "actions"]  # all, brand
    assert routed.seen == {"origin": "0:7", "at": NOW.timestamp()}
    assert routed.author[0] == "x:u1" and routed.author[1]["partition"] == 0
    alert, opened = routed.sends[2].value, routed.sends[4].value
    assert opened.kind == "open" and opened.clock["alert"] == alert.to_wire() and opened.clock["state"] == "open"


@pytest.mark.parametrize(
    ("seen", "outcome"),
    [({"origin": "0:7", "at": NOW.timestamp()}, "alerted"), ({"origin": "1:3", "at": NOW.timestamp()}, "duplicate")],
)
def test_a_post_seen_from_another_record_is_a_duplicate_but_a_replay_of_the_same_record_is_not(seen, outcome):
    assert route(seen=seen).outcome == outcome


def test_noise_raises_nothing_but_is_remembered():
    routed = route(classified("other", text="follow and win"))
    assert routed.outcome == "not_alerted" and routed.sends == [] and routed.seen is not None


def test_a_brand_reply_resolves_the_alert_it_answers():
    routed = route(classified(handle="@acme", in_reply_to="p0"), policy={"brand_accounts": ["@acme"]})
    assert routed.outcome == "brand_reply" and routed.author is None
    (resolve,) = routed.sends
    assert resolve.topic == "actions" and resolve.value.kind == "resolve"
    assert resolve.value.alert_id == alert_id_for("x:p0")


def test_a_silenced_alert_is_recorded_not_sent():
    silence = Silence(id="s1", matchers={"label": ["complaint"]}, starts_at=0, ends_at=2e9, created_by="ana")
    routed = route(silences=[silence])
    assert routed.outcome == "silenced"
    assert [(s.topic, s.value.kind) for s in routed.sends if s.topic != "surge-counts"] == [("events", "silenced")]


def test_a_digest_route_sends_an_entry_instead_of_an_immediate_receiver():
    policy = {"routes": {"receivers": ["console"], "routes": [{"match": {"label": "praise"}, "receivers": ["jsonl"], "digest": "1h"}]}}
    routed = route(classified("praise", text="love it"), policy=policy)
    digest = [s for s in routed.sends if s.topic == "digests"]
    alert = next(s.value for s in routed.sends if s.topic == "alerts")
    assert alert.receivers == [] and digest[0].key == "jsonl" and digest[0].value["every_s"] == 3600


def test_a_clock_opens_then_an_ack_sends_an_event_and_a_notice():
    plan = next(s.value for s in route().sends if s.topic == "actions")
    opened = clock_step(plan, None, 3, NOW)
    assert opened.new.partition == 3 and opened.sends == []
    acked = clock_step(Action(alert_id=plan.alert_id, kind="ack", at="t", actor="ana"), opened.new, 3, NOW)
    assert acked.new.state == "acknowledged"
    assert [s.topic for s in acked.sends] == ["events", "notices"]
    notice: Notice = acked.sends[1].value
    assert notice.notice_id == f"{plan.alert_id}:acknowledged" and notice.alert["alert_id"] == plan.alert_id


def test_forgetting_a_resolved_clock_drops_it():
    plan = next(s.value for s in route().sends if s.topic == "actions")
    state = clock_step(plan, None, 0, NOW).new
    resolved = clock_step(Action(alert_id=plan.alert_id, kind="resolve", at="t", actor="bo"), state, 0, NOW).new
    assert clock_step(Action(alert_id=plan.alert_id, kind="forget", at="t"), resolved, 0, NOW).forget


def test_table_entries_keyed_before_aliases_were_folded_are_still_found():
    """The dedupe and author tables of a monitor upgraded in place still hold `twitter:` keys (they are not
    rewritten). Read as the route agent reads them (canonical key, then the legacy alias keys), an old post sent
    again is a duplicate, and an old author's history counts; what is written next goes under `x:`."""
    at = NOW.timestamp()
    seen = {"twitter:p1": {"origin": "1:3", "at": at - 3600}}
    authors = {"Twitter:u1": {"first_seen": at - 2 * DAY, "last_seen": at - DAY, "platforms": ["Twitter"],
                              "posts": [[at - 2 * DAY, "complaint"], [at - DAY, "complaint"]], "partition": 1}}
    policy = parse_policy({})
    again = classified()  # x:p1 by x:u1
    assert seen.get(again.post.key) is None and authors.get("x:u1") is None, "a plain lookup misses them"
    assert route_post(again, "0:7", read_through(seen, again.post.key), read_through(authors, "x:u1"), policy, [],
                      NOW, DAY).outcome == "duplicate"

    new = Classified(post=dataclasses.replace(again.post, id="p2"), classification=again.classification)
    routed = route_post(new, "0:8", read_through(seen, new.post.key), read_through(authors, "x:u1"), policy, [], NOW, DAY)
    assert routed.outcome == "alerted" and routed.decision.alert.history == "3rd complaint in 7 days"
    assert routed.author[0] == "x:u1" and len(routed.author[1]["posts"]) == 3
    assert read_through({"x:u1": {"new": 1}, "twitter:u1": {"old": 1}}, "x:u1") == {"new": 1}, "the canonical key wins"
