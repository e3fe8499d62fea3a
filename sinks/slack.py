"""Posts alerts to Slack: ``chat.postMessage`` with a bot token, or an incoming-webhook URL.

Slack's Web API answers HTTP 200 with ``{"ok": false, "error": ...}`` for
API errors, so a 200 is not yet a success. ``ratelimited``, HTTP 429 (with
``Retry-After`` in seconds), 5xx, Slack's own transient errors and timeouts
are retryable; ``invalid_auth``, ``channel_not_found``, ``not_in_channel``
and other 4xx are permanent, because retrying cannot fix configuration.

The bot token and the webhook URL are credentials: they are kept out of
``repr``, error text and (via a filter on the httpx logger) log records.
"""

from __future__ import annotations

from typing import Any

import httpx

from .base import Delivered, DeliveryError, Sink
from .http import HttpClientMixin, parse_retry_after, post, safe_code, short_code, status_error
from .slack_blocks import build_message, build_notice

DEFAULT_API_URL = "https://slack.com/api"
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


class SlackSink(HttpClientMixin, Sink):
    """One alert, one Slack message; ``Delivered.ref`` is the message ``ts`` (Web API mode)."""

    name = "slack"
    rate_per_s = 1.0
    burst = 3
    """Slack allows about one message per second per channel; the notify pipeline's rate-limit stage paces
    each Slack receiver (one channel each) to that, rather than learning it from 429s."""

    def __init__(
        self,
        *,
        token: str | None = None,
        channel: str | None = None,
        webhook_url: str | None = None,
        api_url: str = DEFAULT_API_URL,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if token and not channel:
            raise ValueError("a Slack bot token needs a channel")
        if not token and not webhook_url:
            raise ValueError("Slack needs a bot token and channel, or an incoming-webhook URL")
        self._token = token or None
        self._webhook_url = None if token else webhook_url
        self.channel = channel
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self._transport = transport

    def __repr__(self) -> str:
        mode = f"channel={self.channel!r}" if self._token else "webhook"
        return f"SlackSink({mode})"

    def _secrets(self) -> list[str | None]:
        return [self._token, self._webhook_url]

    async def start(self) -> None:
        self.http()

    async def close(self) -> None:
        await self.close_http()

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        message = build_message(alert)
        message.update(unfurl_links=False, unfurl_media=False)
        if self._token:
            return await self._post_message(message)
        return await self._post_webhook(message)

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """Acknowledged, resolved and breached alerts are updated in place (``chat.update``); warnings,
        reminders and escalations go in the alert's thread. Without the original (an escalation level, a
        webhook, a digest) the follow-up is a message of its own, with the alert when there is one."""
        alert, kind = notice.get("alert"), notice["kind"]
        if not self._token:
            message = build_message(alert, kind, notice["summary"]) if alert and kind == "escalation" else build_notice(notice)
            return await self._post_webhook({**message, "unfurl_links": False, "unfurl_media": False})
        if alert and ref and kind in ("acknowledged", "resolved", "breach"):
            message = build_message(alert, kind, notice["summary"])
            await self._call("chat.update", {"channel": self.channel, "ts": ref, **message})
            return Delivered(ref=ref)
        if alert and ref:
            return await self._post_message({**build_notice(notice), "thread_ts": ref, "unfurl_links": False, "unfurl_media": False})
        if alert:
            return await self._post_message({**build_message(alert, kind, notice["summary"]), "unfurl_links": False, "unfurl_media": False})
        return await self._post_message({**build_notice(notice), "unfurl_links": False})

    async def _post_message(self, message: dict[str, Any]) -> Delivered:
        body = await self._call("chat.postMessage", {"channel": self.channel, **message})
        return Delivered(ref=str(body.get("ts") or "") or None)

    async def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One Web API call; Slack answers 200 with ``ok: false`` for API errors, so both are checked."""
        response = await post(
            self.http(), f"{self.api_url}/{method}", "slack",
            json=payload,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json; charset=utf-8"},
        )
        if response.status_code != 200:
            raise status_error("slack", response)
        try:
            body = response.json()
        except ValueError:
            raise DeliveryError("slack: answer was not JSON", retryable=True) from None
        if not isinstance(body, dict):
            raise DeliveryError("slack: answer was not a JSON object", retryable=True)
        if body.get("ok") is True:
            return body
        code = safe_code(str(body.get("error") or "")) or "unknown_error"
        if code in TRANSIENT_ERRORS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise DeliveryError(f"slack: {code}", retryable=True, retry_after_s=retry_after)
        raise DeliveryError(f"slack: {code}", retryable=False)

    async def _post_webhook(self, message: dict[str, Any]) -> Delivered:
        assert self._webhook_url is not None
        response = await post(self.http(), self._webhook_url, "slack webhook", json=message)
        if response.is_success:
            return Delivered()
        raise status_error("slack webhook", response, short_code(response.text[:100]))
