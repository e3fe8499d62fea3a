"""The one registration table of receiver types (:data:`SINK_TYPES`), and the sinks built from it.

Adding a receiver type is a new sink module plus one line in
:data:`SINK_TYPES`; the policy's ``receivers:`` accept exactly these types.
Each entry builds its sink from ``POT_*`` environment variables.

Credentials come from the environment only. A receiver that is named but not
configured fails at start-up with a ``ValueError`` naming the missing
variables, never their values, so a misconfiguration is found before the
first alert needs it rather than as a dead letter later.

>>> sorted(build_sinks(["console", "jsonl"], env={}, alerts_path=Path("var/alerts.jsonl")))
['console', 'jsonl']
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .base import Sink
from .console import ConsoleSink
from .jsonl import JsonlSink

__all__ = ["BUILDERS", "SINK_TYPES", "build_receivers", "build_sinks"]

Env = Mapping[str, str]


def _get(env: Env, name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _require(env: Env, receiver: str, *names: str) -> list[str]:
    missing = [name for name in names if _get(env, name) is None]
    if missing:
        raise ValueError(f"receiver {receiver!r} is not configured: set {', '.join(missing)}")
    return [env[name].strip() for name in names]


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


def _slack(env: Env, alerts_path: Path) -> Sink:
    from .slack import DEFAULT_API_URL, SlackSink

    token, channel, webhook = (_get(env, n) for n in ("POT_SLACK_BOT_TOKEN", "POT_SLACK_CHANNEL", "POT_SLACK_WEBHOOK_URL"))
    api_url = _get(env, "POT_SLACK_API_URL") or DEFAULT_API_URL
    _check_http_url("slack", "POT_SLACK_API_URL", api_url)
    if token:
        (channel,) = _require(env, "slack", "POT_SLACK_CHANNEL")
        return SlackSink(token=token, channel=channel, api_url=api_url)
    if webhook:
        _check_http_url("slack", "POT_SLACK_WEBHOOK_URL", webhook)
        return SlackSink(webhook_url=webhook)
    raise ValueError(
        "receiver 'slack' is not configured: set POT_SLACK_BOT_TOKEN and POT_SLACK_CHANNEL, or POT_SLACK_WEBHOOK_URL"
    )


def _webhook(env: Env, alerts_path: Path) -> Sink:
    from .webhook import WebhookSink

    url, secret = _require(env, "webhook", "POT_WEBHOOK_URL", "POT_WEBHOOK_SECRET")
    _check_http_url("webhook", "POT_WEBHOOK_URL", url)
    return WebhookSink(url, secret)


def _email(env: Env, alerts_path: Path) -> Sink:
    from .email import DEFAULT_PORTS, TLS_MODES, EmailSink

    host, sender, to = _require(env, "email", "POT_SMTP_HOST", "POT_EMAIL_FROM", "POT_EMAIL_TO")
    recipients = [address.strip() for address in to.split(",") if address.strip()]
    if not recipients:
        raise ValueError("receiver 'email': POT_EMAIL_TO names no address")
    tls = (_get(env, "POT_SMTP_TLS") or "starttls").lower()
    if tls not in TLS_MODES:
        raise ValueError(f"receiver 'email': POT_SMTP_TLS must be one of {', '.join(TLS_MODES)}")
    port_text = _get(env, "POT_SMTP_PORT")
    if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError("receiver 'email': POT_SMTP_PORT must be a port number")
    user, password = _get(env, "POT_SMTP_USER"), _get(env, "POT_SMTP_PASSWORD")
    if bool(user) != bool(password):
        missing = "POT_SMTP_PASSWORD" if user else "POT_SMTP_USER"
        raise ValueError(f"receiver 'email' is not configured: set {missing} (SMTP user and password go together)")
    if password and tls == "none" and not _is_loopback(host):
        raise ValueError("receiver 'email': refusing to send SMTP credentials unencrypted; set POT_SMTP_TLS=starttls or tls")
    return EmailSink(
        host=host, port=int(port_text) if port_text else DEFAULT_PORTS[tls], tls=tls,  # type: ignore[arg-type]
        username=user, password=password, sender=sender, recipients=recipients,
    )


def _pagerduty(env: Env, alerts_path: Path) -> Sink:
    from .pagerduty import DEFAULT_URL, PagerDutySink

    (routing_key,) = _require(env, "pagerduty", "POT_PAGERDUTY_ROUTING_KEY")
    url = _get(env, "POT_PAGERDUTY_URL") or DEFAULT_URL
    _check_http_url("pagerduty", "POT_PAGERDUTY_URL", url)
    return PagerDutySink(routing_key, url)


SINK_TYPES: dict[str, Callable[[Env, Path], Sink]] = {
    "console": lambda env, path: ConsoleSink(),
    "jsonl": lambda env, path: JsonlSink(path),
    "slack": _slack,
    "webhook": _webhook,
    "email": _email,
    "pagerduty": _pagerduty,
}
"""Receiver type → builder (environment, JSONL alert log path) → sink."""
BUILDERS = SINK_TYPES


def build_receivers(specs: Mapping[str, Any], env: Env = os.environ, *, alerts_path: Path) -> dict[str, Sink]:
    """The receivers a policy names: each a sink type with its own channel or address list.

    Credentials still come from the environment, per sink type; a spec only
    says where (a Slack channel, email recipients), never how to log in.
    """
    sinks: dict[str, Sink] = {}
    for name, spec in specs.items():
        if spec.type not in BUILDERS:
            raise ValueError(f"receiver {name!r}: unknown type {spec.type!r}; known: {', '.join(BUILDERS)}")
        sink = BUILDERS[spec.type](env, alerts_path)
        if getattr(spec, "channel", None):
            if not hasattr(sink, "channel") or getattr(sink, "_webhook_url", None):
                raise ValueError(f"receiver {name!r}: `channel` needs a Slack bot token (POT_SLACK_BOT_TOKEN)")
            sink.channel = spec.channel
        if getattr(spec, "to", None):
            if not hasattr(sink, "recipients"):
                raise ValueError(f"receiver {name!r}: `to` only applies to email receivers")
            sink.recipients = list(spec.to)
        sinks[name] = sink
    return sinks


def build_sinks(names: list[str], env: Env = os.environ, *, alerts_path: Path) -> dict[str, Sink]:
    """One sink per distinct receiver name, keyed by that name (what alerts' ``receivers`` refer to)."""
    unknown = sorted({name for name in names if name not in BUILDERS})
    if unknown:
        raise ValueError(f"unknown receivers {unknown}; known: {', '.join(BUILDERS)}")
    return {name: BUILDERS[name](env, alerts_path) for name in dict.fromkeys(names)}
