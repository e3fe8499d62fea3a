"""The rate limiter and circuit breaker on a fake clock: no real sleeping."""

from __future__ import annotations

import asyncio

import pytest

from sinks.limits import CircuitBreaker, RateLimiter


class FakeTime:
    """A clock whose ``sleep`` advances it, and records what was asked for."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_one_per_second_per_channel_spaces_a_flood() -> None:
    time = FakeTime()
    limiter = RateLimiter(1.0, clock=time.clock, sleep=time.sleep)

    async def scenario() -> list[float]:
        return [await limiter.acquire("C0ALERTS") for _ in range(4)]

    assert asyncio.run(scenario()) == [0.0, 1.0, 1.0, 1.0]
    assert time.slept == [1.0, 1.0, 1.0] and time.now == 1003.0


def test_channels_do_not_wait_for_each_other() -> None:
    time = FakeTime()
    limiter = RateLimiter(1.0, clock=time.clock, sleep=time.sleep)

    async def scenario() -> list[float]:
        return [await limiter.acquire(key) for key in ("C1", "C2", "C3", "C1")]

    assert asyncio.run(scenario()) == [0.0, 0.0, 0.0, 1.0]


def test_burst_is_allowed_then_refills_at_the_rate() -> None:
    time = FakeTime()
    limiter = RateLimiter(2.0, burst=3, clock=time.clock, sleep=time.sleep)

    async def scenario() -> list[float]:
        waits = [await limiter.acquire("C1") for _ in range(4)]
        time.now += 10.0
        waits += [await limiter.acquire("C1") for _ in range(3)]
        time.now += 0.5
        waits.append(await limiter.acquire("C1"))
        return waits

    assert asyncio.run(scenario()) == [0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0]


def test_concurrent_callers_on_one_key_are_queued_in_call_order() -> None:
    time = FakeTime()
    order: list[int] = []

    async def sleep(seconds: float) -> None:
        time.slept.append(seconds)
        await asyncio.sleep(0)

    limiter = RateLimiter(1.0, clock=time.clock, sleep=sleep)

    async def caller(index: int) -> float:
        waited = await limiter.acquire("C1")
        order.append(index)
        return waited

    async def scenario() -> list[float]:
        return list(await asyncio.gather(*(caller(i) for i in range(4))))

    assert asyncio.run(scenario()) == [0.0, 1.0, 2.0, 3.0]
    assert order == [0, 1, 2, 3]


def test_real_sleep_is_the_default_and_short_waits_really_wait() -> None:
    limiter = RateLimiter(50.0)

    async def scenario() -> list[float]:
        return [await limiter.acquire("C1") for _ in range(2)]

    first, second = asyncio.run(scenario())
    assert first == 0.0 and 0.0 < second <= 0.02


def test_idle_keys_are_forgotten_when_many_have_been_seen() -> None:
    time = FakeTime()
    limiter = RateLimiter(1.0, clock=time.clock, sleep=time.sleep)

    async def scenario() -> None:
        for index in range(1100):
            await limiter.acquire(f"C{index}")
        time.now += 5.0
        await limiter.acquire("C-late")

    asyncio.run(scenario())
    assert len(limiter._next_free) == 1


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_limiter_rejects_nonsense(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst)


def test_breaker_opens_after_consecutive_failures_only() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=30.0, clock=time.clock)
    for _ in range(2):
        breaker.record_failure("slack")
    breaker.record_success("slack")
    for _ in range(2):
        breaker.record_failure("slack")
    assert breaker.state("slack") == "closed" and breaker.allow("slack")
    breaker.record_failure("slack")
    assert breaker.state("slack") == "open" and not breaker.allow("slack")


def test_one_dead_receiver_does_not_block_the_others() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(failure_threshold=1, clock=time.clock)
    breaker.record_failure("webhook")
    assert [breaker.allow(name) for name in ("webhook", "slack", "email")] == [False, True, True]
    assert breaker.state("never-seen") == "closed"


def test_half_open_lets_exactly_one_trial_through() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=30.0, clock=time.clock)
    breaker.record_failure("pagerduty")
    breaker.record_failure("pagerduty")
    time.now += 29.9
    assert not breaker.allow("pagerduty") and breaker.state("pagerduty") == "open"
    time.now += 0.1
    assert [breaker.allow("pagerduty") for _ in range(3)] == [True, False, False]
    assert breaker.state("pagerduty") == "half_open"


def test_successful_trial_closes_and_failed_trial_reopens_for_another_period() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10.0, clock=time.clock)
    breaker.record_failure("slack")
    time.now += 10.0
    assert breaker.allow("slack")
    breaker.record_failure("slack")
    assert breaker.state("slack") == "open" and not breaker.allow("slack")
    time.now += 9.0
    assert not breaker.allow("slack")
    time.now += 1.0
    assert breaker.allow("slack")
    breaker.record_success("slack")
    assert breaker.state("slack") == "closed"
    assert all(breaker.allow("slack") for _ in range(3))


def test_a_trial_whose_outcome_is_never_recorded_does_not_stick_half_open() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=5.0, clock=time.clock)
    breaker.record_failure("email")
    time.now += 5.0
    assert breaker.allow("email") and not breaker.allow("email")
    time.now += 5.0
    assert breaker.allow("email") and breaker.state("email") == "half_open"


def test_a_late_failure_does_not_extend_an_open_circuit() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10.0, clock=time.clock)
    breaker.record_failure("slack")
    time.now += 9.0
    breaker.record_failure("slack")
    time.now += 1.0
    assert breaker.allow("slack")


@pytest.mark.parametrize(("threshold", "reset"), [(0, 30.0), (5, -1.0)])
def test_breaker_rejects_nonsense(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold, reset)
