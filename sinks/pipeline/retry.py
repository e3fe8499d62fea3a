"""Retry: exponential backoff with jitter, honouring ``Retry-After``; the one place that waits and tries again.

Sinks only classify failures (:class:`sinks.base.DeliveryError` with
``retryable``); every receiver gets the same behaviour from here. A
``Retry-After`` over ``max_delay_s`` is not waited for: the delivery fails as
permanent (the receiver asked for longer than the pipeline waits). A sink
that raises anything else has a bug: that is a failed delivery, not a dead
worker. :func:`deliver_with_retry` runs this stage alone, for one sink.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from typing import Any

from ..base import Delivered, DeliveryError, Sink
from .base import Attempt, Next, Outcome, deliver

__all__ = ["Retry", "backoff_s", "deliver_with_retry"]

log = logging.getLogger(__name__)


def backoff_s(attempt: int, base_delay_s: float, max_delay_s: float) -> float:
    """The upper bound of the wait after try ``attempt`` (1-based): doubling from ``base_delay_s``, capped.

    >>> [backoff_s(n, 0.5, 3.0) for n in (1, 2, 3, 4)]
    [0.5, 1.0, 2.0, 3.0]
    """
    return min(max_delay_s, base_delay_s * 2 ** (attempt - 1))


class Retry:
    """Up to ``attempts`` tries on the main stream (``attempt.inline``), one on redelivery."""

    def __init__(
        self, attempts: int = 5, base_delay_s: float = 0.5, max_delay_s: float = 30.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.attempts, self.base_delay_s, self.max_delay_s, self.sleep = attempts, base_delay_s, max_delay_s, sleep

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        tries = self.attempts if attempt.inline else 1
        for n in range(1, tries + 1):
            try:
                outcome = await next(attempt)
                return Outcome(outcome.status, outcome.result, n, outcome.error, outcome.later, outcome.not_before, outcome.reason)
            except DeliveryError as exc:
                if not exc.retryable or n == tries:
                    return Outcome("failed", used=n, error=exc, later=exc.retryable, reason="retryable" if exc.retryable else "permanent")
                delay = backoff_s(n, self.base_delay_s, self.max_delay_s) * random.uniform(0.5, 1.0)
                if exc.retry_after_s is not None:
                    if exc.retry_after_s > self.max_delay_s:
                        error = DeliveryError(
                            f"{exc} (receiver asked to wait {exc.retry_after_s:g} s, over the {self.max_delay_s:g} s limit)",
                            retryable=False,
                        )
                        return Outcome("failed", used=n, error=error, later=False, reason="permanent")
                    delay = max(delay, exc.retry_after_s)
                await self.sleep(delay)
            except Exception as exc:  # a sink's bug is a failed delivery, not a dead worker
                log.exception("sink %s raised", attempt.receiver)
                return Outcome("failed", used=n, error=exc, later=False, reason="sink_error")
        raise AssertionError("unreachable")


async def deliver_with_retry(
    sink: Sink, alert: dict[str, Any], attempts: int = 5, base_delay_s: float = 0.5, max_delay_s: float = 30.0,
) -> tuple[Delivered, int]:
    """Deliver one alert through the retry stage alone; returns (result, tries used) or raises the last error."""
    stage = Retry(attempts, base_delay_s, max_delay_s)
    outcome = await stage(Attempt(getattr(sink, "name", "sink"), sink, "alert", alert, "", 0.0), deliver)
    if outcome.result is None:
        assert outcome.error is not None
        raise outcome.error
    return outcome.result, outcome.used
