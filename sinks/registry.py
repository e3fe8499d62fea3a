"""The one registration table of receiver types (:data:`SINK_TYPES`), and the sinks built from it.

Adding a receiver type is a new sink module plus one line in
:data:`SINK_TYPES`; the policy's ``receivers:`` accept exactly these types.
Each entry builds its sink from typed settings, :class:`sinks.settings.ReceiverSettings` (one model per
receiver; the worker hands over its settings tree's sections, ``streams.config.Settings.receiver_settings``,
already validated). A plain ``POT_*`` mapping is accepted too, read through the same models
(:meth:`ReceiverSettings.from_env`), for callers without the tree; nothing here reads ``os.environ``.

A receiver that is named but not configured fails at start-up with a ``ValueError`` naming the missing
variables, never their values, so a misconfiguration is found before the
first alert needs it rather than as a dead letter later.

>>> sorted(build_sinks(["console", "jsonl"], ReceiverSettings(), alerts_path=Path("var/alerts.jsonl")))
['console', 'jsonl']
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from .base import Sink
from .console import ConsoleSink
from .jsonl import JsonlSink
from .settings import ReceiverSettings

__all__ = ["SINK_TYPES", "build_receivers", "build_sinks", "channel_missing", "check_receivers"]

Given = ReceiverSettings | Mapping[str, str]
"""Typed settings, or ``POT_*`` → text read through the same models."""


def _typed(settings: Given) -> ReceiverSettings:
    return settings if isinstance(settings, ReceiverSettings) else ReceiverSettings.from_env(settings)


def _plain(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _require(receiver: str, **variables: str | SecretStr | None) -> list[str]:
    """The values of ``variables`` (``POT_*`` name → value), or a ``ValueError`` naming those unset."""
    missing = [name for name, value in variables.items() if value is None]
    if missing:
        raise ValueError(f"receiver {receiver!r} is not configured: set {', '.join(missing)}")
    return [_plain(value) for value in variables.values() if value is not None]


def _check_http_url(receiver: str, variable: str, url: str) -> None:
    """Reject anything but an http(s) URL, without echoing it (webhook URLs often embed credentials)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"receiver {receiver!r}: {variable} must be an http(s) URL")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _slack(settings: ReceiverSettings, alerts_path: Path) -> Sink:
    from .slack import SlackSink

    slack = settings.slack
    _check_http_url("slack", "POT_SLACK_API_URL", slack.web_api_url)
    if slack.bot_token:
        sink = SlackSink(token=slack.bot_token.get_secret_value(), channel=slack.channel, api_url=slack.web_api_url,
                         timeout_s=settings.http_timeout_s)
        if slack.rate_per_s is not None:  # Slack's own limit is about 1/s per channel; a test server takes more
            sink.rate_per_s = slack.rate_per_s
            sink.burst = max(1, int(slack.rate_per_s))
        return sink
    if slack.webhook_url:
        _check_http_url("slack", "POT_SLACK_WEBHOOK_URL", slack.webhook_url.get_secret_value())
        return SlackSink(webhook_url=slack.webhook_url.get_secret_value(), timeout_s=settings.http_timeout_s)
    raise ValueError("receiver 'slack' is not configured: set POT_SLACK_BOT_TOKEN, or POT_SLACK_WEBHOOK_URL")


def _needs_channel(name: str, sink: Sink) -> None:
    """A Slack bot posts where its receiver says; one with no channel anywhere is a configuration error."""
    if getattr(sink, "_token", None) and not getattr(sink, "channel", None):
        raise ValueError(
            f"receiver {name!r}: no Slack channel: give it `channel:` in the policy (receivers.{name}.channel) "
            "or set POT_SLACK_CHANNEL"
        )


def _webhook(settings: ReceiverSettings, alerts_path: Path) -> Sink:
    from .webhook import WebhookSink

    hook = settings.webhook
    url, secret = _require("webhook", POT_WEBHOOK_URL=hook.url, POT_WEBHOOK_SECRET=hook.secret)
    _check_http_url("webhook", "POT_WEBHOOK_URL", url)
    return WebhookSink(url, secret, timeout_s=settings.http_timeout_s)


def _email(settings: ReceiverSettings, alerts_path: Path) -> Sink:
    from .email import DEFAULT_PORTS, EmailSink

    smtp = settings.smtp
    host, sender, to = _require("email", POT_SMTP_HOST=smtp.host, POT_EMAIL_FROM=settings.email.sender,
                                POT_EMAIL_TO=settings.email.to)
    recipients = [address.strip() for address in to.split(",") if address.strip()]
    if not recipients:
        raise ValueError("receiver 'email': POT_EMAIL_TO names no address")
    tls = smtp.tls or "starttls"
    user, password = smtp.user, smtp.password.get_secret_value() if smtp.password else None
    if bool(user) != bool(password):
        missing = "POT_SMTP_PASSWORD" if user else "POT_SMTP_USER"
        raise ValueError(f"receiver 'email' is not configured: set {missing} (SMTP user and password go together)")
    if password and tls == "none" and not _is_loopback(host):
        raise ValueError("receiver 'email': refusing to send SMTP credentials unencrypted; set POT_SMTP_TLS=starttls or tls")
    return EmailSink(host=host, port=smtp.port or DEFAULT_PORTS[tls], tls=tls, username=user, password=password,
                     sender=sender, recipients=recipients)


def _pagerduty(settings: ReceiverSettings, alerts_path: Path) -> Sink:
    from .pagerduty import DEFAULT_URL, PagerDutySink

    (routing_key,) = _require("pagerduty", POT_PAGERDUTY_ROUTING_KEY=settings.pagerduty.routing_key)
    url = settings.pagerduty.url or DEFAULT_URL
    _check_http_url("pagerduty", "POT_PAGERDUTY_URL", url)
    return PagerDutySink(routing_key, url, timeout_s=settings.http_timeout_s)


SINK_TYPES: dict[str, Callable[[ReceiverSettings, Path], Sink]] = {
    "console": lambda settings, path: ConsoleSink(),
    "jsonl": lambda settings, path: JsonlSink(path),
    "slack": _slack,
    "webhook": _webhook,
    "email": _email,
    "pagerduty": _pagerduty,
}
"""Receiver type → builder (the receivers' settings, JSONL alert log path) → sink."""


def build_receivers(specs: Mapping[str, Any], settings: Given, *, alerts_path: Path) -> dict[str, Sink]:
    """The receivers a policy names: each a sink type with its own channel or address list.

    Credentials come from ``settings``, per sink type; a spec only
    says where (a Slack channel, email recipients), never how to log in.
    """
    typed = _typed(settings)
    sinks: dict[str, Sink] = {}
    for name, spec in specs.items():
        if spec.type not in SINK_TYPES:
            raise ValueError(f"receiver {name!r}: unknown type {spec.type!r}; known: {', '.join(SINK_TYPES)}")
        sink = SINK_TYPES[spec.type](typed, alerts_path)
        if getattr(spec, "channel", None):
            if not hasattr(sink, "channel") or getattr(sink, "_webhook_url", None):
                raise ValueError(f"receiver {name!r}: `channel` needs a Slack bot token (POT_SLACK_BOT_TOKEN)")
            sink.channel = spec.channel
        if getattr(spec, "to", None):
            if not hasattr(sink, "recipients"):
                raise ValueError(f"receiver {name!r}: `to` only applies to email receivers")
            sink.recipients = list(spec.to)
        _needs_channel(name, sink)
        sinks[name] = sink
    return sinks


def build_sinks(names: list[str], settings: Given, *, alerts_path: Path) -> dict[str, Sink]:
    """One sink per distinct receiver name, keyed by that name (what alerts' ``receivers`` refer to)."""
    unknown = sorted({name for name in names if name not in SINK_TYPES})
    if unknown:
        raise ValueError(f"unknown receivers {unknown}; known: {', '.join(SINK_TYPES)}")
    typed = _typed(settings)
    sinks = {name: SINK_TYPES[name](typed, alerts_path) for name in dict.fromkeys(names)}
    for name, sink in sinks.items():
        _needs_channel(name, sink)
    return sinks


def check_receivers(specs: Mapping[str, Any], settings: Given, *, alerts_path: Path) -> dict[str, str | None]:
    """Each receiver a policy names → ``None`` when it can be built from ``settings``, else why not (naming the
    variables to set, never their values). What ``pot policy check`` reports before a worker needs them."""
    try:
        typed = _typed(settings)
    except ValueError as exc:  # a POT_* mapping with an invalid value: no receiver can be trusted with it
        return {name: str(exc) for name in specs}
    problems: dict[str, str | None] = {}
    for name, spec in specs.items():
        try:
            build_receivers({name: spec}, typed, alerts_path=alerts_path)
        except ValueError as exc:
            problems[name] = str(exc)
        else:
            problems[name] = None
    return problems


def channel_missing(specs: Mapping[str, Any], settings: Given) -> list[str]:
    """Slack receivers that could never post with a bot token: no ``channel:`` in the policy, no
    ``POT_SLACK_CHANNEL`` default, and no incoming webhook (which brings its own channel)."""
    slack = _typed(settings).slack
    if slack.channel or slack.webhook_url:
        return []
    return [name for name, spec in specs.items() if spec.type == "slack" and not getattr(spec, "channel", None)]
