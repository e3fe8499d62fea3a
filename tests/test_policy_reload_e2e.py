"""A policy reload builds the receivers it needs (a new one, a changed channel) or is refused saying why, on a
real worker with a local Slack Web API look-alike."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from tests.conftest import TOKEN, start_monitor, stop_monitor, wait_for
from tests.sink_servers import FakeSlack, serve_in_thread

pytestmark = pytest.mark.e2e

BOT_TOKEN = "xoxb-reload-e2e-token-31cc"
V1 = "keywords: []\nreceivers:\n  audit: {type: jsonl}\nroutes: {receivers: [audit]}\n"
V2 = "keywords: []\nreceivers:\n  audit: {type: jsonl}\n  desk: {type: slack, channel: C0ALERTS}\nroutes: {receivers: [audit, desk]}\n"
V3 = V2.replace("channel: C0ALERTS", "channel: '#alerts'")
V4 = V3.replace("routes: {receivers: [audit, desk]}", "  oncall: {type: pagerduty}\nroutes: {receivers: [audit, desk, oncall]}")


def test_reload_builds_new_and_changed_receivers_and_refuses_one_it_cannot_build(tmp_path):
    slack = FakeSlack(BOT_TOKEN, channel="C0ALERTS", name="#alerts")
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(V1)
    with serve_in_thread(slack.app()) as (base, _):
        env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
               "POT_SLACK_BOT_TOKEN": BOT_TOKEN, "POT_SLACK_API_URL": f"{base}/api", "POT_CLOCK_TICK_S": "0.2"}
        monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url])
        web = monitor.web

        def send(n: str) -> None:
            created = datetime.now(timezone.utc).isoformat(timespec="seconds")
            response = httpx.post(f"{web}/posts", headers={"Authorization": f"Bearer {TOKEN}"}, json=[{
                "id": n, "platform": "x", "text": f"#complaint order {n} never came", "created_at": created,
                "author": {"id": f"id-{n}", "handle": n, "followers": 10}}])
            assert response.status_code == 202
            wait_for(lambda: n in {a["post"]["id"] for a in monitor.alerts()}, f"alert {n} in the audit log")

        def reloads(outcome: str) -> float:
            for line in httpx.get(f"{web}/metrics").text.splitlines():
                if line.startswith(f'pot_policy_reloads_total{{outcome="{outcome}"}}'):
                    return float(line.split()[-1])
            return 0.0

        def channels() -> list[str]:
            return [json.loads(seen.body)["channel"] for seen in slack.seen]

        try:
            send("r1")
            assert slack.seen == []

            policy.write_text(V2)  # a new receiver
            wait_for(lambda: reloads("ok") == 1, "the reload with a new receiver")
            send("r2")
            wait_for(lambda: channels() == ["C0ALERTS"], "the new receiver's first message")

            policy.write_text(V3)  # the same receiver, another channel
            wait_for(lambda: reloads("ok") == 2, "the reload with a changed channel")
            send("r3")
            wait_for(lambda: channels() == ["C0ALERTS", "#alerts"], "the message in the changed channel")

            policy.write_text(V4)  # a receiver this worker cannot build: no POT_PAGERDUTY_ROUTING_KEY
            wait_for(lambda: reloads("failed") == 1, "the refused reload")
            assert "refused, keeping version 3" in monitor.log() and "set POT_PAGERDUTY_ROUTING_KEY" in monitor.log()
            send("r4")
            wait_for(lambda: channels() == ["C0ALERTS", "#alerts", "#alerts"], "the old policy still in force")
            assert reloads("ok") == 2 and BOT_TOKEN not in monitor.log()
        finally:
            stop_monitor(monitor)
            broker.stop()
