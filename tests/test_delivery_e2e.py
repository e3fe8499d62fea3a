"""A receiver down for a while, then back: every alert reaches it once, and the other receivers were not held up.

A real HTTP receiver (the signed webhook) answers 503 and then 429 with
``Retry-After`` for its first 20 seconds; the worker keeps those deliveries
pending (circuit breaker, redeliver topic) while the JSONL audit log gets
every alert at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sinks.webhook import verify_signature
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.readers import read_topic
from tests.conftest import TOKEN, free_port, start_monitor, stop_monitor

pytestmark = pytest.mark.e2e
SECRET = "hook-secret-8d1f0b"
DOWN_S = 20.0


class FlakyReceiver(BaseHTTPRequestHandler):
    started = 0.0
    received: list[tuple[float, str]] = []
    refused = Counter()

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        since = time.monotonic() - self.started
        if since < DOWN_S / 2:
            self.refused[503] += 1
            self.send_response(503)
            self.end_headers()
            return
        if since < DOWN_S:
            self.refused[429] += 1
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.end_headers()
            return
        if not verify_signature(SECRET, self.headers["X-POT-Timestamp"], body, self.headers["X-POT-Signature"], now=time.time()):
            self.send_response(401)
            self.end_headers()
            return
        self.received.append((time.monotonic(), json.loads(body)["alert_id"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_receiver_down_then_back_gets_everything_once(tmp_path):
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), FlakyReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text("keywords: []\nsurges: {enabled: false}\n"
                      "receivers: {audit: {type: jsonl}, hook: {type: webhook}}\nroutes: {receivers: [audit, hook]}\n")
    env = {
        "POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
        "POT_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "POT_WEBHOOK_SECRET": SECRET,
        "POT_BREAKER_RESET_S": "2", "POT_DELIVERY_MAX_DELAY_S": "2", "POT_DELIVERY_INLINE_ATTEMPTS": "2",
    }
    monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url])
    try:
        FlakyReceiver.started = time.monotonic()
        sent_at = time.monotonic()
        posts = [{"id": f"p{i}", "platform": "x", "text": f"#complaint order {i} is late",
                  "created_at": datetime.now(timezone.utc).isoformat(), "author": {"id": f"a{i}"}} for i in range(30)]
        assert httpx.post(f"{monitor.web}/posts", json=posts, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 202

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(monitor.alerts()) < 30:
            time.sleep(0.2)
        audit_done = time.monotonic() - sent_at
        assert len(monitor.alerts()) == 30, "the audit log got every alert while the webhook was down"
        assert audit_done < DOWN_S / 2, f"audit log took {audit_done:.1f} s: held up by the failing receiver"

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len({a for _, a in FlakyReceiver.received}) < 30:
            time.sleep(0.5)
        ids = [a for _, a in FlakyReceiver.received]
        assert len(set(ids)) == 30, f"{len(set(ids))} of 30 reached the receiver after it came back"
        assert len(ids) == 30, f"duplicates: {[a for a, n in Counter(ids).items() if n > 1]}"
        assert FlakyReceiver.refused[503] > 0 and FlakyReceiver.refused[429] > 0
        assert min(t for t, _ in FlakyReceiver.received) - FlakyReceiver.started >= DOWN_S

        events = read_topic([broker.bootstrap], "e2e.events")
        deferred = [e for e in events if e["kind"] == "delivery_deferred"]
        assert deferred and all(e["detail"]["receiver"] == "hook" for e in deferred)
        assert not [e for e in events if e["kind"] == "delivery_failed"]
        assert read_topic([broker.bootstrap], "e2e.dlq", timeout_s=1) == []
        assert SECRET not in monitor.log() and SECRET not in json.dumps(events)
    finally:
        stop_monitor(monitor)
        broker.stop()
        server.shutdown()


class DeadReceiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_receiver_that_never_recovers_ends_in_the_dead_letter_topic(tmp_path):
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), DeadReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log").start(20)
    policy = tmp_path / "policy.yaml"
    policy.write_text("keywords: []\nsurges: {enabled: false}\n"
                      "receivers: {audit: {type: jsonl}, hook: {type: webhook}}\nroutes: {receivers: [audit, hook]}\n")
    env = {
        "POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
        "POT_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "POT_WEBHOOK_SECRET": SECRET, "POT_BREAKER_RESET_S": "0.5",
        "POT_DELIVERY_MAX_DELAY_S": "0.5", "POT_DELIVERY_INLINE_ATTEMPTS": "1", "POT_DELIVERY_MAX_ATTEMPTS": "4",
    }
    monitor = start_monitor(tmp_path / "w", extra_env=env, args=["--broker", broker.url])
    try:
        posts = [{"id": f"q{i}", "platform": "x", "text": "#question anyone there?", "author": {"id": f"b{i}"},
                  "created_at": datetime.now(timezone.utc).isoformat()} for i in range(3)]
        assert httpx.post(f"{monitor.web}/posts", json=posts, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 202
        deadline = time.monotonic() + 60
        dlq: list[dict] = []
        while time.monotonic() < deadline and len(dlq) < 3:
            dlq = [d for d in read_topic([broker.bootstrap], "e2e.dlq", timeout_s=1) if d["stage"] == "deliver"]
            time.sleep(0.5)
        assert len(dlq) == 3 and all("hook: gave up after 4 attempt(s)" in d["reason"] for d in dlq)
        assert {json.loads(d["raw"])["alert_id"] for d in dlq} == {a["alert_id"] for a in monitor.alerts()}
        events = read_topic([broker.bootstrap], "e2e.events")
        failed = [e for e in events if e["kind"] == "delivery_failed"]
        assert len(failed) == 3 and all(e["detail"]["receiver"] == "hook" for e in failed)
        assert len(monitor.alerts()) == 3, "the audit receiver got every alert regardless"
    finally:
        stop_monitor(monitor)
        broker.stop()
        server.shutdown()
