"""Posts alerts to Slack: ``chat.postMessage`` with a bot token, or an incoming-webhook URL.

Web API calls go through ``slack_sdk``'s ``AsyncWebClient`` with its retry
handlers turned off: retrying is the notify pipeline's job (its retry stage
honours ``Retry-After``), and two retry loops would multiply the attempts.

Slack's Web API answers HTTP 200 with ``{"ok": false, "error": ...}`` for
API errors, so a 200 is not yet a success. ``ratelimited``, HTTP 429 (with
``Retry-After`` in seconds), 5xx, Slack's own transient errors and timeouts
are retryable; ``invalid_auth``, ``channel_not_found``, ``not_in_channel``
and other 4xx are permanent, because retrying cannot fix configuration.

The bot token and the webhook URL are credentials: they are kept out of
``repr``, error text and (via a filter on the httpx logger) log records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .base import Delivered, DeliveryError, Sink
from .http import RETRYABLE_STATUS, HttpClientMixin, parse_retry_after, post, safe_code, short_code, status_error
from .slack_blocks import build_message, build_notice
from .slack_settings import DEFAULT_API_URL

if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient

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
        if not token and not webhook_url:
            raise ValueError("Slack needs a bot token and channel, or an incoming-webhook URL")
        self._token = token or None
        self._webhook_url = None if token else webhook_url
        self.channel = channel
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self._transport = transport
        self._session: aiohttp.ClientSession | None = None
        self._web: AsyncWebClient | None = None
        self._channel_id: str | None = None

    def __repr__(self) -> str:
        mode = f"channel={self.channel!r}" if self._token else "webhook"
        return f"SlackSink({mode})"

    def _secrets(self) -> list[str | None]:
        return [self._token, self._webhook_url]

    async def start(self) -> None:
        if self._token:
            self.web()
        else:
            self.http()

    async def close(self) -> None:
        await self.close_http()
        if self._session is not None:
            await self._session.close()
        self._session = self._web = None

    def web(self) -> AsyncWebClient:
        """The Web API client, made on first use (it needs a running event loop) with no retry handlers."""
        if self._web is None:
            import aiohttp
            from slack_sdk.web.async_client import AsyncWebClient

            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
            self._web = AsyncWebClient(
                token=self._token, base_url=f"{self.api_url}/", session=self._session, retry_handlers=[],
                user_agent_prefix="points-of-truth",
            )
        return self._web

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
            await self._call("chat.update", {"channel": self._channel_id or self.channel, "ts": ref, **message})
            return Delivered(ref=ref)
        if alert and ref:
            return await self._post_message({**build_notice(notice), "thread_ts": ref, "unfurl_links": False, "unfurl_media": False})
        if alert:
            return await self._post_message({**build_message(alert, kind, notice["summary"]), "unfurl_links": False, "unfurl_media": False})
        return await self._post_message({**build_notice(notice), "unfurl_links": False})

    async def _post_message(self, message: dict[str, Any]) -> Delivered:
        body = await self._call("chat.postMessage", {"channel": self.channel, **message})
        if isinstance(body.get("channel"), str) and body["channel"]:
            self._channel_id = body["channel"]  # chat.update takes only the ID, never a #name
        return Delivered(ref=str(body.get("ts") or "") or None)

    async def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One Web API call; Slack answers 200 with ``ok: false`` for API errors, and slack_sdk raises
        ``SlackApiError`` for those and for any other status, so every failure is classified here."""
        import aiohttp
        from slack_sdk.errors import SlackApiError

        try:
            response = await self.web().api_call(method, json=payload)
        except SlackApiError as exc:
            answer = exc.response  # an AsyncSlackResponse, or aiohttp's response when the body was not JSON
            status = getattr(answer, "status_code", getattr(answer, "status", 0))
            raise _api_error(status, getattr(answer, "headers", None), getattr(answer, "data", None)) from None
        except TimeoutError as exc:
            raise DeliveryError(f"slack: {type(exc).__name__} (timed out)", retryable=True) from None
        except aiohttp.InvalidURL as exc:
            raise DeliveryError(f"slack: {type(exc).__name__} (bad URL)", retryable=False) from None
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryError(f"slack: {type(exc).__name__} (cannot connect)", retryable=True) from None
        except (aiohttp.ClientError, ValueError, AttributeError) as exc:  # a broken or unreadable answer
            raise DeliveryError(f"slack: {type(exc).__name__}", retryable=True) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _post_webhook(self, message: dict[str, Any]) -> Delivered:
        assert self._webhook_url is not None
        response = await post(self.http(), self._webhook_url, "slack webhook", json=message)
        if response.is_success:
            return Delivered()
        raise status_error("slack webhook", response, short_code(response.text[:100]))


def _api_error(status: int, headers: Any, body: Any) -> DeliveryError:
    """Classify a refused Web API call: HTTP 429 and 5xx, ``ratelimited`` and Slack's transient errors are worth
    retrying (with ``Retry-After`` when given); bad configuration (``invalid_auth``, ``channel_not_found``) is not."""
    retry_after = parse_retry_after((headers or {}).get("Retry-After"))
    if status != 200:
        retryable = status in RETRYABLE_STATUS or status >= 500
        return DeliveryError(f"slack: HTTP {status}", retryable=retryable, retry_after_s=retry_after if retryable else None)
    if not isinstance(body, dict) or "ok" not in body:
        return DeliveryError("slack: answer was not a Web API answer", retryable=True)
    code = safe_code(str(body.get("error") or "")) or "unknown_error"
    if code in TRANSIENT_ERRORS:
        return DeliveryError(f"slack: {code}", retryable=True, retry_after_s=retry_after)
    return DeliveryError(f"slack: {code}", retryable=False)
