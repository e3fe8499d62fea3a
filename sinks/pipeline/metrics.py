"""Metrics: how each delivery ended and how long a successful one took, reported to a callback.

Sinks know nothing of Prometheus; the worker passes ``observe(receiver,
outcome, seconds)`` (:mod:`streams.agents.delivery` counts
``pot_deliveries_total`` and ``pot_delivery_seconds`` with it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .base import Attempt, Next, Outcome

__all__ = ["Metrics", "Observe"]

Observe = Callable[[str, Outcome, float], None]


class Metrics:
    def __init__(self, observe: Observe, clock: Callable[[], float] = time.perf_counter) -> None:
        self.observe, self.clock = observe, clock

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        started = self.clock()
        outcome = await next(attempt)
        self.observe(attempt.receiver, outcome, self.clock() - started)
        return outcome
