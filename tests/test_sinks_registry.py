"""Building sinks from ``settings.receivers`` and ``POT_*`` variables; misconfiguration fails loudly, secrets stay unprinted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sinks import ConsoleSink, JsonlSink
from sinks.email import EmailSink
from sinks.pagerduty import DEFAULT_URL as PAGERDUTY_URL
from sinks.pagerduty import PagerDutySink
from sinks.registry import build_receivers, build_sinks
from sinks.slack import SlackSink
from sinks.webhook import WebhookSink

ALERTS = Path("var/alerts.jsonl")
TOKEN = "xoxb-registry-secret-token"
HOOK = "https://hooks.slack.com/services/T0/B0/registrysecret"
ROUTING_KEY = "R0utingKeyRegistrySecret00000000"
EMAIL = {"POT_SMTP_HOST": "smtp.acme.example", "POT_EMAIL_FROM": "pot@acme.example", "POT_EMAIL_TO": "a@acme.example, b@acme.example"}


def test_builds_every_known_kind() -> None:
    env = {"POT_SLACK_BOT_TOKEN": TOKEN, "POT_SLACK_CHANNEL": "C0ALERTS",
           "POT_WEBHOOK_URL": "https://hooks.acme.example/pot", "POT_WEBHOOK_SECRET": "whsec", **EMAIL}
    sinks = build_sinks(["console", "jsonl", "slack", "webhook", "email", "slack"], env, alerts_path=ALERTS)
    assert list(sinks) == ["console", "jsonl", "slack", "webhook", "email"]
    assert isinstance(sinks["console"], ConsoleSink) and isinstance(sinks["jsonl"], JsonlSink)
    assert isinstance(sinks["slack"], SlackSink) and sinks["slack"].channel == "C0ALERTS"
    assert isinstance(sinks["webhook"], WebhookSink)
    mail = sinks["email"]
    assert isinstance(mail, EmailSink) and mail.recipients == ["a@acme.example", "b@acme.example"]
    assert (mail.tls, mail.port) == ("starttls", 587)
    assert TOKEN not in repr(sinks["slack"]) and "whsec" not in repr(sinks["webhook"])


def test_slack_webhook_mode_and_email_port_defaults() -> None:
    slack = build_sinks(["slack"], {"POT_SLACK_WEBHOOK_URL": HOOK}, alerts_path=ALERTS)["slack"]
    assert isinstance(slack, SlackSink) and "registrysecret" not in repr(slack)
    mail = build_sinks(["email"], {**EMAIL, "POT_SMTP_TLS": "tls"}, alerts_path=ALERTS)["email"]
    assert isinstance(mail, EmailSink) and mail.port == 465
    mail = build_sinks(["email"], {**EMAIL, "POT_SMTP_TLS": "none", "POT_SMTP_PORT": "2525"}, alerts_path=ALERTS)["email"]
    assert isinstance(mail, EmailSink) and mail.port == 2525


@pytest.mark.parametrize(
    ("names", "env", "expected"),
    [
        (["slack"], {}, "set POT_SLACK_BOT_TOKEN, or POT_SLACK_WEBHOOK_URL"),
        (["slack"], {"POT_SLACK_BOT_TOKEN": TOKEN}, "POT_SLACK_CHANNEL"),
        (["slack"], {"POT_SLACK_WEBHOOK_URL": "ftp://" + HOOK[8:]}, "POT_SLACK_WEBHOOK_URL must be an http(s) URL"),
        (["webhook"], {"POT_WEBHOOK_URL": "https://hooks.acme.example/pot"}, "POT_WEBHOOK_SECRET"),
        (["webhook"], {"POT_WEBHOOK_SECRET": "whsec", "POT_WEBHOOK_URL": " "}, "POT_WEBHOOK_URL"),
        (["email"], {"POT_SMTP_HOST": "smtp.acme.example"}, "POT_EMAIL_FROM, POT_EMAIL_TO"),
        (["email"], {**EMAIL, "POT_SMTP_USER": "pot"}, "POT_SMTP_PASSWORD"),
        (["email"], {**EMAIL, "POT_SMTP_TLS": "ssl3"}, "POT_SMTP_TLS must be one of"),
        (["email"], {**EMAIL, "POT_SMTP_PORT": "smtp"}, "POT_SMTP_PORT"),
        (["email"], {**EMAIL, "POT_SMTP_TLS": "none", "POT_SMTP_USER": "pot", "POT_SMTP_PASSWORD": "pw-secret"}, "unencrypted"),
        (["pagerduty"], {}, "POT_PAGERDUTY_ROUTING_KEY"),
        (["pagerduty"], {"POT_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "POT_PAGERDUTY_URL": "file:///etc/passwd"},
         "POT_PAGERDUTY_URL must be an http(s) URL"),
        (["pager"], {}, "unknown receivers ['pager']"),
    ],
)
def test_misconfiguration_names_the_variables_never_their_values(names: list[str], env: dict[str, str], expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        build_sinks(names, env, alerts_path=ALERTS)
    message = str(caught.value)
    assert expected in message
    for value in env.values():
        if value.strip() and not value.startswith("smtp.") and value not in ("pot", "ssl3", "smtp"):
            assert value not in message


def test_pagerduty_from_its_routing_key_with_the_documented_endpoint_by_default() -> None:
    sink = build_sinks(["pagerduty"], {"POT_PAGERDUTY_ROUTING_KEY": ROUTING_KEY}, alerts_path=ALERTS)["pagerduty"]
    assert isinstance(sink, PagerDutySink) and sink.url == PAGERDUTY_URL == "https://events.pagerduty.com/v2/enqueue"
    assert ROUTING_KEY not in repr(sink)
    env = {"POT_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "POT_PAGERDUTY_URL": "https://events.eu.pagerduty.com/v2/enqueue"}
    sink = build_sinks(["pagerduty"], env, alerts_path=ALERTS)["pagerduty"]
    assert isinstance(sink, PagerDutySink) and sink.url == env["POT_PAGERDUTY_URL"]


def test_http_sinks_create_their_client_on_start_and_close_it() -> None:
    async def scenario() -> None:
        for sink in build_sinks(["slack", "webhook"], {"POT_SLACK_WEBHOOK_URL": HOOK, "POT_WEBHOOK_URL": "https://h.example/p",
                                                       "POT_WEBHOOK_SECRET": "whsec"}, alerts_path=ALERTS).values():
            assert sink._client is None  # type: ignore[attr-defined]
            await sink.start()
            client = sink._client  # type: ignore[attr-defined]
            assert client is not None and not client.is_closed
            await sink.close()
            assert client.is_closed and sink._client is None  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_slack_channels_come_from_the_policy_receivers_without_a_global_channel() -> None:
    from streams.core.policy import parse_policy

    policy = parse_policy({
        "receivers": {"desk": {"type": "slack", "channel": "#support-desk"}, "incidents": {"type": "slack", "channel": "C0INC"}},
        "routes": {"receivers": ["desk"], "routes": [{"match": {"label": "complaint"}, "receivers": ["incidents"]}]},
    })
    sinks = build_receivers(policy.receivers, {"POT_SLACK_BOT_TOKEN": TOKEN}, alerts_path=ALERTS)
    assert {name: sink.channel for name, sink in sinks.items()} == {"desk": "#support-desk", "incidents": "C0INC"}


def test_a_slack_receiver_without_any_channel_is_refused_by_name_and_the_global_one_is_a_default() -> None:
    from streams.core.policy import parse_policy

    policy = parse_policy({"receivers": {"desk": {"type": "slack"}, "incidents": {"type": "slack", "channel": "C0INC"}},
                           "routes": {"receivers": ["desk", "incidents"]}})
    with pytest.raises(ValueError) as caught:
        build_receivers(policy.receivers, {"POT_SLACK_BOT_TOKEN": TOKEN}, alerts_path=ALERTS)
    assert "receiver 'desk': no Slack channel" in str(caught.value) and "POT_SLACK_CHANNEL" in str(caught.value)
    assert TOKEN not in str(caught.value)
    sinks = build_receivers(policy.receivers, {"POT_SLACK_BOT_TOKEN": TOKEN, "POT_SLACK_CHANNEL": "C0DEFAULT"}, alerts_path=ALERTS)
    assert {name: sink.channel for name, sink in sinks.items()} == {"desk": "C0DEFAULT", "incidents": "C0INC"}
