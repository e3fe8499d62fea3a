"""Bounded request rates for the write endpoints: a token bucket per client and path prefix, answered with 429
and ``Retry-After`` when a client goes over, as one aiohttp middleware.

The limited prefixes are ``POST /posts`` and everything under ``/ingest/`` (the
intake endpoints), so an endpoint added under a limited prefix is limited with
no code of its own. Each client (its address; behind a proxy, all clients
share one) gets ``rate_per_s`` requests a second with bursts of ``burst``;
``rate_per_s`` 0 turns the limit off (``POT_HTTP_RATE_PER_S``,
``POT_HTTP_BURST``). Buckets are kept for at most ``max_clients`` clients
(the oldest go first), so a flood of addresses cannot grow memory.

>>> limiter = RequestLimiter(rate_per_s=1.0, burst=2, clock=lambda: 0.0)
>>> [limiter.check("a") for _ in range(3)]
[None, None, 1.0]
>>> limiter.check("b") is None
True
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

__all__ = ["LIMITED", "RequestLimiter", "middleware"]

LIMITED: tuple[tuple[str, str], ...] = (("POST", "/posts"), ("*", "/ingest/"))
"""(method, path prefix) pairs under the limit; ``*`` is any method."""


class RequestLimiter:
    """Token buckets by key; :meth:`check` takes a token or says how long to wait for one."""

    def __init__(
        self, rate_per_s: float, burst: int, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s < 0 or burst < 1:
            raise ValueError("a request limit needs rate_per_s >= 0 and burst >= 1")
        self.rate_per_s, self.burst, self.max_clients, self.clock = rate_per_s, burst, max_clients, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, key: str) -> float | None:
        """``None`` when the request may go ahead (a token is taken), else the seconds until one is free."""
        if self.rate_per_s == 0:
            return None
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = None
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate_per_s
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(limiter: RequestLimiter, limited: Sequence[tuple[str, str]] = LIMITED) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware answering 429 (JSON, ``Retry-After`` in whole seconds) to a client over its rate."""

    def matches(request: web.Request) -> str | None:
        for method, prefix in limited:
            if (method == "*" or request.method == method) and (request.path == prefix or request.path.startswith(prefix)):
                return prefix
        return None

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        prefix = matches(request)
        if prefix is not None:
            wait = limiter.check(f"{prefix}|{request.remote or '?'}")
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                return web.json_response(
                    {"error": f"too many requests: at most {limiter.rate_per_s:g} a second (bursts of {limiter.burst}); "
                              f"try again in {seconds} s"},
                    status=429, headers={"Retry-After": str(seconds)},
                )
        return await handler(request)

    return limit
