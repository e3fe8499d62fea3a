"""The desk end to end on a real broker: the SLA clock, acks, silences, digests, brand replies, and a restart.

The worker's clock is advanced through ``POT_CLOCK_OFFSET_FILE`` instead of
sleeping for an hour. Alerts and follow-ups are counted at a webhook receiver
that records every request (tests/receivers.py): the JSONL log drops repeats
itself, so it could not show a warning sent twice. The broker (Tansu, memory storage) runs in the test so
that it outlives the worker restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.readers import read_topic
from tests.conftest import TOKEN, start_monitor, stop_monitor, wait_for
from tests.receivers import Receivers

pytestmark = pytest.mark.e2e

POLICY = """
receivers:
  audit: {type: jsonl}
  hook: {type: webhook}
  console: {type: console}
keywords: []
brand_accounts: ["@acme_support"]
routes:
  receivers: [audit, hook]
  remind_every: 20m
  escalation:
    - {after: 30m, receivers: [console]}
  routes:
    - name: good-news
      match: {label: praise}
      receivers: [audit]
      digest: 1h
      reminders: false
"""
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def post(n: str, text: str, handle: str = "cust", **extra) -> dict:
    return {
        "id": n, "platform": "x", "text": text, "author": {"id": f"id-{handle}", "handle": handle, "followers": 10},
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra,
    }


def alert_id(n: str) -> str:
    from streams.core.records import alert_id_for

    return alert_id_for(f"x:{n}")


def notices(data_dir: Path) -> list[dict]:
    path = data_dir / "alerts.notices.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def steps(receivers: Receivers, aid: str) -> Counter:
    """Follow-ups of one alert as the webhook receiver got them: every request, repeats included."""
    return Counter(n["detail"].get("step", n["kind"]) for n in receivers.webhook.notices()
                   if (n.get("alert") or {}).get("alert_id") == aid)


@pytest.fixture
def desk(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    offset = tmp_path / "offset"
    offset.write_text("0")
    receivers = Receivers().__enter__()
    env = {
        "POT_POLICY_FILE": str(policy), "POT_CLOCK_OFFSET_FILE": str(offset), "POT_CLOCK_TICK_S": "0.2",
        "POT_DIGEST_CHECK_S": "0.5", "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
        **receivers.env(),
    }
    state = {"broker": broker, "env": env, "offset": offset, "dir": tmp_path / "worker", "receivers": receivers}
    state["monitor"] = start_monitor(state["dir"], extra_env=env, args=["--broker", broker.url])
    yield state
    stop_monitor(state["monitor"])
    broker.stop()
    receivers.__exit__(None, None, None)


def advance(desk, seconds: float) -> None:
    desk["offset"].write_text(str(seconds))


def test_clock_acks_silences_digests_and_a_restart(desk):
    web = desk["monitor"].web
    data, hook = desk["dir"], desk["receivers"]
    a, b, c, d = alert_id("a"), alert_id("b"), alert_id("c"), alert_id("d")
    response = httpx.post(f"{web}/posts", headers=AUTH, json=[
        post("a", "#complaint my order never came"), post("b", "#complaint the app crashes", handle="bea"),
        post("c", "#question do you ship to Iasi?", handle="cos"), post("d", "#praise lovely staff", handle="dan"),
    ])
    assert response.status_code == 202
    wait_for(lambda: {x["alert_id"] for x in desk["monitor"].alerts()} >= {a, b, c}, "three alerts")
    assert d not in {x["alert_id"] for x in desk["monitor"].alerts()}, "praise goes to the digest, not one by one"

    def open_rows() -> list[dict]:
        """The desk's open list once it holds all four: it is read from a topic and may trail the alerts."""
        rows = httpx.get(f"{web}/alerts", params={"state": "open"}, headers=AUTH).json()["alerts"]
        return rows if {row["alert_id"] for row in rows} >= {a, b, c, d} else []

    open_now = wait_for(open_rows, "all four alerts on the desk's open list")
    assert httpx.get(f"{web}/alerts", params={"state": "open"}).status_code == 401, "customer text needs the token"
    assert httpx.get(f"{web}/silences").status_code == 401
    assert {row["alert_id"] for row in open_now} == {a, b, c, d}
    assert all(3500 < row["seconds_left"] <= 3600 or row["label"] == "praise" for row in open_now)

    ack = httpx.post(f"{web}/alerts/{b}/ack", headers=AUTH, json={"actor": "ana"})
    assert (ack.status_code, ack.json()["status"]) == (200, "acknowledged")
    again = httpx.post(f"{web}/alerts/{b}/ack", headers=AUTH, json={"actor": "bo"})
    assert (again.status_code, again.json()["status"], again.json()["by"]) == (200, "already acknowledged", "ana")
    assert httpx.post(f"{web}/alerts/al-nope/ack", headers=AUTH, json={"actor": "ana"}).status_code == 404
    assert httpx.post(f"{web}/alerts/{b}/ack", headers=AUTH, json={}).status_code == 400, "an ack names who acted"
    assert httpx.post(f"{web}/alerts/{b}/ack", json={"actor": "eve"}).status_code == 401

    advance(desk, 46 * 60)  # past 75 % of the hour (warnings), 30 min (escalation) and two reminder times
    wait_for(lambda: steps(hook, a)["warning"] == 1 and steps(hook, c)["warning"] == 1, "warnings")
    wait_for(lambda: steps(hook, a)["reminder:1"] == 1, "a reminder")
    time.sleep(1)
    assert steps(hook, a)["reminder:2"] == 0, "reminders missed while the clock jumped are not sent in a burst"
    assert steps(hook, b) == Counter({"acknowledged": 1}), "the acknowledged alert gets no warning or reminder"

    resolved = subprocess.run(
        [sys.executable, "-m", "streams.cli", "resolve", c, "--api", web, "--actor", "cos-agent"],
        capture_output=True, text=True, env={"POT_API_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert resolved.returncode == 0, resolved.stderr
    assert f"{c}: resolved by cos-agent" in resolved.stdout

    silence = httpx.post(f"{web}/silences", headers=AUTH, json={
        "matchers": {"label": ["question"]}, "duration_s": 7200, "created_by": "ana", "comment": "known FAQ"})
    assert silence.status_code == 201
    time.sleep(1.5)  # the silence travels through its topic to every worker
    httpx.post(f"{web}/posts", headers=AUTH, json=[post("e", "#question is the shop open?", handle="eli")])

    stop_monitor(desk["monitor"])  # a restart: the clock must carry on where it was
    desk["monitor"] = start_monitor(data, extra_env=desk["env"], args=["--broker", desk["broker"].url])
    web = desk["monitor"].web

    advance(desk, 62 * 60)  # past the deadline: a breach for a; the digest of praise is due
    wait_for(lambda: steps(hook, a)["breach"] == 1, "breach of a")
    wait_for(lambda: any(n["kind"] == "digest" for n in notices(data)), "the praise digest")
    httpx.post(f"{web}/posts", headers=AUTH, json=[
        post("r1", "Sorry about that, sending a new one today", handle="acme_support", in_reply_to="a")])
    wait_for(lambda: steps(hook, a)["resolved"] == 1, "a resolved by the brand's reply")
    time.sleep(2)

    assert steps(hook, a)["warning"] == 1, "the warning did not fire again after the restart"
    delivered = hook.tally()["hook"]
    assert delivered == Counter({a: 1, b: 1, c: 1}), "each alert delivered once across the restart"
    repeats = [n for n, count in Counter(n["notice_id"] for n in hook.webhook.notices()).items() if count > 1]
    assert repeats == [], f"follow-ups delivered twice: {repeats}"
    assert steps(hook, a)["breach"] == 1
    assert steps(hook, a)["reminder:2"] == 1, "reminders carry on from where they were before the restart"
    assert steps(hook, c)["breach"] == 0 and steps(hook, b)["breach"] == 0
    digest = next(n for n in notices(data) if n["kind"] == "digest")
    assert digest["summary"].startswith("1 alert in this digest: 1 praise")
    assert digest["detail"]["entries"][0]["text"] == "#praise lovely staff"

    events = read_topic([desk["broker"].bootstrap], "e2e.events")
    kinds = Counter((e["alert_id"], e["kind"]) for e in events)
    assert kinds[(a, "warning")] == 1 and kinds[(a, "breach")] == 1 and kinds[(a, "escalation")] == 1
    assert kinds[(b, "acknowledged")] == 1 and kinds[(b, "warning")] == 0
    assert kinds[(alert_id("e"), "silenced")] == 1 and kinds[(alert_id("e"), "raised")] == 0
    resolved_a = next(e for e in events if e["alert_id"] == a and e["kind"] == "resolved")
    assert resolved_a["actor"] == "acme_support (brand reply)"
    assert resolved_a["detail"]["evidence"]["post"] == "x:r1"
    metrics = httpx.get(f"{web}/metrics").text
    assert 'pot_alerts_open{label="complaint",state="acknowledged"} 1.0' in metrics


SLACK_SECRET = "slack-signing-secret-3c9e1f"
POLICY_V2 = """
keywords: []
surges: {bucket_s: 60, window_s: 300, baseline_s: 3600, k: 3, min_count: 3}
receivers:
  audit: {type: jsonl}
  incidents: {type: console}
routes:
  receivers: [audit]
  routes:
    - match: {kind: surge}
      receivers: [audit]
"""


def slack_click(web: str, action_id: str, value: str, at: int, secret: str = SLACK_SECRET) -> httpx.Response:
    from urllib.parse import urlencode

    from sinks.slack_signature import sign_slack_request

    payload = {"type": "block_actions", "user": {"id": "U1", "username": "sara"},
               "actions": [{"action_id": action_id, "value": value} if action_id != "pot_relabel" else
                           {"action_id": action_id, "type": "static_select", "selected_option": {"value": value}}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return httpx.post(f"{web}/slack/interactions", content=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(at),
        "X-Slack-Signature": sign_slack_request(secret, str(at), body)})


def test_reload_slack_buttons_surges_and_the_cli(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    hook = Receivers().__enter__()
    env = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
           "POT_SLACK_SIGNING_SECRET": SLACK_SECRET, "POT_CLOCK_TICK_S": "0.2", **hook.env()}

    def bad_edit_and_sighup(starting) -> None:  # before the model loads: the signal must not kill the monitor
        policy.write_text("windows: {complaint: soon}\n")  # a bad edit: refused, the old policy stays
        starting.process.send_signal(__import__("signal").SIGHUP)

    monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url],
                            when_logged=("Kafka at kafka://", bad_edit_and_sighup))
    web, data = monitor.web, tmp_path / "w"
    try:
        wait_for(lambda: "policy reload failed (SIGHUP during start)" in monitor.log(), "the refused reload in the log")
        assert "windows.complaint: 'soon' is not a duration" in monitor.log()
        assert 'pot_policy_reloads_total{outcome="failed"} 1.0' in httpx.get(f"{web}/metrics").text

        httpx.post(f"{web}/posts", headers=AUTH, json=[post("s1", "#complaint still broken")])
        first = wait_for(lambda: [x for x in monitor.alerts() if x["alert_id"] == alert_id("s1")], "alert under the old policy")
        assert first[0]["window_s"] == 3600

        now = int(time.time())
        assert slack_click(web, "pot_ack", alert_id("s1"), now, secret="forged").status_code == 401
        assert slack_click(web, "pot_ack", alert_id("s1"), now - 400).status_code == 401  # replayed: too old
        assert httpx.get(f"{web}/alerts", params={"state": "acknowledged"}, headers=AUTH).json()["alerts"] == []
        assert slack_click(web, "pot_ack", alert_id("s1"), now).status_code == 200
        acked = wait_for(lambda: httpx.get(f"{web}/alerts", params={"state": "acknowledged"}, headers=AUTH).json()["alerts"], "slack ack")
        assert acked[0]["acked_by"] == "slack:sara"
        assert slack_click(web, "pot_relabel", f"{alert_id('s1')}|question", now).status_code == 200
        corrections = wait_for(lambda: read_topic([broker.bootstrap], "e2e.corrections", timeout_s=1), "the correction")
        assert corrections[0]["right_label"] == "question" and corrections[0]["actor"] == "slack:sara"

        policy.write_text(POLICY_V2)  # a good edit is picked up without a signal
        wait_for(lambda: 'pot_policy_reloads_total{outcome="ok"} 1.0' in httpx.get(f"{web}/metrics").text, "file reload")

        cli_env = {"POT_API_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
        cli = [sys.executable, "-m", "streams.cli"]
        added = subprocess.run([*cli, "silence", "add", "label=praise", "--for", "2h", "--comment", "campaign",
                                "--api", web, "--actor", "ana"], capture_output=True, text=True, env=cli_env, timeout=60)
        assert added.returncode == 0 and added.stdout.startswith("silence si-"), added.stderr
        listed = subprocess.run([*cli, "silence", "list", "--api", web], capture_output=True, text=True, env=cli_env, timeout=60)
        assert "label=praise" in listed.stdout and "campaign" in listed.stdout

        httpx.post(f"{web}/posts", headers=AUTH, json=[
            post(f"z{i}", f"#complaint the login page is broken again {i}", handle=f"user{i}") for i in range(6)])
        surge = wait_for(lambda: [n for n in notices(data) if n["kind"] == "surge"], "a surge notice")
        assert len(surge) == 1 and surge[0]["detail"]["scope"] == "all"
        assert "login" in [term for term, _ in surge[0]["detail"]["top_terms"]]
        assert all(x["window_s"] == 3600 for x in monitor.alerts())

        table = subprocess.run([*cli, "alerts", "--no-watch", "--api", web], capture_output=True, text=True,
                               env={**cli_env, "COLUMNS": "200"}, timeout=60)
        assert table.returncode == 0 and "6 open alert(s)" in table.stdout and alert_id("z0") in table.stdout
        assert SLACK_SECRET not in monitor.log()
    finally:
        stop_monitor(monitor)
        broker.stop()
        hook.__exit__(None, None, None)
