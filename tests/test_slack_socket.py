"""Socket Mode against a local Slack speaking the documented protocol: clicks in, acks out, refreshes survived."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from streams.api.slack_socket import SocketModeListener
from tests.sink_servers import serve
from tests.slack_socket_server import FakeSocketMode, block_action

APP_TOKEN = "xapp-1-A0LOCAL-1234-socketsecret"


async def until(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def run_listener(scenario: Callable[[FakeSocketMode, SocketModeListener, list[dict[str, Any]]], Awaitable[None]],
                 token: str = APP_TOKEN, handler: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> FakeSocketMode:
    async def main() -> FakeSocketMode:
        fake = FakeSocketMode(APP_TOKEN)
        clicks: list[dict[str, Any]] = []

        async def record(payload: dict[str, Any]) -> None:
            clicks.append(payload)

        async with serve(fake.app()) as base:
            listener = SocketModeListener(token, handler or record, api_url=f"{base}/api", ping_interval_s=0.2)
            try:
                await asyncio.wait_for(listener.start(retry_s=0.1), 10)
                await scenario(fake, listener, clicks)
            finally:
                await listener.close()
        return fake

    return asyncio.run(main())


def test_a_button_click_arrives_as_an_interactive_envelope_is_handled_and_acknowledged() -> None:
    async def scenario(fake: FakeSocketMode, listener: SocketModeListener, clicks: list) -> None:
        assert listener.state == "connected" and fake.hellos == 1 and len(fake.opened) == 1
        envelope = await fake.send("interactive", block_action("pot_ack", "al-1"))
        await until(lambda: fake.acked(envelope), "the ack")
        assert clicks == [block_action("pot_ack", "al-1")]
        assert fake.acks == [{"envelope_id": envelope}], "an ack carries the envelope_id and nothing else"

    run_listener(scenario)


def test_a_refresh_gets_a_new_url_and_clicks_keep_arriving() -> None:
    async def scenario(fake: FakeSocketMode, listener: SocketModeListener, clicks: list) -> None:
        first = await fake.send("interactive", block_action("pot_ack", "al-1"))
        await until(lambda: fake.acked(first), "the first ack")
        await fake.refresh()
        await until(lambda: fake.hellos == 2 and not fake.live().closed, "a new connection after the refresh")
        assert len(set(fake.opened)) == 2, "a new URL from apps.connections.open, not the used one again"
        second = await fake.send("interactive", block_action("pot_resolve", "al-1"))
        await until(lambda: fake.acked(second), "the ack on the new connection")
        assert [c["actions"][0]["action_id"] for c in clicks] == ["pot_ack", "pot_resolve"]

    run_listener(scenario)


def test_a_dropped_connection_is_reopened() -> None:
    async def scenario(fake: FakeSocketMode, listener: SocketModeListener, clicks: list) -> None:
        await fake.live().close()  # no disconnect message: the network dropped it
        await until(lambda: fake.hellos == 2, "a reconnect", timeout_s=15)
        envelope = await fake.send("interactive", block_action("pot_ack", "al-2"))
        await until(lambda: fake.acked(envelope), "the ack after the reconnect")

    run_listener(scenario)


def test_other_envelopes_are_acknowledged_and_ignored_and_a_failed_click_is_left_for_slack_to_resend() -> None:
    calls: list[dict[str, Any]] = []

    async def failing(payload: dict[str, Any]) -> None:
        calls.append(payload)
        if payload["actions"][0]["value"] == "al-broken":
            raise ConnectionError("broker gone")

    async def scenario(fake: FakeSocketMode, listener: SocketModeListener, clicks: list) -> None:
        event = await fake.send("events_api", {"type": "event_callback", "event": {"type": "app_mention"}})
        broken = await fake.send("interactive", block_action("pot_ack", "al-broken"))
        fine = await fake.send("interactive", block_action("pot_ack", "al-fine"))
        await until(lambda: fake.acked(event) and fake.acked(fine), "acks")
        await asyncio.sleep(0.3)
        assert not fake.acked(broken), "an unapplied click must not be acknowledged (Slack redelivers it)"
        assert [c["actions"][0]["value"] for c in calls] == ["al-broken", "al-fine"]

    run_listener(scenario, handler=failing)


@pytest.mark.parametrize(("token", "code"), [("xapp-1-A0LOCAL-9999-wrong", "invalid_auth"),
                                              ("xoxb-a-bot-token-instead", "not_allowed_token_type")])
def test_a_refused_app_token_is_reported_once_by_variable_and_socket_mode_stays_off(token: str, code: str, caplog) -> None:
    async def scenario(fake: FakeSocketMode, listener: SocketModeListener, clicks: list) -> None:
        assert listener.state == "refused"
        await asyncio.sleep(0.3)

    with caplog.at_level(logging.INFO):
        fake = run_listener(scenario, token=token)
    assert fake.refused == [code] and fake.hellos == 0, "no retry loop against a token Slack refuses"
    text = caplog.text
    assert f"answered {code}" in text and "POT_SLACK_APP_TOKEN" in text and token not in text
