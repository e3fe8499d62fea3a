"""The notify pipeline's stages (sinks/pipeline/), each alone and composed, with no Kafka and no real sleeping."""

from __future__ import annotations

import asyncio

from sinks.base import Delivered, DeliveryError, Sink
from sinks.limits import CircuitBreaker
from sinks.pipeline import Attempt, Breaker, DeadLetter, Dedup, Outcome, Retry, for_receiver


class Flaky(Sink):
    name = "flaky"

    def __init__(self, failures: int, retryable: bool = True) -> None:
        self.failures, self.retryable, self.calls, self.notices = failures, retryable, 0, []

    async def deliver(self, alert):
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError("flaky: 503", retryable=self.retryable)
        return Delivered(ref=f"ref-{self.calls}")

    async def follow_up(self, notice, ref):
        self.notices.append(ref)
        return Delivered(ref=None)


def attempt(sink, kind="alert", payload=None, tries=0, inline=True, first_at=0.0):
    return Attempt("hook", sink, kind, payload or {"alert_id": "al-1"}, f"al-1|hook" if kind == "alert" else "n-1|hook",
                   first_at, tries, inline)


def run(coro):
    return asyncio.run(coro)


def pipeline(sink, log=None, breaker=None, now=100.0, **options):
    seen = []
    p = for_receiver(sink, log={} if log is None else log, breaker=breaker or CircuitBreaker(5, 30),
                     observe=lambda r, o, s: seen.append(o.status), inline_attempts=3, max_delay_s=0.001,
                     clock=lambda: now, **options)
    return p, seen


def test_a_flaky_receiver_is_retried_inline_and_the_delivery_logged():
    log = {}
    p, seen = pipeline(Flaky(failures=2), log)
    outcome = run(p(attempt(sink := Flaky(failures=2))))
    assert outcome.status == "delivered" and outcome.used == 3 and sink.calls == 3
    assert log == {"al-1|hook": "ref-3"} and seen == ["delivered"]


def test_a_logged_delivery_is_not_sent_again():
    sink = Flaky(failures=0)
    p, seen = pipeline(sink, {"al-1|hook": "ok"})
    assert run(p(attempt(sink))).status == "duplicate" and sink.calls == 0 and seen == ["duplicate"]


def test_a_follow_up_gets_the_alerts_ref_from_the_log():
    sink = Flaky(failures=0)
    p, _ = pipeline(sink, {"al-1|hook": "ts-9"})
    run(p(attempt(sink, kind="notice", payload={"kind": "resolved", "alert": {"alert_id": "al-1"}})))
    assert sink.notices == ["ts-9"]


def test_a_receiver_still_down_is_deferred_then_given_up():
    sink = Flaky(failures=99)
    p, seen = pipeline(sink, max_attempts=5)
    first = run(p(attempt(sink)))
    assert first.status == "deferred" and first.used == 3 and first.not_before > 100.0
    last = run(p(attempt(sink, tries=4, inline=False)))
    assert last.status == "failed" and last.reason == "gave up" and seen == ["deferred", "failed"]


def test_a_permanent_failure_is_not_retried():
    sink = Flaky(failures=1, retryable=False)
    p, _ = pipeline(sink)
    outcome = run(p(attempt(sink)))
    assert outcome.status == "failed" and outcome.reason == "permanent failure" and sink.calls == 1


def test_an_open_circuit_defers_without_calling_the_sink():
    breaker = CircuitBreaker(1, 30, clock=lambda: 0.0)
    breaker.record_failure("hook")
    sink = Flaky(failures=0)
    p, _ = pipeline(sink, breaker=breaker)
    outcome = run(p(attempt(sink)))
    assert outcome.status == "deferred" and sink.calls == 0


def test_the_breaker_stage_counts_only_retryable_failures():
    breaker = CircuitBreaker(1, 30)

    async def permanent(a):
        return Outcome("failed", error=DeliveryError("400", retryable=False))

    run(Breaker(breaker)(attempt(None), permanent))
    assert breaker.state("hook") == "closed"


def test_retry_honours_retry_after_and_refuses_a_longer_one():
    waits = []

    async def sleep(s):
        waits.append(s)

    class Busy(Flaky):
        async def deliver(self, alert):
            self.calls += 1
            raise DeliveryError("429", retryable=True, retry_after_s=2.0 if self.calls == 1 else 60.0)

    stage = Retry(attempts=3, base_delay_s=0.01, max_delay_s=10.0, sleep=sleep)
    from sinks.pipeline import deliver

    outcome = run(stage(attempt(Busy(0)), deliver))
    assert waits == [2.0] and outcome.status == "failed" and not outcome.later and "over the 10 s limit" in str(outcome.error)


def test_dedup_and_dead_letter_stages_alone():
    async def ok(a):
        return Outcome("delivered", result=Delivered(ref=None), used=1)

    log = {}
    assert run(Dedup(log)(attempt(None), ok)).status == "delivered" and log == {"al-1|hook": "ok"}
    stage = DeadLetter(max_attempts=3, max_age_s=10, max_delay_s=1, clock=lambda: 50.0)

    async def down(a):
        return Outcome("failed", used=1, error=DeliveryError("x", retryable=True), later=True)

    assert run(stage(attempt(None, first_at=0.0), down)).reason == "gave up"  # older than max_age_s


def test_a_sink_that_declares_a_rate_is_paced():
    class Paced(Flaky):
        rate_per_s = 1000.0
        burst = 1

    sink = Paced(0)
    p, _ = pipeline(sink)
    assert run(p(attempt(sink))).status == "delivered"
