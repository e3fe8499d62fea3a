"""Records and changelogs written by the code before the redesign (tests/fixtures/wire_v0/) are still read.

The fixtures are the raw bytes of every topic and table changelog of one real
run of that code (`capture_script.txt` beside them: four posts, a duplicate,
two bad records, an ack, a resolve, a silence, a correction, a warning and a
breach, a digest), plus a shadow disagreement and a redelivery serialised by
its own faust Records (`extra_script.txt`). Version-0 records carry faust's
``__faust`` key; version 1 carries ``"v": 1`` and nothing that names a module.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import faust
import pytest

from streams.agents.clock import stored_clock
from streams.core import dedupe, digests, sla, surges
from streams.core.handling import clock_step, route_post
from streams.core.policy import parse_policy
from streams.core.records import (
    Action, Alert, Classified, Correction, DeadLetter, Event, Notice, Post, ShadowDisagreement, parse_instant,
)
from streams.core.silences import Silence
from streams.core.validation import InvalidPost, parse_post
from streams.core.vocabulary import DeliveryItem
from streams.core.wire import BLESSED_KEY, WIRE_VERSION, WireError

FIXTURES = Path(__file__).parent / "fixtures" / "wire_v0"
RECORDS = {
    "posts-normal": Post, "classified": Classified, "alerts": Alert, "events": Event, "dlq": DeadLetter,
    "shadow": ShadowDisagreement, "corrections": Correction, "actions": Action, "notices": Notice,
}


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]


def raw(part: dict | None) -> bytes | None:
    if part is None:
        return None
    return part["utf8"].encode("utf-8") if "utf8" in part else base64.b64decode(part["base64"])


def values(name: str) -> list[bytes]:
    return [raw(row["value"]) for row in rows(name)]


def names_a_module(value) -> bool:
    text = json.dumps(value)
    return BLESSED_KEY in text or "streams.records" in text


@pytest.mark.parametrize("topic", sorted(RECORDS))
def test_every_v0_record_is_read_and_written_again_as_v1(topic):
    cls = RECORDS[topic]
    found = values(topic)
    assert found, f"no {topic} records captured"
    for value in found:
        assert BLESSED_KEY in json.loads(value), "the fixture is not a version-0 record"
        record = cls.loads(value)
        again = json.loads(record.dumps())
        assert again["v"] == WIRE_VERSION and not names_a_module(again)
        assert cls.loads(record.dumps()) == record


def test_v0_records_keep_their_content():
    alerts = [Alert.loads(value) for value in values("alerts")]
    assert {a.classification.label for a in alerts} == {"complaint", "question", "praise", "suggestion"}
    for alert in alerts:
        assert alert.post.author.handle.startswith("@user")
        assert alert.deadline and parse_instant(alert.deadline)
        assert alert.reasons and alert.receivers is not None
    kinds = {Event.loads(value).kind for value in values("events")}
    assert {"raised", "delivered", "acknowledged", "resolved", "breach"} <= kinds
    notices = {Notice.loads(value).kind for value in values("notices")}
    assert {"acknowledged", "resolved", "breach", "digest"} <= notices


def test_posts_as_producers_sent_them_validate_or_say_why():
    good = bad = 0
    for value in values("posts"):
        try:
            parse_post(value, now=parse_instant("2026-12-05T06:00:00Z"))
            good += 1
        except InvalidPost:
            bad += 1
    assert (good, bad) == (5, 2)


def test_a_newer_wire_version_is_refused_not_misread():
    value = json.loads(values("alerts")[0])
    value["v"] = WIRE_VERSION + 1
    with pytest.raises(WireError, match="wire version"):
        Alert.from_wire(value)


def test_json_topics_of_v0_are_read_as_the_agents_read_them():
    for value in values("silences"):
        assert Silence.model_validate(json.loads(value)).matchers
    for value in values("surge-counts"):
        item = json.loads(value)
        assert surges.observe(surges.new_state(), item["at"], item["text"], parse_policy({}).surges)
    entries = [json.loads(v) for v in values("digests")]
    buffer = None
    for item in (e for e in entries if not e.get("flush")):
        buffer = digests.add(buffer, item["entry"], item["every_s"], 0.0)
    assert buffer and buffer["entries"]
    item = DeliveryItem.from_dict(json.loads(values("redeliver")[0]))
    assert item.attempts == 3 and item.payload["alert_id"] == item.subject and item.not_before


@pytest.fixture(scope="module")
def serializers():
    return faust.App("wire-compat", autodiscover=False).serializers


def changelog(name: str, serializers) -> list:
    """Values as faust's table recovery decodes them (json, type autodetected from a top-level ``__faust``)."""
    return [serializers.loads_value(None, value, serializer="json") for value in values(f"points-of-truth-{name}-changelog")]


def test_v0_clock_state_drives_the_clock_after_the_move(serializers):
    states = [stored_clock(v) for v in changelog("clocks", serializers)]
    assert all(s is not None for s in states)
    by_id = {s.alert_id: s for s in states}  # the last write per alert wins, as in the table
    assert {s.state for s in by_id.values()} >= {"open", "acknowledged", "resolved"}
    for state in by_id.values():
        if state.state == "open":
            if state.label == "complaint":  # its clock jumped past the deadline: no warning, the breach once
                assert state.fired == ["breach"]
            step = clock_step(Action(alert_id=state.alert_id, kind="ack", at="x", actor="ana"), state, 0, parse_instant("2026-12-05T07:00:00Z"))
            assert step.new.state == "acknowledged"
            notices = [s.value for s in step.sends if s.topic == "notices"]
            assert len(notices) == (1 if state.receivers else 0)  # a digest-only alert has no one to tell
            for notice in notices:
                assert notice.alert["alert_id"] == state.alert_id and not names_a_module(notice.alert)
        assert sla.view(state, 0.0)["alert_id"] == state.alert_id


def test_v0_dedupe_and_author_tables_still_route(serializers):
    seen = changelog("seen-posts", serializers)
    assert all(dedupe.is_duplicate(v, "9:9", v["at"] + 1, 7 * 86400) for v in seen)
    authors = changelog("authors", serializers)
    classified = Classified.loads(values("classified")[0])
    ctx = next(a for a in authors if a)
    routed = route_post(classified, "0:999", None, ctx, parse_policy({}), [], parse_instant("2026-12-05T06:00:00Z"), 86400)
    assert routed.outcome == "alerted"
    assert routed.author[1]["posts"][-1][1] == classified.classification.label


def test_v0_delivery_digest_and_surge_tables_are_plain_values(serializers):
    assert all(isinstance(v, str) for v in changelog("deliveries", serializers))
    buffers = [v for v in changelog("digest-buffers", serializers) if v]
    assert buffers and all("entries" in b for b in buffers)
    for state in changelog("surge-state", serializers):
        surges.check(state, 1796449200.0, parse_policy({}).surges)
