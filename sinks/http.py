"""HTTP plumbing shared by the Slack and webhook sinks: one classification of failures, no secrets in errors.

Error messages name the sink and the status or failure kind, never the URL
(a Slack incoming-webhook URL *is* a credential) or the request headers, and
are raised ``from None`` so a traceback does not carry httpx's own exception
(whose request repr names the URL).

>>> parse_retry_after("2")
2.0
>>> parse_retry_after("soon") is None
True
>>> safe_code("channel_not_found"), safe_code("<html>oops</html>")
('channel_not_found', None)
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .base import DeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429})
_CODE = re.compile(r"[A-Za-z0-9_.:\- ]{1,64}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def safe_code(text: str) -> str | None:
    """A receiver's error code when it looks like one; never echo a page of HTML (or whatever else) into errors."""
    text = text.strip()
    return text if _CODE.fullmatch(text) else None


def short_code(text: str) -> str:
    """:func:`safe_code` as a ``" (code)"`` suffix for error messages, or nothing."""
    code = safe_code(text)
    return f" ({code})" if code else ""


def status_error(what: str, response: httpx.Response, detail: str = "") -> DeliveryError:
    """Classify a non-2xx answer: 408/425/429 and 5xx are worth retrying, other statuses are permanent."""
    return http_status_error(what, response.status_code, response.headers, detail)


def http_status_error(what: str, status: int, headers: Mapping[str, str] | None, detail: str = "") -> DeliveryError:
    """:func:`status_error` for a status and headers from any HTTP client (Slack's Web API goes through aiohttp)."""
    retryable = status in RETRYABLE_STATUS or status >= 500
    retry_after = parse_retry_after((headers or {}).get("Retry-After")) if retryable else None
    return DeliveryError(f"{what}: HTTP {status}{detail}", retryable=retryable, retry_after_s=retry_after)


async def post(client: httpx.AsyncClient, url: str, what: str, **kwargs: Any) -> httpx.Response:
    """POST and turn transport failures into :class:`DeliveryError` (timeouts and I/O errors are retryable)."""
    try:
        return await client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        error = DeliveryError(f"{what}: {type(exc).__name__} (timed out)", retryable=True,
                              maybe_delivered=not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)))
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        error = DeliveryError(f"{what}: {type(exc).__name__} (bad URL)", retryable=False)
    except httpx.ConnectError as exc:
        error = DeliveryError(f"{what}: {type(exc).__name__} (cannot connect)", retryable=True)
    except httpx.HTTPError as exc:
        error = DeliveryError(f"{what}: {type(exc).__name__}", retryable=True, maybe_delivered=True)
    raise error from None


class RedactSecrets(logging.Filter):
    """Blanks secrets out of records of one logger (httpx logs each request's full URL at INFO)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, ()
        return True


class HttpClientMixin:
    """A lazily created ``httpx.AsyncClient`` with secret redaction on the httpx logger while it lives."""

    timeout_s: float
    _transport: httpx.AsyncBaseTransport | None
    _client: httpx.AsyncClient | None = None
    _redact: RedactSecrets | None = None

    def _secrets(self) -> list[str | None]:
        return []

    def http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._redact = RedactSecrets(self._secrets())
            logging.getLogger("httpx").addFilter(self._redact)
            self._client = httpx.AsyncClient(
                timeout=self.timeout_s, transport=self._transport, follow_redirects=False,
                headers={"User-Agent": "points-of-truth"},
            )
        return self._client

    async def close_http(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._redact is not None:
            logging.getLogger("httpx").removeFilter(self._redact)
            self._redact = None
