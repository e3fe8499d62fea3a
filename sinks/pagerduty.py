"""Pages through PagerDuty's Events API v2: one alert, one PagerDuty alert, keyed by the alert id.

The ``dedup_key`` is the alert id, so PagerDuty folds repeats into the open
incident: an at-least-once redelivery, a breach or an escalation (sent as a
``critical`` trigger) lands on the incident already open rather than opening
a second one, and acknowledge or resolve reach the incident the trigger opened. PagerDuty
answers 202 when it accepts an event, 400 for an invalid event (permanent:
sending it again cannot fix it), 429 and 5xx when it wants the event again
later (retryable, as are timeouts and network errors).

The routing key is a credential: it travels only in the request body and
is kept out of ``repr``, error text and (via the httpx log filter) logs.

>>> alert = {"alert_id": "al-1", "priority": "P2", "classification": {"label": "complaint"},
...          "post": {"text": "late\\nagain \\x1b[2J", "platform": "x", "author": {"handle": "@pete"}}}
>>> event = trigger_event(alert)
>>> event["event_action"], event["dedup_key"], event["payload"]["severity"]
('trigger', 'al-1', 'error')
>>> event["payload"]["summary"]
'P2 complaint from @pete on x: late again \\\\x1b[2J'
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .base import Delivered, DeliveryError, Sink
from .http import HttpClientMixin, post, short_code, status_error
from .render import http_url, one_line, parse_deadline
from .text import clean_control, truncate

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info"}
SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
TEXT_LIMIT = 4000
RETRIGGER = {"escalation": "ESCALATED", "breach": "DEADLINE BREACHED"}
STATE_ACTIONS = {"acknowledged": "acknowledge", "resolved": "resolve"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dedup_key_of(alert: dict[str, Any]) -> str:
    """The alert id as PagerDuty's ``dedup_key``; a missing or over-long id is a permanent failure."""
    key = alert.get("alert_id")
    if not isinstance(key, str) or not key or len(key) > DEDUP_KEY_LIMIT:
        raise DeliveryError("pagerduty: alert has no usable alert_id for dedup_key", retryable=False)
    return key


def summary_of(alert: dict[str, Any], prefix: str = "") -> str:
    """One line for the incident title: priority, label, author and the post text, control characters neutralised."""
    post = _dict(alert.get("post"))
    author = _dict(post.get("author"))
    label = one_line(_dict(alert.get("classification")).get("label") or "alert", 40)
    who = one_line(author.get("handle") or author.get("id") or "unknown", 80)
    where = one_line(post.get("platform") or "?", 40)
    head = f"{prefix}{one_line(alert.get('priority') or '?', 8)} {label} from {who} on {where}: "
    return truncate((head + one_line(post.get("text"), SUMMARY_LIMIT)).rstrip(), SUMMARY_LIMIT)


def _details(alert: dict[str, Any], notice: dict[str, Any] | None) -> dict[str, Any]:
    post = _dict(alert.get("post"))
    author = _dict(post.get("author"))
    classification = _dict(alert.get("classification"))
    reasons = alert.get("reasons") if isinstance(alert.get("reasons"), list) else []
    details: dict[str, Any] = {
        "alert_id": alert.get("alert_id"), "priority": alert.get("priority"),
        "label": classification.get("label"), "confidence": classification.get("confidence"),
        "deadline": alert.get("deadline"), "window_s": alert.get("window_s"),
        "reasons": [one_line(reason, 200) for reason in reasons[:10]],
        "author": one_line(author.get("handle") or author.get("id"), 80), "followers": author.get("followers"),
        "post_id": one_line(post.get("id"), 80), "text": clean_control(truncate(str(post.get("text") or ""), TEXT_LIMIT)),
    }
    if http_url(post.get("url")):
        details["post_url"] = post["url"]
    if notice is not None:
        details["notice"] = {key: one_line(notice.get(key), 500) for key in ("kind", "at", "actor", "detail", "summary")}
    return details


def trigger_event(alert: dict[str, Any], severity: str | None = None, notice: dict[str, Any] | None = None,
                  dedup_key: str | None = None) -> dict[str, Any]:
    """The trigger event for an alert, without the routing key (added only when sending).

    ``severity`` overrides the one the priority maps to (an unknown priority
    pages as ``error``); a ``notice`` prefixes the summary with what happened.
    """
    post = _dict(alert.get("post"))
    prefix = f"{RETRIGGER[notice['kind']]}: " if notice is not None and notice.get("kind") in RETRIGGER else ""
    payload: dict[str, Any] = {
        "summary": summary_of(alert, prefix),
        "source": "points-of-truth",
        "severity": severity or SEVERITY.get(str(alert.get("priority")), "error"),
        "component": one_line(post.get("platform") or "unknown", 64),
        "group": one_line(post.get("brand") or "unknown", 64),
        "class": one_line(_dict(alert.get("classification")).get("label") or "alert", 64),
        "custom_details": _details(alert, notice),
    }
    moment = parse_deadline((notice or {}).get("at") or alert.get("raised_at"))
    if moment is not None:
        payload["timestamp"] = moment.isoformat()
    event: dict[str, Any] = {
        "event_action": "trigger", "dedup_key": dedup_key or dedup_key_of(alert),
        "client": "points-of-truth", "payload": payload,
    }
    url = http_url(post.get("url"))
    if url:
        event["links"] = [{"href": url, "text": f"Original post on {payload['component']}"}]
    return event


class PagerDutySink(HttpClientMixin, Sink):
    """Triggers on delivery; follow-ups acknowledge, resolve, or re-trigger as ``critical`` on breach and escalation."""

    name = "pagerduty"

    def __init__(
        self,
        routing_key: str,
        url: str = DEFAULT_URL,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not routing_key:
            raise ValueError("PagerDuty needs a routing key")
        self._routing_key = routing_key
        self.url = url
        self.timeout_s = timeout_s
        self._transport = transport

    def __repr__(self) -> str:
        return "PagerDutySink()"

    def _secrets(self) -> list[str | None]:
        return [self._routing_key]

    async def start(self) -> None:
        self.http()

    async def close(self) -> None:
        await self.close_http()

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        event = trigger_event(alert)
        await self._send(event)
        return Delivered(ref=event["dedup_key"])

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """Acknowledge or resolve the incident ``ref`` names; re-trigger it as ``critical`` on breach or escalation.

        A breach or escalation with no ``ref`` (PagerDuty is the escalation
        level and never had the alert) opens the incident under the alert id.
        Warnings and reminders send nothing: PagerDuty keeps paging by its own
        escalation policy, and an acknowledged incident stays quiet even when
        re-triggered, which is PagerDuty's documented behaviour.
        """
        kind = notice.get("kind")
        if kind in STATE_ACTIONS:
            if ref is None:
                return Delivered(ref=None)
            await self._send({"event_action": STATE_ACTIONS[kind], "dedup_key": ref})
            return Delivered(ref=ref)
        if kind in RETRIGGER:
            alert = notice.get("alert")
            if not isinstance(alert, dict):
                raise DeliveryError(f"pagerduty: {kind} notice carries no alert", retryable=False)
            event = trigger_event(alert, severity="critical", notice=notice, dedup_key=ref)
            await self._send(event)
            return Delivered(ref=event["dedup_key"])
        return Delivered(ref=None)

    async def _send(self, event: dict[str, Any]) -> None:
        try:
            body = json.dumps({"routing_key": self._routing_key, **event}, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            raise DeliveryError("pagerduty: event is not valid JSON (a NaN or an unserialisable value)", retryable=False) from None
        response = await post(self.http(), self.url, "pagerduty", content=body.encode("utf-8"),
                              headers={"Content-Type": "application/json; charset=utf-8"})
        if not response.is_success:
            raise status_error("pagerduty", response, self._detail(response))

    def _detail(self, response: httpx.Response) -> str:
        """PagerDuty's own reason for a refusal, bounded and with the routing key blanked should it be echoed."""
        try:
            body = response.json()
        except ValueError:
            return short_code(response.text[:100].replace(self._routing_key, "[redacted]"))
        if not isinstance(body, dict):
            return ""
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        raw = [str(body.get("message") or body.get("status") or "")] + [str(error) for error in errors[:3]]
        parts = [one_line(part.replace(self._routing_key, "[redacted]"), 160) for part in raw]
        text = "; ".join(part for part in parts if part)
        return f" ({text})" if text else ""
