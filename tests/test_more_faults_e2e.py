"""More faults, each ending with nothing lost and duplicates within the bound, counted at receivers that record
every request (tests/receivers.py: webhook, Slack Web API, SMTP): a receiver that hangs past its timeout, the
classifier process killed mid-batch, the alert log's disk full, the policy file deleted and then truncated while
running, and the clock jumping forward. (The broker unreachable for two minutes is tests/test_broker_loss_e2e.py;
SIGKILLs of the worker are tests/test_faults_e2e.py.)"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from streams.core.records import alert_id_for
from streams.kafka.broker import EmbeddedBroker
from tests.conftest import TOKEN, children_of, start_monitor, stop_monitor, wait_for
from tests.receivers import NAMES, POLICY_RECEIVERS, Receivers

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLEAN = {"lost": 0, "duplicated": 0, "extra": 0}


def policy_text(extra: str = "") -> str:
    return (f"keywords: []\nsurges: {{enabled: false}}\nreceivers:\n  {POLICY_RECEIVERS}\n"
            f"routes: {{receivers: [audit, {', '.join(NAMES)}]{extra}}}\n")


def posts(tag: str, n: int, label: str = "complaint") -> list[dict]:
    return [{"id": f"{tag}{i}", "platform": "x", "text": f"#{label} order {tag}{i} is late", "author": {"id": f"{tag}-a{i}"},
             "created_at": datetime.now(timezone.utc).isoformat()} for i in range(n)]


def ids(batch: list[dict]) -> set[str]:
    return {alert_id_for(f"x:{p['id']}") for p in batch}


def send(monitor, batch: list[dict]) -> None:
    answer = httpx.post(f"{monitor.web}/posts", json=batch, headers=AUTH, timeout=30)
    assert answer.status_code == 202, answer.text


def classifier_processes(pid: int) -> list[int]:
    """The worker's spawned children that run the classifier (not multiprocessing's resource tracker)."""
    found = []
    for child in children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in command or b"spawn_main" in command:
            found.append(child)
    return found


@pytest.fixture
def world(tmp_path):
    """A broker, the counting receivers, a policy file; ``start(env)`` runs a worker on them."""
    receivers = Receivers().__enter__()
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_text())
    state: dict = {"receivers": receivers, "broker": broker, "policy": policy, "tmp": tmp_path, "monitor": None}

    def start(env: dict[str, str] | None = None):
        settings = {"POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag",
                    "POT_CLASSIFY_IN_PROCESS": "false", **receivers.env(), **(env or {})}
        state["monitor"] = start_monitor(tmp_path / "w", extra_env=settings, args=["--broker", broker.url])
        return state["monitor"]

    state["start"] = start
    yield state
    if state["monitor"] is not None:
        stop_monitor(state["monitor"])
    broker.stop()
    receivers.__exit__(None, None, None)


def test_a_receiver_that_hangs_past_its_timeout(world):
    """Slack and the webhook take 4 s over a 2 s timeout on the first request for three alerts, having acted:
    Slack's retry finds its message and adopts it; the webhook's retry repeats, with the same Idempotency-Key."""
    receivers: Receivers = world["receivers"]
    slow = {alert_id_for(f"x:h{i}") for i in range(3)}
    hung: Counter = Counter()

    def slack_hang(body: dict) -> float:
        alert_id = (body.get("metadata") or {}).get("event_payload", {}).get("alert_id")
        hung[("chat", alert_id)] += 1
        return 4.0 if alert_id in slow and hung[("chat", alert_id)] == 1 else 0.0

    def hook_behave(alert_id: str) -> tuple[int, float]:
        hung[("hook", alert_id)] += 1
        return 200, 4.0 if alert_id in slow and hung[("hook", alert_id)] == 1 else 0.0

    receivers.slack.hang_s = slack_hang
    receivers.webhook.behave = hook_behave
    monitor = world["start"]({"POT_HTTP_TIMEOUT_S": "2", "POT_DELIVERY_MAX_DELAY_S": "1"})
    batch = posts("h", 10)
    send(monitor, batch)
    report = receivers.wait_for_all(ids(batch), timeout=90)
    time.sleep(5)  # a late repeat would land now
    report = receivers.report(ids(batch))
    print(report, receivers.duplicate_keys())
    assert report["chat"] == CLEAN, "Slack: a timed-out post is found by its metadata, not posted again"
    assert report["mail"] == CLEAN
    assert report["hook"]["lost"] == 0 and report["hook"]["duplicated"] == 3, report
    assert sorted(receivers.duplicate_keys()) == sorted((a, [f"{a}:alert"] * 2) for a in slow)
    assert receivers.slack.lookups, "the timed-out Slack posts were looked up"


def test_the_classifier_process_killed_mid_batch(world):
    """The classifier's child process is SIGKILLed in the middle of a 1.6 s batch: it is started again, the
    batch is classified again, and every alert reaches every receiver once."""
    receivers: Receivers = world["receivers"]
    monitor = world["start"]({"POT_CLASSIFIER": "tests.fakes:VerySlowByTag", "POT_CLASSIFY_IN_PROCESS": "true",
                              "POT_BATCH_SIZE": "8"})
    batch = posts("c", 40)
    send(monitor, batch)
    wait_for(lambda: len(receivers.webhook.delivered()) >= 8, "the first batch delivered", 120)
    time.sleep(0.8)
    (child,) = wait_for(lambda: classifier_processes(monitor.process.pid), "the classifier process")
    os.kill(child, signal.SIGKILL)
    report = receivers.wait_for_all(ids(batch), timeout=180)
    time.sleep(2)
    report = receivers.report(ids(batch))
    print(report)
    assert all(r == CLEAN for r in report.values()), report
    assert monitor.process.poll() is None
    assert child not in classifier_processes(monitor.process.pid), "a new classifier process took over"


def test_the_alert_logs_disk_full_then_space_again(world):
    """The JSONL alert log's file sits on a full disk (it is pointed at /dev/full) for a while: the other
    receivers are not held up, the log's deliveries wait and are retried, and once there is space it has them
    all; nobody gets anything twice."""
    receivers: Receivers = world["receivers"]
    real, link = world["tmp"] / "alerts-real.jsonl", world["tmp"] / "alerts.jsonl"
    real.touch()
    link.symlink_to(real)
    monitor = world["start"]({"POT_ALERTS_FILE": str(link), "POT_BREAKER_RESET_S": "1", "POT_DELIVERY_MAX_DELAY_S": "1"})
    first = posts("d", 5)
    send(monitor, first)
    assert all(r["lost"] == 0 for r in receivers.wait_for_all(ids(first), timeout=60).values())
    link.unlink()
    link.symlink_to("/dev/full")
    full = posts("f", 10)
    send(monitor, full)
    report = receivers.wait_for_all(ids(full), timeout=60)
    assert all(r["lost"] == 0 for r in report.values()), "the other receivers do not wait for the full disk"
    time.sleep(3)
    logged = lambda: {line["alert_id"] for line in map(__import__("json").loads, real.read_text().splitlines())}  # noqa: E731
    assert not ids(full) & logged(), "nothing was written while the disk was full"
    link.unlink()
    link.symlink_to(real)
    wait_for(lambda: ids(full) <= logged(), "the alert log catching up once there is space", 90)
    everything = ids(first) | ids(full)
    lines = Counter(__import__("json").loads(line)["alert_id"] for line in real.read_text().splitlines())
    assert set(lines) == everything and max(lines.values()) == 1
    report = receivers.report(everything)
    assert all(r == CLEAN for r in report.values()), report


def test_the_policy_file_deleted_then_truncated_while_running(world):
    """The policy file is deleted, then written back empty (a truncated write): the worker keeps the policy it
    has, says so, and every alert still reaches every receiver once."""
    receivers: Receivers = world["receivers"]
    monitor = world["start"]()
    policy: Path = world["policy"]
    batches = [posts("p", 5), posts("q", 5), posts("r", 5)]
    send(monitor, batches[0])
    policy.unlink()
    wait_for(lambda: "policy reload failed" in monitor.log(), "the refused reload of the deleted file")
    send(monitor, batches[1])
    policy.write_text("")
    wait_for(lambda: "the file is empty" in monitor.log(), "the refused reload of the empty file")
    send(monitor, batches[2])
    expected = set().union(*map(ids, batches))
    report = receivers.wait_for_all(expected, timeout=90)
    time.sleep(2)
    report = receivers.report(expected)
    print(report)
    assert all(r == CLEAN for r in report.values()), report
    metrics = httpx.get(f"{monitor.web}/metrics", timeout=30).text
    assert 'pot_policy_reloads_total{outcome="failed"} 2.0' in metrics and "pot_policy_version 1.0" in metrics


def test_the_clock_jumping_forward(world):
    """The worker's clock jumps two hours ahead with alerts open: each alert's warning and breach reach the
    webhook at most once (a warning the jump passed by is skipped), no reminder burst, and alerts raised after
    the jump are delivered once like the rest."""
    receivers: Receivers = world["receivers"]
    offset = world["tmp"] / "offset"
    offset.write_text("0")
    world["policy"].write_text(policy_text(", remind_every: 20m"))
    monitor = world["start"]({"POT_CLOCK_OFFSET_FILE": str(offset), "POT_CLOCK_TICK_S": "0.2"})
    before = posts("j", 6)
    send(monitor, before)
    assert all(r["lost"] == 0 for r in receivers.wait_for_all(ids(before), timeout=60).values())
    offset.write_text(str(2 * 3600))
    wait_for(lambda: {(n.get("alert") or {}).get("alert_id") for n in receivers.webhook.notices() if n["kind"] == "breach"}
             >= ids(before), "a breach for every open alert", 60)
    after = posts("k", 6)
    send(monitor, after)
    everything = ids(before) | ids(after)
    report = receivers.wait_for_all(everything, timeout=60)
    time.sleep(3)
    report = receivers.report(everything)
    print(report)
    assert all(r == CLEAN for r in report.values()), report
    notices = Counter(n["notice_id"] for n in receivers.webhook.notices())
    assert max(notices.values()) == 1, [n for n, c in notices.items() if c > 1]
    steps = Counter((n["alert"]["alert_id"], n["kind"]) for n in receivers.webhook.notices() if n.get("alert"))
    for alert_id in ids(before):
        assert steps[(alert_id, "breach")] == 1 and steps[(alert_id, "warning")] <= 1, "a step the jump passed is not sent"
        assert steps[(alert_id, "reminder")] <= 1, "reminders missed during the jump are not sent in a burst"
