"""Every shipped receiver type, and a third-party sink, keeps the sink contract (sinks.checks.check_sink).

The HTTP sinks talk to httpx mock transports and the email sink to a fake
transport through its seam; each also gets a broken twin (503s, a closed SMTP
port) whose failures must be classified DeliveryErrors without secrets.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from rich.console import Console

from sinks import ConsoleSink, JsonlSink
from sinks.base import Delivered, DeliveryError, Sink
from sinks.checks import check_sink, sample_alert
from sinks.email import EmailSink, SmtpTransport
from sinks.pagerduty import PagerDutySink
from sinks.registry import SINK_TYPES
from sinks.slack import SlackSink
from sinks.webhook import WebhookSink

TOKEN, HOOK_URL, SECRET, ROUTING_KEY, PASSWORD = (
    "xoxb-contract-5e1f", "https://hooks.slack.example/services/T0/B0/contract9", "whsec-contract-77",
    "pd-routing-key-contract-3", "smtp-password-contract-1",
)
SECRETS = (TOKEN, HOOK_URL, SECRET, ROUTING_KEY, PASSWORD)


def answering(status: int, body: Any = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, text="ok")
        return httpx.Response(status, json=body(request) if callable(body) else body)

    return httpx.MockTransport(handle)


class FakeMail:
    """The email transport seam: any object with ``send(message, sender, recipients)``."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send(self, message, sender, recipients):
        self.sent.append(message)
        return {}


def email(transport: Any) -> EmailSink:
    return EmailSink(host="127.0.0.1", port=1, tls="none", sender="pot@example.com", recipients=["desk@example.com"],
                     timeout_s=2, transport=transport)


def slack_ok(request: httpx.Request) -> dict[str, Any]:
    return {"ok": True, "ts": "1700000000.000100", "channel": "C1"}


BUILT = {
    "console": lambda tmp: (ConsoleSink(Console(file=io.StringIO(), width=100)), None),
    "jsonl": lambda tmp: (JsonlSink(tmp / "alerts.jsonl"), None),
    "slack": lambda tmp: (
        SlackSink(token=TOKEN, channel="C1", transport=answering(200, slack_ok)),
        SlackSink(token=TOKEN, channel="C1", transport=answering(503, {"ok": False})),
    ),
    "webhook": lambda tmp: (
        WebhookSink("https://receiver.example/hook", SECRET, transport=answering(200)),
        WebhookSink("https://receiver.example/hook", SECRET, transport=answering(503)),
    ),
    "pagerduty": lambda tmp: (
        PagerDutySink(ROUTING_KEY, transport=answering(202, {"status": "success", "message": "Event processed"})),
        PagerDutySink(ROUTING_KEY, transport=answering(429, {"status": "throttled"})),
    ),
    "email": lambda tmp: (
        email(FakeMail()),
        email(SmtpTransport("127.0.0.1", 1, "none", timeout_s=2)),
    ),
}


def test_every_registered_receiver_type_runs_the_contract():
    assert set(BUILT) == set(SINK_TYPES), "a receiver type in sinks.registry.SINK_TYPES must join this contract test"


@pytest.mark.parametrize("kind", sorted(BUILT))
def test_shipped_sink_keeps_the_contract(kind, tmp_path):
    sink, broken = BUILT[kind](tmp_path)
    check_sink(sink, secrets=SECRETS, broken=broken)


def test_slack_webhook_mode_keeps_the_contract():
    check_sink(SlackSink(webhook_url=HOOK_URL, transport=answering(200)), secrets=SECRETS,
               broken=SlackSink(webhook_url=HOOK_URL, transport=answering(500)))


def test_the_email_seam_gets_the_rendered_messages():
    mail = FakeMail()
    check_sink(email(mail))
    assert mail.sent and all(m["Message-ID"] and m["From"] == "pot@example.com" for m in mail.sent)


class ListSink(Sink):
    """A third-party sink, as small as the contract allows: it keeps what it is given."""

    name = "list"

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.items = fail, []

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        if self.fail:
            raise DeliveryError("list: full", retryable=True)
        self.items.append(json.dumps(alert))
        return Delivered(ref=str(len(self.items)))


def test_a_third_party_sink_keeps_the_contract():
    sink = ListSink()
    check_sink(sink, broken=ListSink(fail=True))
    assert len(sink.items) == 5


def test_the_contract_names_a_broken_promise():
    class Leaky(ListSink):
        async def deliver(self, alert):
            raise RuntimeError("oops")

    with pytest.raises(AssertionError, match="deliver failed|must raise DeliveryError|RuntimeError"):
        check_sink(ListSink(), broken=Leaky())
    with pytest.raises(AssertionError, match="repr"):
        check_sink(type("Shown", (ListSink,), {"__repr__": lambda self: f"Shown({SECRET})"})(), secrets=[SECRET])


def test_sample_alert_is_an_alert_in_wire_form():
    from streams.core.records import Alert

    assert Alert.from_wire(sample_alert()).alert_id == sample_alert()["alert_id"]
