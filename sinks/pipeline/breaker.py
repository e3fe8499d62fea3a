"""Breaker: a receiver that keeps failing is skipped at once (its deliveries deferred), not timed out per alert.

The circuit itself is :class:`sinks.limits.CircuitBreaker`; this stage asks it
before delivering and tells it how retryable failures and successes went.
"""

from __future__ import annotations

from ..base import DeliveryError
from ..limits import CircuitBreaker
from .base import Attempt, Next, Outcome

__all__ = ["Breaker"]


class Breaker:
    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        receiver = attempt.receiver
        if not self.breaker.allow(receiver):
            error = DeliveryError(f"{receiver}: circuit open after repeated failures", retryable=True)
            return Outcome("failed", error=error, later=True, reason="circuit_open")
        outcome = await next(attempt)
        if outcome.status == "delivered":
            self.breaker.record_success(receiver)
        elif isinstance(outcome.error, DeliveryError) and outcome.error.retryable:
            self.breaker.record_failure(receiver)
        return outcome
