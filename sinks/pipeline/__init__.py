"""The notify pipeline: small stages with one signature, composed per receiver, around a sink that only delivers.

::

    attempt ─► Metrics ─► Dedup ─► DeadLetter ─► Breaker ─► [RateLimit] ─► Retry ─► sink.deliver / sink.follow_up

One stage per module: :mod:`.metrics`, :mod:`.dedup` (the delivery log),
:mod:`.dead_letter` (defer or give up), :mod:`.breaker`, :mod:`.rate_limit`,
:mod:`.retry`. :func:`for_receiver` composes them for one receiver; the
worker (:mod:`streams.agents.delivery`) only turns the final
:class:`Outcome` into records (a ``delivered`` event, a redelivery, a dead
letter).
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any

from ..base import Sink
from ..limits import CircuitBreaker, RateLimiter
from .base import Attempt, Next, Outcome, Pipeline, Stage, Status, compose, deliver
from .breaker import Breaker
from .dead_letter import DeadLetter
from .dedup import Dedup
from .metrics import Metrics, Observe
from .rate_limit import RateLimit
from .retry import Retry, backoff_s, deliver_with_retry

__all__ = [
    "Attempt", "Breaker", "DeadLetter", "Dedup", "Metrics", "Next", "Observe", "Outcome", "Pipeline", "RateLimit",
    "Retry", "Stage", "Status", "backoff_s", "compose", "deliver", "deliver_with_retry", "for_receiver",
]


def for_receiver(
    sink: Sink,
    *,
    log: MutableMapping[str, Any],
    breaker: CircuitBreaker,
    observe: Observe,
    inline_attempts: int = 3,
    max_delay_s: float = 10.0,
    max_attempts: int = 20,
    max_age_s: float = 3600.0,
    clock: Callable[[], float] = time.time,
) -> Pipeline:
    """The stages for one receiver; a sink that declares ``rate_per_s`` (and ``burst``) is paced. ``clock`` (epoch
    seconds) ages deliveries: the worker passes its own, which tests and fire drills can move forward."""
    stages: list[Stage] = [
        Metrics(observe), Dedup(log), DeadLetter(max_attempts, max_age_s, max_delay_s, clock), Breaker(breaker),
    ]
    rate = getattr(sink, "rate_per_s", None)
    if rate:
        stages.append(RateLimit(RateLimiter(rate, burst=getattr(sink, "burst", 1))))
    stages.append(Retry(inline_attempts, max_delay_s=max_delay_s))
    return compose(stages)
