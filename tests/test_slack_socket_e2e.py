"""Slack as a team installs it, end to end: a real worker posts to the channel its policy receiver names (no
POT_SLACK_CHANNEL), and a button click that arrives over Socket Mode acknowledges the alert and updates the message.

Slack is local: the Web API look-alike of the sink tests plus the Socket Mode server of
``tests/slack_socket_server.py`` on one loopback port, served from a thread while the worker runs as
``pot run`` in its own process.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import httpx
import pytest

from streams.core.records import alert_id_for
from streams.kafka.broker import EmbeddedBroker
from tests.conftest import TOKEN, start_monitor, stop_monitor, wait_for
from tests.sink_servers import FakeSlack, serve_in_thread
from tests.slack_socket_server import FakeSocketMode, block_action

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": f"Bearer {TOKEN}"}  # reads of alerts carry customer text: they need the token
BOT_TOKEN, APP_TOKEN = "xoxb-e2e-bot-token-77aa", "xapp-1-A0LOCAL-e2e-app-token-88bb"
POLICY = """
keywords: []
receivers:
  desk: {type: slack, channel: C0ALERTS}
routes:
  receivers: [desk]
"""


def buttons(message: dict) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def test_a_click_over_socket_mode_acknowledges_and_resolves_the_alert(tmp_path):
    slack, socket = FakeSlack(BOT_TOKEN, channel="C0ALERTS"), FakeSocketMode(APP_TOKEN)
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    with serve_in_thread(socket.install(slack.app())) as (base, loop):
        def push(kind: str, payload: dict) -> str:
            return asyncio.run_coroutine_threadsafe(socket.send(kind, payload), loop).result(10)

        env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
               "POT_SLACK_BOT_TOKEN": BOT_TOKEN, "POT_SLACK_APP_TOKEN": APP_TOKEN, "POT_SLACK_API_URL": f"{base}/api",
               "POT_SLACK_CHANNEL": "", "POT_WEB_HOST": "127.0.0.2"}
        monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url], host="127.0.0.2")
        web = monitor.web
        try:
            with pytest.raises(httpx.ConnectError):  # POT_WEB_HOST decides where the API listens
                httpx.get(web.replace("127.0.0.2", "127.0.0.1") + "/readyz", timeout=2)
            assert "Slack buttons: Socket Mode" in monitor.log()
            wait_for(lambda: socket.hellos == 1, "the worker's Socket Mode connection")
            created = datetime.now(timezone.utc).isoformat(timespec="seconds")
            response = httpx.post(f"{web}/posts", headers={"Authorization": f"Bearer {TOKEN}"}, json=[{
                "id": "k1", "platform": "x", "text": "#complaint my order never came", "created_at": created,
                "author": {"id": "id-kim", "handle": "kim", "followers": 10}}])
            assert response.status_code == 202
            (message,) = wait_for(lambda: slack.top_level(), "the alert in #alerts")
            assert buttons(message) == ["pot_ack", "pot_resolve", "pot_relabel"]
            assert json.loads(slack.seen[0].body)["channel"] == "C0ALERTS", "the channel the policy's receiver names"
            alert = {"alert_id": alert_id_for("x:k1")}

            clicked = push("interactive", block_action("pot_ack", alert["alert_id"]))
            wait_for(lambda: socket.acked(clicked), "the envelope's ack")
            acked = wait_for(lambda: httpx.get(f"{web}/alerts", params={"state": "acknowledged"}, headers=AUTH).json()["alerts"], "the ack")
            assert acked[0]["acked_by"] == "slack:sara"
            wait_for(lambda: "pot_ack" not in buttons(slack.messages[message["ts"]]), "the message updated in place")
            assert "Acknowledged" in json.dumps(slack.messages[message["ts"]]["blocks"])

            asyncio.run_coroutine_threadsafe(socket.refresh(), loop).result(10)  # Slack's periodic refresh
            wait_for(lambda: socket.hellos == 2, "the reconnect after Slack's refresh")
            clicked = push("interactive", block_action("pot_resolve", alert["alert_id"]))
            wait_for(lambda: socket.acked(clicked), "the second envelope's ack")
            wait_for(lambda: httpx.get(f"{web}/alerts", params={"state": "resolved"}, headers=AUTH).json()["alerts"], "the resolve")
            wait_for(lambda: buttons(slack.messages[message["ts"]]) == ["pot_relabel"], "the resolved message")
            log = monitor.log()
            assert BOT_TOKEN not in log and APP_TOKEN not in log
            assert len(slack.top_level()) == 1, "one alert, one message: the clicks updated it"
        finally:
            stop_monitor(monitor)
            broker.stop()
