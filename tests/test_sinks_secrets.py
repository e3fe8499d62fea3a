"""Credentials never reach logs or error text, whatever happens to a delivery (logs captured at DEBUG)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path

import pytest

from sinks.base import DeliveryError, Sink
from sinks.email import EmailSink
from sinks.pagerduty import PagerDutySink
from sinks.slack import SlackSink
from sinks.webhook import WebhookSink
from tests.sink_servers import FakeSlack, Mailbox, SignedReceiver, free_port, make_alert, password_check, self_signed, serve, smtp_server
from tests.test_sinks_pagerduty import FakePagerDuty

TOKEN = "xoxb-9999-secret-token-value"
HOOK_SECRET = "hooksecret-a1b2c3d4e5"
WEBHOOK_SECRET = "whsec-secret-value-0f9e8d"
PASSWORD = "smtp-secret-password-5a4b"
ROUTING_KEY = "R0utingKeySecretValue5e4d3c2b1a0"
SECRETS = (TOKEN, HOOK_SECRET, WEBHOOK_SECRET, PASSWORD, ROUTING_KEY)
FAKE_SERVERS = ("mail.log", "aiohttp")


async def attempt(sink: Sink, errors: list[BaseException]) -> None:
    try:
        await sink.deliver(make_alert())
    except DeliveryError as exc:
        errors.append(exc)


async def http_scenarios(errors: list[BaseException]) -> None:
    slack = FakeSlack("xoxb-the-token-slack-expects", webhook_path=f"/services/T000/B000/{HOOK_SECRET}")
    receiver = SignedReceiver("a-different-secret")
    pagerduty = FakePagerDuty(echo_key=True)
    async with serve(slack.app()) as slack_base, serve(receiver.app()) as hook_base, serve(pagerduty.app()) as pd_base:
        dead = f"http://127.0.0.1:{free_port()}"
        sinks: list[Sink] = [
            SlackSink(token=TOKEN, channel="C0ALERTS", api_url=f"{slack_base}/api"),
            SlackSink(token=TOKEN, channel="C0ALERTS", api_url=f"{dead}/api"),
            SlackSink(webhook_url=f"{slack_base}/services/T000/B000/{HOOK_SECRET}"),
            SlackSink(webhook_url=f"{slack_base}/services/T000/B000/{HOOK_SECRET}-revoked"),
            SlackSink(webhook_url=f"{dead}/services/T000/B000/{HOOK_SECRET}"),
            WebhookSink(f"{hook_base}/hooks/pot", WEBHOOK_SECRET),
            WebhookSink(f"{dead}/hooks/pot", WEBHOOK_SECRET),
            PagerDutySink(ROUTING_KEY, url=f"{pd_base}/v2/enqueue"),
            PagerDutySink(ROUTING_KEY, url=f"{dead}/v2/enqueue"),
        ]
        for sink in sinks:
            await sink.start()
            await attempt(sink, errors)
            await sink.close()


def smtp_scenarios(errors: list[BaseException], tmp_path: Path) -> None:
    contexts = self_signed(tmp_path)
    if contexts is None:
        pytest.skip("openssl is not available to make a test certificate")
    server_tls, client_tls = contexts
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True,
               "authenticator": password_check("pot", "the-right-password")}
    common = {"sender": "pot@acme.example", "recipients": ["care@acme.example"], "username": "pot", "password": PASSWORD}
    with smtp_server(Mailbox(), **options) as (host, port):
        for sink in (
            EmailSink(host=host, port=port, tls="starttls", tls_context=client_tls, **common),
            EmailSink(host=host, port=port, tls="starttls", **common),
            EmailSink(host=host, port=free_port(), tls="tls", timeout_s=2, **common),
        ):
            asyncio.run(attempt(sink, errors))


def test_no_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    asyncio.run(http_scenarios(errors))
    smtp_scenarios(errors, tmp_path)
    assert len(errors) == 11, [str(e) for e in errors]
    ours = [r for r in caplog.records if not r.name.startswith(FAKE_SERVERS)]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in ours)
    assert "[redacted]" in logged, "httpx's request log line was seen and redacted"
    shown = "\n".join(f"{e}\n{e!r}\n" + "".join(traceback.format_exception(e)) for e in errors)
    for secret in SECRETS:
        assert secret not in logged, f"a secret leaked into the logs: {secret[:6]}…"
        assert secret not in shown, f"a secret leaked into error text: {secret[:6]}…"
