"""The PagerDuty sink against a local server that behaves like the Events API v2 (validation, dedup, 202/400/429/5xx)."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from sinks.base import Delivered, DeliveryError
from sinks.pipeline import deliver_with_retry
from sinks.pagerduty import PagerDutySink
from tests.sink_servers import (
    HOSTILE_TEXT,
    Reply,
    Seen,
    free_port,
    make_alert,
    plain,
    serve,
)

ROUTING_KEY = "R0ut1ngKeyS3cretValue0123456789a"
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")


@dataclass
class Incident:
    severity: str
    summary: str
    state: str = "triggered"
    triggers: int = 1


@dataclass
class FakePagerDuty:
    """The Events API v2 as documented: validates the event, dedups on ``dedup_key``, answers 202 or 400.

    ``script`` holds replies to give (in order) before behaving normally;
    ``echo_key`` makes a 400 name the routing key, as a careless proxy might.
    """

    routing_key: str = ROUTING_KEY
    echo_key: bool = False
    script: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        return app

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(seen.body) for seen in self.seen]

    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(0.0, dict(request.headers), body))
        if self.script:
            return self.script.pop(0)()
        try:
            event = json.loads(body)
        except ValueError:
            return self._invalid(["Malformed JSON"])
        errors = self._errors(event) if isinstance(event, dict) else ["Event object is not an object"]
        if errors:
            return self._invalid(errors)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": self._apply(event)},
                                 status=202)

    def _errors(self, event: dict[str, Any]) -> list[str]:
        errors = []
        key = event.get("routing_key")
        if not isinstance(key, str) or len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif key != self.routing_key and self.echo_key:
            errors.append(f"routing_key {key} is unknown")
        if event.get("event_action") not in ACTIONS:
            errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
        dedup_key = event.get("dedup_key")
        if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        if event.get("event_action") in ("acknowledge", "resolve") and not dedup_key:
            errors.append("'dedup_key' is missing or blank")
        if event.get("event_action") == "trigger":
            payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors.append("'payload.summary' is missing or blank")
            elif len(summary) > 1024:
                errors.append("'payload.summary' is too long (maximum is 1024 characters)")
            if not isinstance(payload.get("source"), str) or not payload["source"].strip():
                errors.append("'payload.source' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid (must be one of critical, error, warning or info)")
            links = event.get("links", [])
            if not isinstance(links, list) or not all(isinstance(link, dict) and link.get("href") for link in links):
                errors.append("'links' must be a list of objects with an href")
        return errors

    def _apply(self, event: dict[str, Any]) -> str:
        """Alert de-duplication: a trigger on an open dedup_key adds to it; ack/resolve of an unknown one are dropped."""
        key = event.get("dedup_key") or uuid.uuid4().hex
        open_incident = self.incidents.get(key)
        if open_incident is not None and open_incident.state == "resolved":
            open_incident = None
        if event["event_action"] == "trigger":
            payload = event["payload"]
            if open_incident is None:
                self.incidents[key] = Incident(payload["severity"], payload["summary"])
            else:
                open_incident.triggers += 1
                open_incident.severity = payload["severity"]
        elif open_incident is not None:
            open_incident.state = "acknowledged" if event["event_action"] == "acknowledge" else "resolved"
        return key

    @staticmethod
    def _invalid(errors: list[str]) -> web.Response:
        return web.json_response({"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                                 status=400)


Scenario = Callable[[PagerDutySink, FakePagerDuty], Awaitable[Any]]


def run(scenario: Scenario, fake: FakePagerDuty | None = None, routing_key: str = ROUTING_KEY) -> tuple[Any, FakePagerDuty]:
    """Run ``scenario`` against a started sink pointed at a fresh fake; return its result and the fake."""
    server = fake or FakePagerDuty()

    async def main() -> Any:
        async with serve(server.app()) as base:
            sink = PagerDutySink(routing_key, url=f"{base}/v2/enqueue")
            await sink.start()
            try:
                return await scenario(sink, server)
            finally:
                await sink.close()

    return asyncio.run(main()), server


def notice(kind: str, alert: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"notice_id": f"n-{kind}", "kind": kind, "alert": alert or make_alert(), "at": "2024-05-01T12:40:00Z",
            "actor": "care-lead", "detail": f"{kind} detail", "summary": f"alert {kind}"}


def test_trigger_carries_what_a_responder_needs() -> None:
    result, fake = run(lambda sink, _: sink.deliver(make_alert()))
    alert = make_alert()
    assert result == Delivered(ref=alert["alert_id"])
    (event,) = fake.events()
    assert event["routing_key"] == ROUTING_KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == alert["alert_id"]
    payload = event["payload"]
    assert payload["severity"] == "critical" and payload["source"] and payload["timestamp"].startswith("2024-05-01T12:00:05")
    assert payload["summary"] == "P1 complaint from @parcel_pete on x: why is my parcel 2 weeks late??"
    assert (payload["component"], payload["group"], payload["class"]) == ("x", "acme", "complaint")
    assert payload["custom_details"]["alert_id"] == alert["alert_id"]
    assert payload["custom_details"]["reasons"] == alert["reasons"]
    assert event["links"] == [{"href": alert["post"]["url"], "text": "Original post on x"}]
    assert fake.seen[0].headers["Content-Type"].startswith("application/json")
    assert list(fake.incidents) == [alert["alert_id"]]


@pytest.mark.parametrize(("priority", "severity"), [("P1", "critical"), ("P2", "error"), ("P3", "warning"), ("P4", "info"),
                                                    ("P9", "error")])
def test_severity_follows_priority(priority: str, severity: str) -> None:
    alert = {**make_alert(), "priority": priority}
    _, fake = run(lambda sink, _: sink.deliver(alert))
    assert fake.events()[0]["payload"]["severity"] == severity
    assert fake.incidents[alert["alert_id"]].severity == severity


def test_summary_is_bounded_one_line_and_free_of_control_characters() -> None:
    text = "line one\r\nline two \x1b[2J\u202e" + HOSTILE_TEXT + "x" * 3000
    _, fake = run(lambda sink, _: sink.deliver(make_alert(text=text)))
    summary = fake.events()[0]["payload"]["summary"]
    assert len(summary) == 1024 and summary.endswith("…")
    assert "\n" not in summary and "\r" not in summary and "\x1b" not in summary and "\u202e" not in summary
    assert "line one line two \\x1b[2J\\u202e<!channel>" in summary


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.com/p", "https://x.com/a b", None])
def test_links_only_to_http_originals(url: str | None) -> None:
    _, fake = run(lambda sink, _: sink.deliver(make_alert(url=url)))
    (event,) = fake.events()
    assert "links" not in event and "post_url" not in event["payload"]["custom_details"]
    assert fake.incidents, "the event was valid without the link"


def test_acknowledge_and_resolve_reach_the_incident_the_trigger_opened() -> None:
    async def scenario(sink: PagerDutySink, fake: FakePagerDuty) -> list[Delivered]:
        ref = (await sink.deliver(make_alert())).ref
        acked = await sink.follow_up(notice("acknowledged"), ref)
        state_after_ack = fake.incidents[ref or ""].state
        resolved = await sink.follow_up(notice("resolved"), ref)
        assert state_after_ack == "acknowledged"
        return [acked, resolved]

    results, fake = run(scenario)
    key = make_alert()["alert_id"]
    assert results == [Delivered(ref=key), Delivered(ref=key)]
    ack, resolve = fake.events()[1:]
    assert ack == {"routing_key": ROUTING_KEY, "dedup_key": key, "event_action": "acknowledge"}
    assert resolve == {"routing_key": ROUTING_KEY, "dedup_key": key, "event_action": "resolve"}
    assert fake.incidents[key].state == "resolved" and len(fake.incidents) == 1


@pytest.mark.parametrize("kind", ["escalation", "breach"])
def test_escalation_and_breach_retrigger_the_same_incident_as_critical(kind: str) -> None:
    alert = {**make_alert(), "priority": "P3"}

    async def scenario(sink: PagerDutySink, _: FakePagerDuty) -> Delivered:
        ref = (await sink.deliver(alert)).ref
        return await sink.follow_up(notice(kind, alert), ref)

    result, fake = run(scenario)
    first, again = fake.events()
    assert first["payload"]["severity"] == "warning"
    assert again["event_action"] == "trigger" and again["dedup_key"] == first["dedup_key"] == result.ref
    assert again["payload"]["severity"] == "critical"
    assert again["payload"]["summary"].startswith(("ESCALATED: P3 complaint", "DEADLINE BREACHED: P3 complaint"))
    assert again["payload"]["custom_details"]["notice"]["actor"] == "care-lead"
    assert again["payload"]["timestamp"].startswith("2024-05-01T12:40:00")
    (incident,) = fake.incidents.values()
    assert (incident.triggers, incident.severity) == (2, "critical")


def test_escalation_to_pagerduty_that_never_had_the_alert_opens_it() -> None:
    result, fake = run(lambda sink, _: sink.follow_up(notice("escalation"), None))
    key = make_alert()["alert_id"]
    assert result == Delivered(ref=key)
    assert fake.incidents[key].severity == "critical"


@pytest.mark.parametrize(("kind", "ref"), [("warning", "al-1"), ("reminder", "al-1"), ("acknowledged", None),
                                           ("resolved", None), ("something-new", "al-1")])
def test_follow_ups_pagerduty_cannot_use_send_nothing(kind: str, ref: str | None) -> None:
    result, fake = run(lambda sink, _: sink.follow_up(notice(kind), ref))
    assert result == Delivered(ref=None) and fake.seen == []


def test_invalid_event_is_permanent_and_says_why() -> None:
    async def scenario(sink: PagerDutySink, _: FakePagerDuty) -> DeliveryError:
        with pytest.raises(DeliveryError) as caught:
            await sink.deliver(make_alert())
        return caught.value

    error, fake = run(scenario, routing_key="too-short-key")
    assert not error.retryable and "HTTP 400" in str(error)
    assert "Event object is invalid" in str(error) and "routing_key" in str(error)
    assert fake.incidents == {}


def test_rate_limited_once_then_accepted() -> None:
    async def scenario(sink: PagerDutySink, _: FakePagerDuty) -> tuple[Delivered, int]:
        return await deliver_with_retry(sink, make_alert(), base_delay_s=0.01)

    throttled = FakePagerDuty(script=[lambda: web.json_response(
        {"status": "throttle event", "message": "Requests for this service are arriving too quickly."}, status=429)])
    (result, attempts), fake = run(scenario, throttled)
    assert attempts == 2 and result.ref == make_alert()["alert_id"]
    assert len(fake.seen) == 2 and len(fake.incidents) == 1


@pytest.mark.parametrize(("reply", "retryable", "retry_after"), [
    (plain(500, "oops"), True, None), (plain(503, "busy", retry_after="7"), True, 7.0),
    (plain(429, ""), True, None), (plain(403, "forbidden"), False, None), (plain(302, ""), False, None),
])
def test_status_classification(reply: Reply, retryable: bool, retry_after: float | None) -> None:
    async def scenario(sink: PagerDutySink, _: FakePagerDuty) -> DeliveryError:
        with pytest.raises(DeliveryError) as caught:
            await sink.deliver(make_alert())
        return caught.value

    error, _ = run(scenario, FakePagerDuty(script=[reply]))
    assert (error.retryable, error.retry_after_s) == (retryable, retry_after)


@pytest.mark.parametrize("change", [{"alert_id": ""}, {"alert_id": "a" * 256}, {"alert_id": None},
                                    {"classification": {"label": "complaint", "confidence": float("nan")}}])
def test_an_alert_that_cannot_make_a_valid_event_is_permanent_and_sends_nothing(change: dict[str, Any]) -> None:
    async def scenario(sink: PagerDutySink, _: FakePagerDuty) -> DeliveryError:
        with pytest.raises(DeliveryError) as caught:
            await sink.deliver({**make_alert(), **change})
        return caught.value

    error, fake = run(scenario)
    assert not error.retryable and fake.seen == []


def test_routing_key_never_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "W0ngKeyW0ngKeyW0ngKeyW0ngKey1234"

    async def scenario(sink: PagerDutySink, _: FakePagerDuty) -> list[DeliveryError]:
        errors = []
        for action in (sink.deliver(make_alert()), sink.follow_up(notice("acknowledged"), "al-1")):
            try:
                await action
            except DeliveryError as exc:
                errors.append(exc)
        dead = PagerDutySink(wrong_key, url=f"http://127.0.0.1:{free_port()}/v2/enqueue", timeout_s=2)
        try:
            await dead.deliver(make_alert())
        except DeliveryError as exc:
            errors.append(exc)
        finally:
            await dead.close()
        assert wrong_key not in repr(sink) + repr(dead)
        return errors

    echoes = [lambda: web.json_response({"status": "invalid event", "errors": [f"bad key {wrong_key[:20]}\n{wrong_key}"]},
                                        status=400), plain(400, wrong_key)]
    errors, fake = run(scenario, FakePagerDuty(echo_key=True, script=echoes), routing_key=wrong_key)
    assert len(errors) == 3 and "[redacted]" in str(errors[0]), [str(e) for e in errors]
    assert json.loads(fake.seen[0].body)["routing_key"] == wrong_key, "the key is sent, only in the body"
    shown = "\n".join(f"{e}\n{e!r}\n" + "".join(traceback.format_exception(e)) for e in errors)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert wrong_key not in shown and wrong_key not in logged
