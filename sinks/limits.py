"""Two guards for the notify pipeline: a per-key rate limiter and a per-receiver circuit breaker.

Both are plain asyncio objects with an injectable clock (and, for the
limiter, an injectable ``sleep``), so tests drive time instead of waiting.
They decide only *when* to deliver; sinks still only deliver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class RateLimiter:
    """A token bucket per key: ``rate_per_s`` sustained, up to ``burst`` at once after a quiet spell.

    Slack documents about one ``chat.postMessage`` per second per channel
    (short bursts tolerated), so ``RateLimiter(1.0, burst=1)`` keyed by channel
    keeps a flood of alerts under the limit instead of discovering it from
    429s, whose ``Retry-After`` would stall every alert behind them.

    Each call reserves its slot before it sleeps (a GCRA-style "next free
    time" per key), so concurrent callers on one key are spaced out in call
    order and callers on other keys are never delayed. A cancelled wait
    still uses its slot, erring on the slow side.

    >>> limiter = RateLimiter(2.0, burst=2, clock=lambda: 0.0, sleep=lambda s: asyncio.sleep(0))
    >>> [asyncio.run(limiter.acquire("C1")) for _ in range(4)]
    [0.0, 0.0, 0.5, 1.0]
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate_per_s > 0:
            raise ValueError("rate_per_s must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval_s = 1.0 / rate_per_s
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self._next_free: dict[str, float] = {}

    async def acquire(self, key: str) -> float:
        """Wait until ``key`` may send again; returns the seconds waited (0.0 when a token was free)."""
        now = self.clock()
        theoretical = max(self._next_free.get(key, now), now) + self.interval_s
        self._next_free[key] = theoretical
        wait = max(0.0, theoretical - self.burst * self.interval_s - now)
        if len(self._next_free) > 1024:
            self._forget_idle(now)
        if wait > 0:
            await self.sleep(wait)
        return wait

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose bucket has refilled; they behave exactly as unseen keys."""
        for key in [key for key, free_at in self._next_free.items() if free_at <= now]:
            del self._next_free[key]


@dataclass
class _Circuit:
    state: BreakerState = "closed"
    failures: int = 0
    opened_at: float = 0.0
    trial_at: float = 0.0


class CircuitBreaker:
    """Per receiver: after ``failure_threshold`` failures in a row, skip it for ``reset_after_s``, then try once.

    One receiver failing must not hold up the others: without a breaker every
    alert for a dead receiver waits out its timeouts and retries, and the
    pipeline slows for everyone. An open circuit makes :meth:`allow` say no
    at once, so the caller keeps that receiver's deliveries pending (never
    drops them) and moves on. After ``reset_after_s`` one trial is let
    through (half-open): success closes the circuit and the backlog flows,
    failure opens it for another ``reset_after_s``. Should a trial's outcome
    never be recorded (its task was cancelled), another trial is allowed
    after ``reset_after_s`` so the circuit cannot stick half-open.

    >>> now = [0.0]
    >>> breaker = CircuitBreaker(failure_threshold=2, reset_after_s=30, clock=lambda: now[0])
    >>> breaker.record_failure("slack"); breaker.record_failure("slack")
    >>> breaker.state("slack"), breaker.allow("slack"), breaker.allow("email")
    ('open', False, True)
    >>> now[0] = 30.0
    >>> breaker.allow("slack"), breaker.state("slack"), breaker.allow("slack")
    (True, 'half_open', False)
    >>> breaker.record_success("slack"); breaker.state("slack")
    'closed'
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_after_s < 0:
            raise ValueError("reset_after_s must not be negative")
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def _circuit(self, name: str) -> _Circuit:
        return self._circuits.setdefault(name, _Circuit())

    def allow(self, name: str) -> bool:
        """Whether to try ``name`` now: always when closed, never while open, one trial at a time when half-open."""
        circuit = self._circuit(name)
        if circuit.state == "closed":
            return True
        now = self.clock()
        since = circuit.opened_at if circuit.state == "open" else circuit.trial_at
        if now - since < self.reset_after_s:
            return False
        circuit.state, circuit.trial_at = "half_open", now
        return True

    def ready(self, name: str) -> bool:
        """Whether :meth:`allow` would say yes now, without taking the half-open trial: for callers that wait."""
        circuit = self._circuits.get(name)
        if circuit is None or circuit.state == "closed":
            return True
        since = circuit.opened_at if circuit.state == "open" else circuit.trial_at
        return self.clock() - since >= self.reset_after_s

    def record_success(self, name: str) -> None:
        """A delivery to ``name`` worked: the receiver is up, so close its circuit and forget past failures."""
        self._circuits[name] = _Circuit()

    def record_failure(self, name: str) -> None:
        """A delivery to ``name`` failed: count it, open at the threshold, and re-open at once if it was the trial."""
        circuit = self._circuit(name)
        if circuit.state == "open":
            return
        circuit.failures += 1
        if circuit.state == "half_open" or circuit.failures >= self.failure_threshold:
            circuit.state, circuit.opened_at = "open", self.clock()

    def state(self, name: str) -> BreakerState:
        """``closed``, ``open`` or ``half_open`` (a trial let through, its outcome not yet recorded)."""
        circuit = self._circuits.get(name)
        return circuit.state if circuit else "closed"
