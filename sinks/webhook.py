"""POSTs each alert as JSON to a receiver's URL, signed so the receiver can trust it and refuse replays.

The signature is ``v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`` with the
shared secret, sent in ``X-POT-Signature`` beside ``X-POT-Timestamp`` (Unix
seconds); signing the timestamp lets a receiver reject old captures.
``X-POT-Alert-Id`` is sent too: delivery is at-least-once, so a receiver
should treat a repeated alert id as the same alert.

Follow-ups (acknowledged, resolved, reminders, digests, surges...) are POSTed
the same way, signed alike: the whole notice plus ``"type": "notice"``, with
``X-POT-Notice-Id`` (stable per notice, for the same dedup) and
``X-POT-Alert-Id`` when the notice is about an alert. Alert bodies carry no
``type``: they predate notices and receivers compare them as they are, so a
receiver tells the two apart by ``type == "notice"`` (or the notice header).

``Idempotency-Key`` names the message, stable across retries and worker
restarts: ``<alert id>:alert`` for an alert, the notice id
(``<alert id>:<step>``) for a follow-up. A crash between the receiver's
answer and the delivery log's record sends the same message again with the
same key (at most once per crash): a receiver that remembers the keys it has
processed (for a day, say) and answers 200 to a repeat sees every message
once. See docs/faults.md.

>>> sig = sign("s3cret", 1700000000, b'{"a":1}')
>>> verify_signature("s3cret", "1700000000", b'{"a":1}', sig, now=1700000100)
True
>>> verify_signature("s3cret", "1700000000", b'{"a":2}', sig, now=1700000100)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from .base import Delivered, Sink
from .http import HttpClientMixin, post, safe_code, short_code, status_error

TIMESTAMP_HEADER = "X-POT-Timestamp"
SIGNATURE_HEADER = "X-POT-Signature"
ALERT_ID_HEADER = "X-POT-Alert-Id"
NOTICE_ID_HEADER = "X-POT-Notice-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_HEADER_UNSAFE = re.compile(r"[^\x21-\x7e]")


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def header_value(value: Any) -> str:
    """An id as a header value: printable ASCII only, bounded, so a stray character cannot fail (or split) the request."""
    return _HEADER_UNSAFE.sub("", "" if value is None else str(value))[:200]


def sign(secret: str | bytes, timestamp: int | str, body: str | bytes) -> str:
    """The ``X-POT-Signature`` value for a body sent at ``timestamp``."""
    digest = hmac.new(_bytes(secret), f"{timestamp}.".encode("ascii") + _bytes(body), hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str | int,
    body: str | bytes,
    signature: str,
    now: float | datetime,
    tolerance_s: float = 300,
) -> bool:
    """True when ``signature`` (one or more comma-separated ``v1=`` values) signs this body and timestamp,
    and the timestamp is within ``tolerance_s`` of ``now``; never raises on malformed input.

    Verify against the raw request bytes, before any JSON parsing: re-serialising changes the body.
    """
    try:
        sent_at = int(str(timestamp).strip())
        current = now.timestamp() if isinstance(now, datetime) else float(now)
        expected = sign(secret, sent_at, body)
    except (TypeError, ValueError, UnicodeEncodeError):
        return False
    if abs(current - sent_at) > tolerance_s:
        return False
    candidates = [part.strip() for part in str(signature).split(",")]
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates if candidate.isascii())


class WebhookSink(HttpClientMixin, Sink):
    """429, 408 and 5xx answers and timeouts are retryable (``Retry-After`` honoured); other 4xx and 3xx are not."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s
        self.clock = clock
        self._transport = transport

    def __repr__(self) -> str:
        return "WebhookSink()"

    def _secrets(self) -> list[str | None]:
        """The signing secret, and the URL: webhook URLs often carry a token in their path or query."""
        return [self._secret, self.url]

    async def start(self) -> None:
        self.http()

    async def close(self) -> None:
        await self.close_http()

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        alert_id = header_value(alert.get("alert_id", ""))
        return await self._send(alert, {ALERT_ID_HEADER: alert_id, IDEMPOTENCY_HEADER: f"{alert_id}:alert"})

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """POST the notice as it is, so the receiver decides what a follow-up means to it; ``ref`` is not needed,
        since the notice carries the alert (and its id) itself."""
        notice_id = header_value(notice.get("notice_id", ""))
        headers = {NOTICE_ID_HEADER: notice_id, IDEMPOTENCY_HEADER: notice_id}
        alert = notice.get("alert")
        if isinstance(alert, dict) and alert.get("alert_id"):
            headers[ALERT_ID_HEADER] = header_value(alert["alert_id"])
        return await self._send({**notice, "type": "notice"}, headers)

    async def _send(self, payload: dict[str, Any], extra_headers: dict[str, str]) -> Delivered:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            **extra_headers,
        }
        response = await post(self.http(), self.url, "webhook", content=body, headers=headers)
        if response.is_success:
            return Delivered(ref=safe_code(response.headers.get("X-Request-Id", "")))
        raise status_error("webhook", response, short_code(response.text[:100]))
