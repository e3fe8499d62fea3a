"""The one registration table of receiver types (:data:`SINK_TYPES`), and the sinks built from it.

Adding a receiver type is a new sink module plus one line in
:data:`SINK_TYPES`; the policy's ``receivers:`` accept exactly these types.
Each entry builds its sink from ``POT_*`` variables, handed over by the settings tree
(``streams.config.Settings.receiver_env``: the environment and ``.env``, validated); nothing here reads
``os.environ``.

Credentials come from the environment only. A receiver that is named but not
configured fails at start-up with a ``ValueError`` naming the missing
variables, never their values, so a misconfiguration is found before the
first alert needs it rather than as a dead letter later.

>>> sorted(build_sinks(["console", "jsonl"], env={}, alerts_path=Path("var/alerts.jsonl")))
['console', 'jsonl']
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .base import Sink
from .console import ConsoleSink
from .jsonl import JsonlSink

__all__ = ["SINK_TYPES", "build_receivers", "build_sinks", "channel_missing", "check_receivers"]

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


def _timeout(env: Env, receiver: str) -> float:
    """``POT_HTTP_TIMEOUT_S``: how long an HTTP receiver may take to answer (default 10 s)."""
    text = _get(env, "POT_HTTP_TIMEOUT_S")
    try:
        value = float(text) if text is not None else 10.0
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"receiver {receiver!r}: POT_HTTP_TIMEOUT_S must be a positive number of seconds")
    return value


def _slack(env: Env, alerts_path: Path) -> Sink:
    from .slack import SlackSink
    from .slack_settings import SlackSettings

    settings = SlackSettings.from_env(env)
    _check_http_url("slack", "POT_SLACK_API_URL", settings.api_url)
    if settings.bot_token:
        sink = SlackSink(token=settings.bot_token.get_secret_value(), channel=settings.channel, api_url=settings.api_url,
                         timeout_s=_timeout(env, "slack"))
        rate = _get(env, "POT_SLACK_RATE_PER_S")  # Slack's own limit is about 1/s per channel; a test server takes more
        if rate is not None:
            try:
                sink.rate_per_s = float(rate)
            except ValueError:
                raise ValueError("receiver 'slack': POT_SLACK_RATE_PER_S must be a number") from None
            sink.burst = max(1, int(sink.rate_per_s))
        return sink
    if settings.webhook_url:
        _check_http_url("slack", "POT_SLACK_WEBHOOK_URL", settings.webhook_url.get_secret_value())
        return SlackSink(webhook_url=settings.webhook_url.get_secret_value(), timeout_s=_timeout(env, "slack"))
    raise ValueError("receiver 'slack' is not configured: set POT_SLACK_BOT_TOKEN, or POT_SLACK_WEBHOOK_URL")


def _needs_channel(name: str, sink: Sink) -> None:
    """A Slack bot posts where its receiver says; one with no channel anywhere is a configuration error."""
    if getattr(sink, "_token", None) and not getattr(sink, "channel", None):
        raise ValueError(
            f"receiver {name!r}: no Slack channel: give it `channel:` in the policy (receivers.{name}.channel) "
            "or set POT_SLACK_CHANNEL"
        )


def _webhook(env: Env, alerts_path: Path) -> Sink:
    from .webhook import WebhookSink

    url, secret = _require(env, "webhook", "POT_WEBHOOK_URL", "POT_WEBHOOK_SECRET")
    _check_http_url("webhook", "POT_WEBHOOK_URL", url)
    return WebhookSink(url, secret, timeout_s=_timeout(env, "webhook"))


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
    return PagerDutySink(routing_key, url, timeout_s=_timeout(env, "pagerduty"))


SINK_TYPES: dict[str, Callable[[Env, Path], Sink]] = {
    "console": lambda env, path: ConsoleSink(),
    "jsonl": lambda env, path: JsonlSink(path),
    "slack": _slack,
    "webhook": _webhook,
    "email": _email,
    "pagerduty": _pagerduty,
}
"""Receiver type → builder (environment, JSONL alert log path) → sink."""


def build_receivers(specs: Mapping[str, Any], env: Env, *, alerts_path: Path) -> dict[str, Sink]:
    """The receivers a policy names: each a sink type with its own channel or address list.

    Credentials still come from the environment, per sink type; a spec only
    says where (a Slack channel, email recipients), never how to log in.
    """
    sinks: dict[str, Sink] = {}
    for name, spec in specs.items():
        if spec.type not in SINK_TYPES:
            raise ValueError(f"receiver {name!r}: unknown type {spec.type!r}; known: {', '.join(SINK_TYPES)}")
        sink = SINK_TYPES[spec.type](env, alerts_path)
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


def build_sinks(names: list[str], env: Env, *, alerts_path: Path) -> dict[str, Sink]:
    """One sink per distinct receiver name, keyed by that name (what alerts' ``receivers`` refer to)."""
    unknown = sorted({name for name in names if name not in SINK_TYPES})
    if unknown:
        raise ValueError(f"unknown receivers {unknown}; known: {', '.join(SINK_TYPES)}")
    sinks = {name: SINK_TYPES[name](env, alerts_path) for name in dict.fromkeys(names)}
    for name, sink in sinks.items():
        _needs_channel(name, sink)
    return sinks


def check_receivers(specs: Mapping[str, Any], env: Env, *, alerts_path: Path) -> dict[str, str | None]:
    """Each receiver a policy names → ``None`` when it can be built from ``env``, else why not (naming the
    variables to set, never their values). What ``pot policy check`` reports before a worker needs them."""
    problems: dict[str, str | None] = {}
    for name, spec in specs.items():
        try:
            build_receivers({name: spec}, env, alerts_path=alerts_path)
        except ValueError as exc:
            problems[name] = str(exc)
        else:
            problems[name] = None
    return problems


def channel_missing(specs: Mapping[str, Any], env: Env) -> list[str]:
    """Slack receivers that could never post with a bot token: no ``channel:`` in the policy, no
    ``POT_SLACK_CHANNEL`` default, and no incoming webhook (which brings its own channel)."""
    if _get(env, "POT_SLACK_CHANNEL") or _get(env, "POT_SLACK_WEBHOOK_URL"):
        return []
    return [name for name, spec in specs.items() if spec.type == "slack" and not getattr(spec, "channel", None)]
