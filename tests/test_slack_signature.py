"""Slack request signing: Slack's own documented example, and every way a forged or stale request is refused."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiohttp import web

from sinks.slack_signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SlackSignatureError,
    sign_slack_request,
    verify_slack_request,
)
from tests.sink_servers import serve

SECRET = "slack-signing-secret-4e3d2c1b0a"
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%7B%22value%22%3A%22ack%3Aal-1%22%7D%5D%7D"
TS = 1_714_568_400

# Slack's worked example from "Verifying requests from Slack" (api.slack.com/authentication/verifying-requests-from-slack).
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def reason_for(**overrides: object) -> str:
    arguments: dict[str, object] = {"signing_secret": SECRET, "timestamp": str(TS), "body": BODY,
                                    "signature": sign_slack_request(SECRET, TS, BODY), "now": TS + 5}
    arguments.update(overrides)
    with pytest.raises(SlackSignatureError) as caught:
        verify_slack_request(**arguments)  # type: ignore[arg-type]
    return caught.value.reason


def test_slacks_documented_example_verifies() -> None:
    assert sign_slack_request(SLACK_SECRET, SLACK_TS, SLACK_BODY) == SLACK_SIGNATURE
    verify_slack_request(SLACK_SECRET, SLACK_TS, SLACK_BODY, SLACK_SIGNATURE, now=int(SLACK_TS) + 30)


def test_a_fresh_correctly_signed_request_passes() -> None:
    signature = sign_slack_request(SECRET, TS, BODY)
    assert signature.startswith("v0=") and len(signature) == 3 + 64
    for now in (TS, TS + 300, TS - 300):
        verify_slack_request(SECRET, str(TS), BODY, signature, now=now)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"signature": sign_slack_request("a-guessed-secret", TS, BODY)}, "bad_signature"),
    ({"body": BODY.replace(b"ack", b"res")}, "bad_signature"),
    ({"body": BODY + b" "}, "bad_signature"),
    ({"timestamp": str(TS + 1)}, "bad_signature"),
    ({"signature": "v1=" + sign_slack_request(SECRET, TS, BODY)[3:]}, "bad_signature"),
    ({"signature": "v0=zz"}, "bad_signature"),
    ({"signature": "v0=é\udcff"}, "bad_signature"),
    ({"now": TS + 360}, "stale_timestamp"),
    ({"now": TS - 360}, "stale_timestamp"),
    ({"timestamp": None}, "missing_headers"),
    ({"signature": None}, "missing_headers"),
    ({"timestamp": "", "signature": ""}, "missing_headers"),
    ({"timestamp": "soon"}, "bad_timestamp"),
    ({"timestamp": "-1714568400"}, "bad_timestamp"),
    ({"timestamp": "1714568400.5"}, "bad_timestamp"),
    ({"timestamp": "١٧١٤٥٦٨٤٠٠"}, "bad_timestamp"),
    ({"timestamp": "9" * 5000}, "bad_timestamp"),
])
def test_refused_with_the_right_reason(overrides: dict[str, object], reason: str) -> None:
    assert reason_for(**overrides) == reason


def test_a_replay_of_a_captured_request_six_minutes_later_is_refused() -> None:
    captured = {"timestamp": str(TS), "signature": sign_slack_request(SECRET, TS, BODY)}
    verify_slack_request(SECRET, captured["timestamp"], BODY, captured["signature"], now=TS + 1)
    assert reason_for(**captured, now=TS + 6 * 60) == "stale_timestamp"


def test_tolerance_is_configurable_and_errors_carry_no_secret() -> None:
    assert reason_for(now=TS + 61, tolerance_s=60) == "stale_timestamp"
    with pytest.raises(SlackSignatureError) as caught:
        verify_slack_request(SECRET, str(TS), BODY, "v0=00", now=TS)
    assert SECRET not in repr(caught.value) and sign_slack_request(SECRET, TS, BODY) not in str(caught.value)
    with pytest.raises(ValueError):
        verify_slack_request("", str(TS), BODY, sign_slack_request("", TS, BODY), now=TS)


def test_a_receiver_verifies_real_requests_with_case_insensitive_headers() -> None:
    """An aiohttp endpoint as the Slack interactivity URL would be: raw bytes, headers in any letter case."""
    verdicts: list[str] = []

    async def interactivity(request: web.Request) -> web.Response:
        try:
            verify_slack_request(SECRET, request.headers.get(TIMESTAMP_HEADER), await request.read(),
                                 request.headers.get(SIGNATURE_HEADER), now=time.time())
        except SlackSignatureError as exc:
            verdicts.append(exc.reason)
            return web.Response(status=401)
        verdicts.append("ok")
        return web.Response(status=200)

    async def scenario() -> list[int]:
        app = web.Application()
        app.router.add_post("/slack/interactivity", interactivity)
        async with serve(app) as base, httpx.AsyncClient() as client:
            now = str(int(time.time()))
            good = {"x-slack-request-timestamp": now, "x-slack-signature": sign_slack_request(SECRET, now, BODY),
                    "content-type": "application/x-www-form-urlencoded"}
            statuses = []
            for headers, body in [(good, BODY), (good, BODY + b"&evil=1"), ({}, BODY)]:
                response = await client.post(f"{base}/slack/interactivity", content=body, headers=headers)
                statuses.append(response.status_code)
            return statuses

    assert asyncio.run(scenario()) == [200, 401, 401]
    assert verdicts == ["ok", "bad_signature", "missing_headers"]
