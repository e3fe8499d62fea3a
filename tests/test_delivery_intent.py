"""Intent, then reconcile (sinks/pipeline/intent.py): a crash between a receiver acting and the delivery log
recording it must not show a person the message twice. Counted at real local receivers (the Slack look-alike,
the signed webhook receiver), which record every request they get."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from sinks.base import Delivered, DeliveryError, Sink
from sinks.limits import CircuitBreaker
from sinks.pipeline import Attempt, for_receiver
from sinks.slack import SlackSink
from sinks.webhook import WebhookSink
from tests.sink_servers import FakeSlack, SignedReceiver, make_alert, plain, serve, slack_error

TOKEN = "xoxb-intent-test"


def pipeline(sink: Sink, log: dict, started_at: float, attempts: int = 3):
    return for_receiver(sink, log=log, breaker=CircuitBreaker(5, 30), observe=lambda *a: None,
                        inline_attempts=attempts, max_delay_s=0.01, started_at=started_at)


def attempt(sink: Sink, alert: dict, receiver: str = "chat") -> Attempt:
    return Attempt(receiver, sink, "alert", alert, f"{alert['alert_id']}|{receiver}", time.time())


def fresh_alert(alert_id: str, raised_at: float | None = None) -> dict:
    """An alert raised now (or at ``raised_at``), so only the tests that mean to look one up before a try do."""
    alert = make_alert()
    alert["alert_id"] = alert_id
    alert["raised_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if raised_at is None else raised_at))
    return alert


class Recorder(Sink):
    """Delivers, remembering what the delivery log held at the moment of each try."""

    def __init__(self, log: dict, fail: list[DeliveryError] | None = None) -> None:
        self.log, self.fail, self.seen_log, self.lookups = log, list(fail or []), [], 0

    async def deliver(self, alert):
        self.seen_log.append(self.log.get(f"{alert['alert_id']}|chat"))
        if self.fail:
            raise self.fail.pop(0)
        return Delivered(ref="r-1")

    async def find(self, kind, message, ref, since, until):
        self.lookups += 1
        return None


def test_the_intent_is_in_the_log_before_the_receiver_is_called():
    log: dict = {}
    sink = Recorder(log)
    outcome = asyncio.run(pipeline(sink, log, started_at=time.time() - 10)(attempt(sink, fresh_alert("al-new"))))
    assert outcome.status == "delivered"
    (entry,) = sink.seen_log
    assert entry["attempt"] == 1 and entry["receiver"] == "chat" and entry["intent_at"] >= time.time() - 5
    assert log == {"al-new|chat": "r-1"}, "the result replaces the intent"


def test_a_receiver_that_cannot_be_asked_writes_no_intent():
    """The default ``find`` cannot look anything up, so such a sink's tries do not wait for the log first."""
    log: dict = {}
    writes: list = []

    class Plain(Sink):
        async def deliver(self, alert):
            writes.append(("deliver", log.get(f"{alert['alert_id']}|chat")))
            return Delivered(ref=None)

    async def write(key, value):
        writes.append(("intent", key))
        log[key] = value

    sink = Plain()
    run = for_receiver(sink, log=log, breaker=CircuitBreaker(5, 30), observe=lambda *a: None, write=write,
                       started_at=time.time())
    assert asyncio.run(run(attempt(sink, fresh_alert("al-plain")))).status == "delivered"
    assert writes == [("deliver", None)] and log == {"al-plain|chat": "ok"}


def test_a_refused_try_is_not_looked_up_but_a_timed_out_one_is():
    log: dict = {}
    refused = DeliveryError("hook: HTTP 503", retryable=True)
    timed_out = DeliveryError("hook: ReadTimeout (timed out)", retryable=True, maybe_delivered=True)
    sink = Recorder(log, fail=[refused, timed_out])
    outcome = asyncio.run(pipeline(sink, log, started_at=time.time() - 10)(attempt(sink, fresh_alert("al-t"))))
    assert outcome.status == "delivered" and [e["attempt"] for e in sink.seen_log] == [1, 2, 3]
    assert sink.lookups == 1, "only the try after the timeout asked the receiver first"


def slack(fake: FakeSlack, base: str) -> SlackSink:
    return SlackSink(token=fake.token, channel=fake.channel, api_url=f"{base}/api")


def test_slack_after_a_crash_adopts_the_message_it_finds_instead_of_posting_again():
    async def scenario() -> tuple[FakeSlack, dict]:
        fake = FakeSlack(TOKEN, real_time=True)
        async with serve(fake.app()) as base:
            log: dict = {}
            before = slack(fake, base)
            await pipeline(before, log, started_at=time.time() - 60)(attempt(before, fresh_alert("al-crash")))
            posted_ts = log["al-crash|chat"]
            log["al-crash|chat"] = {"intent_at": time.time() - 5, "attempt": 1, "receiver": "chat"}  # the result was lost
            await before.close()
            after = slack(fake, base)  # the restarted worker: a new sink, a new pipeline
            outcome = await pipeline(after, log, started_at=time.time())(attempt(after, fresh_alert("al-crash")))
            await after.close()
            assert outcome.status == "delivered" and outcome.reason == "reconciled"
            assert log["al-crash|chat"] == posted_ts
            return fake, log

    fake, _ = asyncio.run(scenario())
    assert Counter(fake.alert_posts()) == Counter({"al-crash": 1}), "one message in the channel"
    (lookup,) = fake.lookups
    assert lookup["include_all_metadata"] is True and float(lookup["oldest"]) < time.time() - 5


def test_slack_posts_when_the_intent_left_no_message_and_when_the_log_lost_the_intent_too():
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN, real_time=True)
        async with serve(fake.app()) as base:
            log: dict = {"al-never|chat": {"intent_at": time.time() - 5, "attempt": 1, "receiver": "chat"}}
            sink = slack(fake, base)
            run = pipeline(sink, log, started_at=time.time())
            assert (await run(attempt(sink, fresh_alert("al-never")))).status == "delivered"
            first = slack(fake, base)
            await pipeline(first, {}, started_at=time.time() - 60)(attempt(first, fresh_alert("al-lost", time.time() - 30)))
            # restarted, and the delivery log lost its last update (no intent, no result): looked up by the alert's time
            later = slack(fake, base)
            outcome = await pipeline(later, {}, started_at=time.time())(attempt(later, fresh_alert("al-lost", time.time() - 30)))
            assert outcome.reason == "reconciled"
            await sink.close(), await first.close(), await later.close()
        return fake

    fake = asyncio.run(scenario())
    assert Counter(fake.alert_posts()) == Counter({"al-never": 1, "al-lost": 1})


def test_one_read_of_the_history_serves_the_whole_backlog_after_a_restart():
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN, real_time=True)
        async with serve(fake.app()) as base:
            before, raised = slack(fake, base), time.time() - 20
            ids = [f"al-b{i}" for i in range(30)]
            for alert_id in ids:
                await before.deliver(fresh_alert(alert_id, raised))
            after = slack(fake, base)
            after.rate_per_s = None  # not paced: this test is about look-ups
            run = pipeline(after, {}, started_at=time.time())
            outcomes = [await run(attempt(after, fresh_alert(a, raised))) for a in ids]
            assert {o.reason for o in outcomes} == {"reconciled"}
            await before.close(), await after.close()
        return fake

    fake = asyncio.run(scenario())
    assert len(fake.alert_posts()) == 30
    assert len(fake.lookups) == 1, f"{len(fake.lookups)} history calls for a backlog of 30"


def test_slack_history_429_is_waited_out_then_the_look_up_goes_on():
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN, real_time=True)
        async with serve(fake.app()) as base:
            sink = slack(fake, base)
            await sink.deliver(fresh_alert("al-429"))
            fake.script.append(slack_error("ratelimited", status=429, retry_after="0"))
            log = {"al-429|chat": {"intent_at": time.time() - 5, "attempt": 1, "receiver": "chat"}}
            outcome = await pipeline(slack(fake, base), log, started_at=time.time())(attempt(sink, fresh_alert("al-429")))
            assert outcome.status == "delivered" and outcome.reason == "reconciled"
            await sink.close()
        return fake

    fake = asyncio.run(scenario())
    assert fake.alert_posts() == ["al-429"]


def test_a_thread_reply_is_looked_up_in_its_thread():
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN, real_time=True)
        async with serve(fake.app()) as base:
            sink = slack(fake, base)
            alert = fresh_alert("al-th")
            ts = (await sink.deliver(alert)).ref
            notice = {"notice_id": "al-th:warning", "kind": "warning", "alert": alert, "at": alert["raised_at"],
                      "actor": "monitor", "detail": {}, "summary": "75 % of the window gone", "receivers": ["chat"]}
            await sink.follow_up(notice, ts)
            found = await slack(fake, base).find("notice", notice, ts, time.time() - 60, time.time())
            assert found is not None and found.ref in fake.messages and fake.messages[found.ref]["thread_ts"] == ts
            await sink.close()
        return fake

    fake = asyncio.run(scenario())
    assert fake.lookups[-1]["ts"]


def test_the_webhook_idempotency_key_is_the_same_on_every_try_and_after_a_restart():
    async def scenario() -> SignedReceiver:
        receiver = SignedReceiver("s3cret", script=[plain(503)])
        async with serve(receiver.app()) as base:
            alert = fresh_alert("al-hook")
            for _ in range(2):  # the second round is the restarted worker: an intent, no result
                sink = WebhookSink(f"{base}/hooks/pot", "s3cret")
                log = {"al-hook|chat": {"intent_at": time.time() - 5, "attempt": 1, "receiver": "chat"}}
                await pipeline(sink, log, started_at=time.time())(attempt(sink, alert))
                await sink.close()
        return receiver

    receiver = asyncio.run(scenario())
    keys = [seen.headers["Idempotency-Key"] for seen in receiver.seen]
    assert keys == ["al-hook:alert"] * 3
    assert {json.loads(seen.body)["alert_id"] for seen in receiver.seen} == {"al-hook"}


def test_without_the_history_scope_slack_warns_once_and_posts(caplog):
    async def scenario() -> FakeSlack:
        fake = FakeSlack(TOKEN, real_time=True)
        async with serve(fake.app()) as base:
            sink = slack(fake, base)
            fake.script.append(slack_error("missing_scope"))
            log = {"al-scope|chat": {"intent_at": time.time() - 5, "attempt": 1, "receiver": "chat"}}
            outcome = await pipeline(sink, log, started_at=time.time())(attempt(sink, fresh_alert("al-scope")))
            assert outcome.status == "delivered" and outcome.reason != "reconciled"
            await sink.close()
        return fake

    fake = asyncio.run(scenario())
    assert fake.alert_posts() == ["al-scope"]
    assert sum("cannot look messages up" in r.getMessage() for r in caplog.records) == 1
