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

Every message posted through the Web API carries message ``metadata``
(``event_type`` ``pot_alert`` or ``pot_notice``, ``event_payload`` with the
alert id, and the notice id for a notice), so after a crash the sink can
:meth:`SlackSink.find` it with ``conversations.history`` (or
``conversations.replies`` in a thread) and the notify pipeline adopts its
``ts`` instead of posting it twice. Looking up needs the ``channels:history``
scope (``groups:history`` for a private channel); without it the look-up
warns once and the message is posted again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import httpx

from .base import Delivered, DeliveryError, Sink
from .http import HttpClientMixin, http_status_error, parse_retry_after, post, safe_code, short_code, status_error
from .slack_blocks import build_message, build_notice
from .settings import DEFAULT_API_URL

if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

ALERT_EVENT, NOTICE_EVENT = "pot_alert", "pot_notice"
UPDATED_IN_PLACE = ("acknowledged", "resolved", "breach")
NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}
"""On every message posted: a post's links and images are the author's, never previews in a team's channel."""
HISTORY_PAGE, HISTORY_PAGES = 200, 10
"""A look-up reads at most this many pages of this many messages (Slack may return fewer per page)."""
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
        self._posted: dict[tuple[str, str], str] = {}
        self._covered: tuple[float, float] | None = None
        self._warned = False
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
        if self._token:
            return await self._post_message({**message, "metadata": metadata("alert", alert)})
        return await self._post_webhook(message)

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """Acknowledged, resolved and breached alerts are updated in place (``chat.update``); warnings,
        reminders and escalations go in the alert's thread. Without the original (an escalation level, a
        webhook, a digest) the follow-up is a message of its own, with the alert when there is one."""
        alert, kind = notice.get("alert"), notice["kind"]
        if not self._token:
            message = build_message(alert, kind, notice["summary"]) if alert and kind == "escalation" else build_notice(notice)
            return await self._post_webhook(message)
        tag = {"metadata": metadata("notice", notice)}
        if alert and ref and kind in UPDATED_IN_PLACE:
            message = build_message(alert, kind, notice["summary"])
            await self._call("chat.update", {"channel": self._channel_id or self.channel, "ts": ref, **message})
            return Delivered(ref=ref)
        if alert and ref:
            return await self._post_message({**build_notice(notice), "thread_ts": ref, **tag})
        if alert:
            return await self._post_message({**build_message(alert, kind, notice["summary"]), **tag})
        return await self._post_message({**build_notice(notice), **tag})

    async def find(self, kind: str, message: dict[str, Any], ref: str | None, since: float, until: float) -> Delivered | None:
        """The ``ts`` of a message an earlier try posted, found by its metadata; ``None`` when it is not there.

        Alerts and stand-alone notices are looked for in the channel's history
        from ``since``, thread replies in ``ref``'s thread. Updates in place are
        never looked for: doing one again changes nothing. One read of the
        history serves every later look-up it covers (after a restart, the
        whole backlog), so a crash costs a few calls, not one per alert.
        """
        if not self._token:
            return None
        key = _key(kind, message)
        if key is None or (kind == "notice" and message.get("alert") and ref and message.get("kind") in UPDATED_IN_PLACE):
            return None
        try:
            if kind == "notice" and message.get("alert") and ref:
                thread: dict[tuple[str, str], str] = {}
                await self._scan("conversations.replies", {"ts": ref}, since, thread)
                ts = thread.get(key)
            else:
                ts = await self._in_history(key, since, until)
        except DeliveryError as exc:
            if exc.retryable:
                raise
            if not self._warned:
                log.warning("slack: cannot look messages up (%s); a message a crash interrupted may be posted twice", exc)
                self._warned = True
            return None
        return Delivered(ref=ts) if ts else None

    async def _in_history(self, key: tuple[str, str], since: float, until: float) -> str | None:
        covered = self._covered
        if covered is not None and covered[0] <= since and until <= covered[1]:
            return self._posted.get(key)
        scanned_at = time.time()
        lowest = await self._scan("conversations.history", {}, since, self._posted)
        start = min(since, covered[0]) if covered is not None and since <= covered[1] else since
        self._covered = (max(start, lowest), scanned_at)
        return self._posted.get(key)

    async def _scan(self, method: str, args: dict[str, Any], since: float, into: dict[tuple[str, str], str]) -> float:
        """Read ``method`` from ``since`` (newest first, a bounded number of pages) into ``into``: our metadata
        key → ts. Returns the time the read reaches back to: ``since`` when it read everything."""
        cursor, reached = None, since
        for _ in range(HISTORY_PAGES):
            body = await self._call(method, {
                "channel": self._channel_id or self.channel, "oldest": f"{since:.6f}", "limit": HISTORY_PAGE,
                "include_all_metadata": True,
                **args, **({"cursor": cursor} if cursor else {}),
            })
            for item in body.get("messages") or []:
                found = _key_of(item)
                if found is not None:
                    into[found] = str(item.get("ts"))
            cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if not body.get("has_more") or not cursor:
                return since
            stamps = [float(m["ts"]) for m in body.get("messages") or [] if _is_ts(m.get("ts"))]
            reached = min(stamps, default=reached)
        return reached

    async def _post_message(self, message: dict[str, Any]) -> Delivered:
        body = await self._call("chat.postMessage", {"channel": self.channel, **message, **NO_UNFURL})
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
        except TimeoutError as exc:  # Slack may have acted before the answer was lost
            raise DeliveryError(f"slack: {type(exc).__name__} (timed out)", retryable=True, maybe_delivered=True) from None
        except aiohttp.InvalidURL as exc:
            raise DeliveryError(f"slack: {type(exc).__name__} (bad URL)", retryable=False) from None
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryError(f"slack: {type(exc).__name__} (cannot connect)", retryable=True) from None
        except (aiohttp.ClientError, ValueError, AttributeError) as exc:  # a broken or unreadable answer
            raise DeliveryError(f"slack: {type(exc).__name__}", retryable=True, maybe_delivered=True) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _post_webhook(self, message: dict[str, Any]) -> Delivered:
        assert self._webhook_url is not None
        response = await post(self.http(), self._webhook_url, "slack webhook", json={**message, **NO_UNFURL})
        if response.is_success:
            return Delivered()
        raise status_error("slack webhook", response, short_code(response.text[:100]))


def _api_error(status: int, headers: Any, body: Any) -> DeliveryError:
    """Classify a refused Web API call: HTTP 429 and 5xx, ``ratelimited`` and Slack's transient errors are worth
    retrying (with ``Retry-After`` when given); bad configuration (``invalid_auth``, ``channel_not_found``) is not."""
    if status != 200:
        return http_status_error("slack", status, headers)
    if not isinstance(body, dict) or "ok" not in body:
        return DeliveryError("slack: answer was not a Web API answer", retryable=True)
    code = safe_code(str(body.get("error") or "")) or "unknown_error"
    if code in TRANSIENT_ERRORS:
        return DeliveryError(f"slack: {code}", retryable=True, retry_after_s=parse_retry_after((headers or {}).get("Retry-After")))
    return DeliveryError(f"slack: {code}", retryable=False)


def metadata(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """Slack message metadata naming what a message is, so a look-up can find it (values: strings only).

    >>> metadata("alert", {"alert_id": "al-1"})
    {'event_type': 'pot_alert', 'event_payload': {'alert_id': 'al-1'}}
    """
    if kind == "alert":
        return {"event_type": ALERT_EVENT, "event_payload": {"alert_id": str(message.get("alert_id") or "")}}
    alert = message.get("alert") if isinstance(message.get("alert"), dict) else {}
    return {"event_type": NOTICE_EVENT, "event_payload": {
        "notice_id": str(message.get("notice_id") or ""), "alert_id": str(alert.get("alert_id") or "")}}


def _key(kind: str, message: dict[str, Any]) -> tuple[str, str] | None:
    payload = metadata(kind, message)
    ident = payload["event_payload"]["alert_id" if kind == "alert" else "notice_id"]
    return (payload["event_type"], ident) if ident else None


def _key_of(item: Any) -> tuple[str, str] | None:
    meta = item.get("metadata") if isinstance(item, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("event_payload"), dict):
        return None
    payload, event_type = meta["event_payload"], meta.get("event_type")
    ident = payload.get("alert_id") if event_type == ALERT_EVENT else payload.get("notice_id") if event_type == NOTICE_EVENT else None
    return (event_type, str(ident)) if ident and _is_ts(item.get("ts")) else None


def _is_ts(value: Any) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True
