"""The signed webhook sink against a local receiver that verifies with the published helper."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from sinks.base import DeliveryError
from sinks.pipeline import deliver_with_retry
from sinks.webhook import ALERT_ID_HEADER, NOTICE_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSink, sign, verify_signature
from tests.sink_servers import SignedReceiver, make_alert, plain, serve

SECRET = "whsec-test-9d8c7b6a5f4e"


def test_delivers_a_signed_alert_that_the_receiver_verifies() -> None:
    async def scenario() -> SignedReceiver:
        receiver = SignedReceiver(SECRET)
        async with serve(receiver.app()) as base:
            sink = WebhookSink(f"{base}/hooks/pot", SECRET)
            await sink.start()
            await sink.deliver(make_alert())
            await sink.close()
        return receiver

    receiver = asyncio.run(scenario())
    (seen,) = receiver.seen
    assert receiver.verified == [True]
    assert json.loads(seen.body) == make_alert()
    assert seen.headers[SIGNATURE_HEADER].startswith("v1=") and seen.headers[ALERT_ID_HEADER] == make_alert()["alert_id"]
    assert abs(int(seen.headers[TIMESTAMP_HEADER]) - time.time()) < 5


def test_signature_fails_when_body_timestamp_or_secret_change() -> None:
    body, ts = b'{"alert_id":"al-1"}', 1_700_000_000
    signature = sign(SECRET, ts, body)
    assert verify_signature(SECRET, str(ts), body, signature, now=ts + 10)
    assert verify_signature(SECRET, str(ts), body.decode(), f"v1=00ff, {signature}", now=ts)
    assert not verify_signature(SECRET, str(ts), b'{"alert_id":"al-2"}', signature, now=ts)
    assert not verify_signature(SECRET, str(ts + 1), body, signature, now=ts)
    assert not verify_signature("other-secret", str(ts), body, signature, now=ts)
    assert not verify_signature(SECRET, str(ts), body, signature, now=ts + 301), "a replay after the tolerance"
    assert not verify_signature(SECRET, str(ts), body, signature, now=ts - 301), "a timestamp from the future"
    for bad_ts, bad_sig in [("", signature), ("soon", signature), (str(ts), ""), (str(ts), "v1=zz"), (str(ts), "v1=é")]:
        assert not verify_signature(SECRET, bad_ts, body, bad_sig, now=ts)


def test_tampered_request_fails_verification_at_the_receiver() -> None:
    async def scenario() -> SignedReceiver:
        receiver = SignedReceiver(SECRET)
        async with serve(receiver.app()) as base:
            sink = WebhookSink(f"{base}/hooks/pot", "not-the-shared-secret")
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            await sink.close()
        assert not caught.value.retryable and "401" in str(caught.value)
        return receiver

    assert asyncio.run(scenario()).verified == [False]


def test_retry_after_is_honoured_then_delivery_succeeds() -> None:
    async def scenario() -> tuple[int, SignedReceiver]:
        receiver = SignedReceiver(SECRET, script=[plain(429, "slow down", retry_after="1")])
        async with serve(receiver.app()) as base:
            sink = WebhookSink(f"{base}/hooks/pot", SECRET)
            _, attempts = await deliver_with_retry(sink, make_alert(), base_delay_s=0.01)
            await sink.close()
        return attempts, receiver

    attempts, receiver = asyncio.run(scenario())
    assert attempts == 2 and receiver.verified == [True, True]
    assert receiver.seen[1].at - receiver.seen[0].at >= 0.95


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (408, True), (400, False), (404, False), (410, False), (301, False)])
def test_status_classification(status: int, retryable: bool) -> None:
    async def scenario() -> DeliveryError:
        receiver = SignedReceiver(SECRET, script=[plain(status, "nope")])
        async with serve(receiver.app()) as base:
            sink = WebhookSink(f"{base}/hooks/pot", SECRET)
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(make_alert())
            await sink.close()
        return caught.value

    error = asyncio.run(scenario())
    assert error.retryable is retryable and str(status) in str(error)


def test_follow_ups_are_signed_notices_with_their_ids_in_headers() -> None:
    acknowledged = {"notice_id": "al-0123456789abcdef01234567:acknowledged", "kind": "acknowledged", "receivers": ["webhook"],
                    "at": "2024-05-01T12:40:00Z", "summary": "acknowledged by care-lead", "actor": "care-lead",
                    "alert": make_alert(), "detail": {"within_window": True}}
    surge = {"notice_id": "surge:brand:acme:1714568400", "kind": "surge", "receivers": ["webhook"], "at": "2024-05-01T13:00:00Z",
             "summary": "complaint surge", "actor": "monitor", "alert": None,
             "detail": {"top_terms": [["refund", 12]], "samples": ["where is my refund"]}}

    async def scenario() -> SignedReceiver:
        receiver = SignedReceiver(SECRET)
        async with serve(receiver.app()) as base:
            sink = WebhookSink(f"{base}/hooks/pot", SECRET)
            await sink.follow_up(acknowledged, "ignored-ref")
            await sink.follow_up(surge, None)
            await sink.close()
        return receiver

    receiver = asyncio.run(scenario())
    assert receiver.verified == [True, True]
    first, second = receiver.seen
    assert json.loads(first.body) == {**acknowledged, "type": "notice"}
    assert json.loads(second.body) == {**surge, "type": "notice"}
    assert first.headers["X-POT-Notice-Id"] == acknowledged["notice_id"] and first.headers["X-POT-Alert-Id"] == make_alert()["alert_id"]
    assert second.headers[NOTICE_ID_HEADER] == surge["notice_id"] and ALERT_ID_HEADER not in second.headers
    ts = first.headers[TIMESTAMP_HEADER]
    assert verify_signature(SECRET, ts, first.body, first.headers[SIGNATURE_HEADER], now=int(ts))
    assert not verify_signature(SECRET, ts, second.body, first.headers[SIGNATURE_HEADER], now=int(ts))


def test_a_notice_with_odd_ids_still_sends_clean_headers() -> None:
    odd = {"notice_id": "n-1\r\nX-Evil: 1 é", "kind": "reminder", "summary": "r", "alert": {**make_alert(), "alert_id": "al-é\n"}}

    async def scenario() -> SignedReceiver:
        receiver = SignedReceiver(SECRET)
        async with serve(receiver.app()) as base:
            sink = WebhookSink(f"{base}/hooks/pot", SECRET)
            await sink.follow_up(odd, None)
            await sink.close()
        return receiver

    (seen,) = asyncio.run(scenario()).seen
    assert seen.headers[NOTICE_ID_HEADER] == "n-1X-Evil:1" and seen.headers[ALERT_ID_HEADER] == "al-"
    assert "X-Evil" not in seen.headers and json.loads(seen.body)["notice_id"] == odd["notice_id"]
