"""Rate limit: wait for the receiver's turn before delivering (a token bucket, :class:`sinks.limits.RateLimiter`).

Used for receivers whose sink declares ``rate_per_s`` (Slack: about one
message per second per channel, short bursts tolerated), so a flood stays
under the limit instead of discovering it from 429s.
"""

from __future__ import annotations

from ..limits import RateLimiter
from .base import Attempt, Next, Outcome

__all__ = ["RateLimit"]


class RateLimit:
    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        await self.limiter.acquire(attempt.receiver)
        return await next(attempt)
