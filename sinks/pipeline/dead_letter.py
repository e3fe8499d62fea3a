"""Dead letter: a failure worth trying later is deferred with a backoff, until attempts or age run out.

Turns a ``failed`` outcome into ``deferred`` (``not_before`` set: the worker
puts the delivery on the ``redeliver`` topic) while the tries so far are
under ``max_attempts`` and the first try is younger than ``max_age_s``; what
stays ``failed`` goes to the dead-letter topic with a ``delivery_failed``
event.

>>> import asyncio
>>> from sinks.base import DeliveryError
>>> from sinks.pipeline.base import Attempt, Outcome
>>> async def down(attempt): return Outcome("failed", used=3, error=DeliveryError("503", retryable=True), later=True)
>>> stage = DeadLetter(max_attempts=20, max_age_s=3600, max_delay_s=10, clock=lambda: 100.0)
>>> outcome = asyncio.run(stage(Attempt("hook", None, "alert", {}, "al-1|hook", first_at=90.0), down))
>>> outcome.status, outcome.not_before
('deferred', 104.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from .base import Attempt, Next, Outcome

__all__ = ["DeadLetter"]


class DeadLetter:
    def __init__(
        self, max_attempts: int, max_age_s: float, max_delay_s: float, clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_attempts, self.max_age_s, self.max_delay_s, self.clock = max_attempts, max_age_s, max_delay_s, clock

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        outcome = await next(attempt)
        if outcome.status != "failed":
            return outcome
        tries = attempt.tries + outcome.used
        now = self.clock()
        if outcome.later and tries < self.max_attempts and now - attempt.first_at < self.max_age_s:
            backoff = min(self.max_delay_s, 0.5 * 2 ** min(tries, 8))
            return replace(outcome, status="deferred", not_before=now + backoff)
        return replace(outcome, reason="gave up" if outcome.later else "permanent failure")
