"""What every connector shares: the outlet (map, publish, dead-letter, then save the cursor), rate-limit
reading, backoff, and the run loop that reconnects.

Order is what makes a restart lose nothing and repeat nothing: a connector's cursor is saved only
after the posts read before it are confirmed by the broker, and on start it resumes from the
saved cursor. Within one run, keys already published are remembered (a bounded set), so the
overlap between a catch-up poll and a stream is not published twice.

>>> parse_reset("30", now=1000.0), parse_reset("1700000100", now=1700000000.0)
(30.0, 100.0)
>>> parse_reset("2026-11-23T09:00:30Z", now=datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc).timestamp())
30.0
>>> b = Backoff(base_s=1, cap_s=8, jitter=0)
>>> [b.next() for _ in range(5)]
[1.0, 2.0, 4.0, 8.0, 8.0]
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from ...core.records import Post, parse_instant, utcnow
from ..base import Context, stage_of
from ..intake import MAX_POST_BYTES, Rejected, map_payload, native_dead_letter
from ..metrics import (CONNECTOR_ERRORS, CONNECTOR_LAG, CONNECTOR_POSTS, CONNECTOR_RATE_LIMITED, CONNECTOR_RECONNECTS,
                       CONNECTOR_UP)

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """The platform asked to slow down; ``retry_after`` seconds (from its headers, else a default)."""

    def __init__(self, retry_after: float, why: str) -> None:
        super().__init__(f"rate limited ({why}); retrying in {retry_after:.0f} s")
        self.retry_after = retry_after


class Dropped(Exception):
    """The connection ended (closed by the server or the network); the run loop reconnects."""


class HttpError(Exception):
    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


def parse_reset(value: str | None, now: float) -> float | None:
    """Seconds to wait from a reset header: seconds (Reddit, Retry-After), epoch seconds (X), an ISO 8601
    time (Mastodon) or an HTTP date (Retry-After)."""
    if not value:
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    for parse in (parse_instant, parsedate_to_datetime):
        try:
            moment = parse(text)
        except (ValueError, TypeError, IndexError):
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return max(0.0, moment.timestamp() - now)
    return None


RESET_HEADERS = ("retry-after", "x-rate-limit-reset", "x-ratelimit-reset")
REMAINING_HEADERS = ("x-rate-limit-remaining", "x-ratelimit-remaining")


def check_response(response: httpx.Response, now: float | None = None, default_wait_s: float = 60.0) -> httpx.Response:
    """Raise :class:`RateLimited` on 429 (or a spent quota), :class:`HttpError` on other errors."""
    now = time.time() if now is None else now
    wait = next((w for w in (parse_reset(response.headers.get(h), now) for h in RESET_HEADERS) if w is not None), None)
    if response.status_code == 429:
        raise RateLimited(max(1.0, wait) if wait is not None else default_wait_s, f"429 from {response.url.host}")
    if response.status_code >= 400:
        raise HttpError(response.status_code, str(response.url.copy_with(query=None)))
    remaining = next((response.headers.get(h) for h in REMAINING_HEADERS if response.headers.get(h)), None)
    if remaining is not None and wait:
        try:
            spent = float(remaining) < 1
        except ValueError:
            spent = False
        if spent:
            raise RateLimited(wait, f"quota spent at {response.url.host}")
    return response


@contextmanager
def websocket_failures(url: str, server: str, default_wait_s: float) -> Iterator[None]:
    """A WebSocket's 429 handshake as :class:`RateLimited`, other refusals as :class:`HttpError`, a drop as :class:`Dropped`."""
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    try:
        yield
    except InvalidStatus as exc:
        if exc.response.status_code == 429:
            wait = parse_reset(exc.response.headers.get("Retry-After"), time.time())
            raise RateLimited(wait or default_wait_s, f"429 from {server}") from None
        raise HttpError(exc.response.status_code, url) from None
    except ConnectionClosed as exc:
        raise Dropped(str(exc)) from None


class Backoff:
    """Exponential backoff with jitter, reset after a good session."""

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0, jitter: float = 0.2) -> None:
        self.base_s, self.cap_s, self.jitter = base_s, cap_s, jitter
        self.attempt = 0

    def next(self) -> float:
        delay = float(min(self.cap_s, self.base_s * 2 ** self.attempt))
        self.attempt += 1
        return delay * (1 + random.uniform(-self.jitter, self.jitter)) if self.jitter else delay

    def reset(self) -> None:
        self.attempt = 0


class Publisher(Protocol):
    """Where posts and dead letters go; ``publish`` returns once the broker has confirmed them."""

    async def publish(self, records: list[tuple[str, bytes]]) -> None: ...

    async def dead_letter(self, code: str, record: bytes) -> None: ...


class CursorStore(Protocol):
    def load(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryPublisher:
    """A publisher that keeps what it got (tests, ``--dry-run``)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes]] = []
        self.dead: list[tuple[str, bytes]] = []

    async def publish(self, records: list[tuple[str, bytes]]) -> None:
        self.records.extend(records)

    async def dead_letter(self, code: str, record: bytes) -> None:
        self.dead.append((code, record))


class MemoryCursorStore:
    def __init__(self, values: dict[str, dict[str, Any]] | None = None) -> None:
        self.values = dict(values or {})

    def load(self, key: str) -> dict[str, Any] | None:
        return self.values.get(key)

    async def save(self, key: str, value: dict[str, Any]) -> None:
        self.values[key] = dict(value)


class Outlet:
    """Map a connector's payloads, publish the posts, dead-letter bad frames and posts over ``max_post_bytes``."""

    def __init__(self, connector: str, fmt: str, publisher: Publisher, cursors: CursorStore, brand: str | None = None,
                 remember: int = 20_000, max_post_bytes: int = MAX_POST_BYTES) -> None:
        self.connector, self.fmt, self.publisher, self.cursors, self.brand = connector, fmt, publisher, cursors, brand
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember, self.max_post_bytes = remember, max_post_bytes

    def cursor(self, key: str) -> dict[str, Any] | None:
        return self.cursors.load(f"{self.connector}:{key}")

    async def save_cursor(self, key: str, value: dict[str, Any]) -> None:
        await self.cursors.save(f"{self.connector}:{key}", value)

    async def emit(self, payload: Any, raw: bytes | None = None, cursor: tuple[str, dict[str, Any]] | None = None,
                   profiles: Mapping[str, Mapping[str, Any]] | None = None) -> list[Post]:
        """Publish what ``payload`` holds; returns the posts published (those seen before are left out)."""
        ctx = Context(brand=self.brand, profiles=profiles or {})
        posts, rejected, _ = map_payload(self.fmt, payload, ctx, max_post_bytes=self.max_post_bytes)
        fresh = [(p, b) for p, b in posts if p.key not in self._seen]
        if fresh:
            try:
                await self.publisher.publish([(p.key, b) for p, b in fresh])
            except Exception:
                CONNECTOR_ERRORS.labels(self.connector, "publish").inc()
                raise
            for post, _ in fresh:
                self._remember_key(post.key)
            CONNECTOR_POSTS.labels(self.connector).inc(len(fresh))
            newest = max(parse_instant(p.created_at) for p, _ in fresh)
            CONNECTOR_LAG.labels(self.connector).set(max(0.0, (utcnow() - newest).total_seconds()))
        for r in rejected:
            await self.bad_frame(raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode(), *r)
        if cursor is not None:
            await self.save_cursor(*cursor)
        return [p for p, _ in fresh]

    async def bad_frame(self, raw: bytes, code: str, reason: str, stage: str | None = None) -> None:
        """Dead-letter what was read; ``stage`` as the intake said, else from the code (:func:`stage_of`)."""
        CONNECTOR_ERRORS.labels(self.connector, "bad_frame").inc()
        record = native_dead_letter(Rejected(0, code, reason, raw, stage or stage_of(code)), utcnow(), f"connector {self.connector}")
        await self.publisher.dead_letter(code, record.dumps())

    def _remember_key(self, key: str) -> None:
        self._seen[key] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)


class Connector:
    """A long-running reader of one platform. Subclasses implement :meth:`session` (one connection's life:
    catch up from the cursor, then stream or poll); :meth:`run` reconnects after drops and waits out rate limits."""

    name = "connector"

    def __init__(self, settings: Any, outlet: Outlet, http: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[Any]] | None = None) -> None:
        self.settings = settings
        self.outlet = outlet
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=90.0), follow_redirects=False)
        self._sleep = sleep or asyncio.sleep
        self.backoff = Backoff(cap_s=getattr(settings, "max_backoff_s", 300.0))
        self.sessions = 0

    async def session(self) -> None:
        raise NotImplementedError

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            if self.sessions:
                CONNECTOR_RECONNECTS.labels(self.name).inc()
            self.sessions += 1
            wait: float
            try:
                await self.session()
                wait = 0.0
            except asyncio.CancelledError:
                raise
            except RateLimited as exc:
                CONNECTOR_RATE_LIMITED.labels(self.name).inc()
                log.warning("%s: %s", self.name, exc)
                wait = exc.retry_after
            except HttpError as exc:
                CONNECTOR_ERRORS.labels(self.name, "http").inc()
                wait = self.backoff.next()
                log.warning("%s: %s; reconnecting in %.1f s", self.name, exc, wait)
            except (Dropped, httpx.TransportError, OSError, asyncio.TimeoutError) as exc:
                CONNECTOR_ERRORS.labels(self.name, "network").inc()
                wait = self.backoff.next()
                log.warning("%s: connection lost (%s); reconnecting in %.1f s", self.name, type(exc).__name__, wait)
            except Exception:  # a bug must not end the connector silently: logged, then retried
                CONNECTOR_ERRORS.labels(self.name, "network").inc()
                wait = self.backoff.next()
                log.exception("%s: unexpected error; reconnecting in %.1f s", self.name, wait)
            finally:
                CONNECTOR_UP.labels(self.name).set(0)
            if wait and not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass

    def connected(self) -> None:
        """Call once a connection is live (or a poll succeeded): resets the backoff."""
        CONNECTOR_UP.labels(self.name).set(1)
        self.backoff.reset()

    async def get_json(self, url: str, params: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        response = check_response(await self.http.get(url, params=params, headers=headers))
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()


def newer(a: str | None, b: str | None) -> str | None:
    """The larger of two numeric ids (Mastodon, X), as strings; ``None`` counts as nothing."""
    if a is None:
        return b
    if b is None:
        return a
    return a if (len(a), a) >= (len(b), b) else b
