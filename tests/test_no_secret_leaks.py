"""No secret leaves the worker: not in its log, its files, its topics, its metrics or its answers.

The worker runs with every secret it knows (the API token, the Slack signing
secret, the webhook signing secret) and is made to fail on each path that
could echo one: refused bearer tokens, a forged Slack click, an oversized
body, invalid posts (HTTP and Kafka), and a webhook receiver that refuses
every delivery with 401, so the delivery errors are logged, counted and
dead-lettered. Then everything the run wrote is searched for each secret, in
plain text and base64. The credentials a client sent and had refused are
searched for too: a worker that logs a wrong ``Authorization`` header logs
somebody's token (``TOKEN[:-1]`` is all but one character of the real one),
and so is the signature the worker computed for a forged Slack request.

Topics are read as raw bytes (keys, values and headers), not with
``read_topic``: that one decodes values as JSON, skipping keys and headers,
and the posts topic holds invalid bytes on purpose.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from sinks.slack_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_slack_request
from sinks.webhook import SIGNATURE_HEADER as HOOK_SIGNATURE, TIMESTAMP_HEADER as HOOK_TIMESTAMP, verify_signature
from streams.kafka.readers import read_topic

from .conftest import TOKEN, Monitor, free_port, start_monitor, stop_monitor

pytestmark = pytest.mark.e2e

SLACK_SECRET = "slack-signing-7d41c0b9e2f5a8"
WEBHOOK_SECRET = "hook-signing-3b9e60d2c7a1f4"
SECRETS = {"POT_API_TOKEN": TOKEN, "POT_SLACK_SIGNING_SECRET": SLACK_SECRET, "POT_WEBHOOK_SECRET": WEBHOOK_SECRET}
WRONG_TOKENS = [TOKEN[:-1], TOKEN + "0", "wrong-token-6c2f9a", SLACK_SECRET]
"""Refused credentials: a near miss of the real token each way, a stranger's, and another secret of the worker."""
MAX_REQUEST_BYTES = 200_000
VALID_POSTS = 3
WAIT_S = 90.0


class RefusingReceiver(BaseHTTPRequestHandler):
    """A webhook receiver that checks the signature (so the secret was really used) and refuses every delivery."""

    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        signed = verify_signature(WEBHOOK_SECRET, self.headers[HOOK_TIMESTAMP], body, self.headers[HOOK_SIGNATURE], now=time.time())
        self.requests.append({"signed": signed, "body": body})
        answer = b"invalid_signature"
        self.send_response(401)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), RefusingReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/hooks/pot"
    finally:
        server.shutdown()
        server.server_close()


def post(text: str, pid: str) -> dict[str, Any]:
    return {"id": pid, "platform": "x", "text": text, "created_at": "2026-11-23T09:00:00Z", "author": {"id": f"a-{pid}"}}


def forms(secret: str) -> dict[str, bytes]:
    """A secret as it could be written: as is, and base64 at each of the three alignments (inner groups only)."""
    raw = secret.encode()
    found = {"plain": raw}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        found[f"base64/{pad}"] = encoded[4:-4]
    return found


def wait_for(what: str, predicate: Any, timeout: float = WAIT_S) -> Any:
    """Poll ``predicate`` until it is truthy; fail with ``what`` when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def dump_topics(bootstrap: str) -> dict[str, list[bytes]]:
    """Every record of every topic, raw: key, value and headers, read from the beginning up to the end offsets."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="leak-check")
    try:
        topics = sorted(admin.list_topics())
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="leak-check")
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        found: dict[str, list[bytes]] = {t: [] for t in topics}
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            assert time.monotonic() < deadline, "could not read every topic to its end in 60 s"
            for tp, messages in consumer.poll(timeout_ms=500).items():
                for message in messages:
                    parts = [message.key or b"", message.value or b""]
                    parts += [name.encode() + b"=" + (value or b"") for name, value in message.headers or []]
                    found[tp.topic].append(b"\n".join(parts))
        return found
    finally:
        consumer.close()


def read_lines(path: Path) -> list[dict[str, Any]]:
    """A JSONL file, split on newlines only (``str.splitlines`` would also split on U+2028 inside a string)."""
    if not path.exists():
        return []
    *complete, _partial = path.read_bytes().split(b"\n")
    return [json.loads(line) for line in complete if line.strip()]


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_no_secret_reaches_logs_files_topics_metrics_or_answers(tmp_path: Path) -> None:
    RefusingReceiver.requests = []
    answers: list[tuple[str, httpx.Response]] = []
    derived: dict[str, str] = {}
    policy = tmp_path / "policy.yaml"
    policy.write_text("keywords: []\nreceivers: {audit: {type: jsonl}, hook: {type: webhook}}\nroutes: {receivers: [audit, hook]}\n")
    with receiver() as hook_url:
        monitor = start_monitor(tmp_path / "data", extra_env={
            "POT_POLICY_FILE": str(policy), "POT_CLASSIFIER": "tests.fakes:ByTag", "POT_CLASSIFY_IN_PROCESS": "false",
            "POT_WEBHOOK_URL": hook_url, "POT_WEBHOOK_SECRET": WEBHOOK_SECRET, "POT_SLACK_SIGNING_SECRET": SLACK_SECRET,
            "POT_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES), "POT_DELIVERY_INLINE_ATTEMPTS": "1",
        })
        try:
            exercise(monitor, answers, derived)
            scraped = settle(monitor)
            topics = dump_topics(monitor.broker)
        finally:
            stop_monitor(monitor)

    assert topics.get("e2e.dlq") and topics.get("e2e.events") and topics.get("e2e.posts"), sorted(topics)
    sources: dict[str, bytes] = {"monitor log": monitor.log_path.read_bytes(), "/metrics": scraped.encode()}
    files = [p for p in monitor.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "alerts.jsonl" for p in files) and any(p.name == "monitor.log" for p in files)
    for path in files:
        sources[f"file {path.relative_to(monitor.data_dir)}"] = path.read_bytes()
    for topic, records in topics.items():
        sources[f"topic {topic}"] = b"\n".join(records)
    for where, answer in answers:
        headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
        sources[f"answer to {where}"] = headers.encode() + b"\n" + answer.content

    needles = {**SECRETS, **{f"refused token {i}": t for i, t in enumerate(WRONG_TOKENS)}, **derived}
    leaks = [
        f"{name} ({form}) in {source}"
        for source, content in sources.items()
        for name, value in needles.items()
        for form, needle in forms(value).items()
        if needle in content
    ]
    assert not leaks, "secrets found:\n" + "\n".join(leaks)
    print(f"searched {len(sources)} sources ({sum(map(len, sources.values())) / 1e6:.1f} MB) "
          f"for {len(needles)} values: {len(files)} files, {len(topics)} topics, {len(answers)} answers")


def exercise(monitor: Monitor, answers: list[tuple[str, httpx.Response]], derived: dict[str, str]) -> None:
    """Drive every path that handles a secret or fails near one, checking each answer says no more than it must."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    web = monitor.web

    def call(where: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = httpx.request(method, f"{web}{path}", timeout=30, **kwargs)
        answers.append((where, answer))
        return answer

    # valid posts: alerts that the JSONL audit log takes and the webhook refuses
    good = [post(f"order {i} is late #complaint", f"ok{i}") for i in range(VALID_POSTS - 1)] + [post("do you ship to Malta? #question", "okq")]
    assert call("valid posts", "POST", "/posts", json=good, headers=auth).status_code == 202

    # refused credentials, on every endpoint that takes one: 401, "unauthorized", nothing more
    protected = [("POST", "/posts", good[0]), ("POST", "/corrections", {"text": "x", "right_label": "praise"}),
                 ("POST", "/alerts/al-1/ack", {"actor": "ana"}), ("POST", "/silences", {"matchers": {}}),
                 ("DELETE", "/silences/s-1", None)]
    headers_tried = [{}] + [{"Authorization": f"Bearer {t}"} for t in WRONG_TOKENS] + [
        {"Authorization": "Basic " + base64.b64encode(f"pot:{TOKEN}".encode()).decode()},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": f"Bearer{TOKEN}"},
    ]
    for method, path, body in protected:
        for headers in headers_tried:
            answer = call(f"{method} {path} with {sorted(headers.values()) or 'no credential'}", method, path, json=body, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.status_code, answer.text)
            assert answer.json() == {"error": "unauthorized"}, answer.text
            assert answer.headers.get("WWW-Authenticate") == "Bearer"

    # invalid posts over HTTP (400) and straight onto the topic: dead letters
    bad = call("invalid batch", "POST", "/posts", json=[good[0], {"id": 7}], headers=auth)
    assert bad.status_code == 400 and [r["code"] for r in bad.json()["rejected"]] == ["missing_field"]
    assert call("invalid bytes", "POST", "/posts", content=b"\xff\xfe", headers=auth).status_code == 400
    producer = KafkaProducer(bootstrap_servers=monitor.broker)
    for raw in (b"{broken", b'{"id": 1}', b"\xff\xfe"):
        producer.send("e2e.posts", value=raw)
    producer.flush()
    producer.close()

    # oversized: the whole request (refused before it is read), and one post over the per-post limit
    huge = call("oversized request", "POST", "/posts", content=b"x" * (MAX_REQUEST_BYTES + 1),
                headers={**auth, "Content-Type": "application/json"})
    assert huge.status_code == 413, huge.text
    big_post = call("oversized post", "POST", "/posts", json=post("x" * 70_000 + " #complaint", "big"), headers=auth)
    assert big_post.status_code == 413 and big_post.json()["rejected"][0]["code"] == "too_large"

    # Slack interactions that must not be believed: forged, replayed, unsigned
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"username": "mallory"},
                                             "actions": [{"action_id": "pot_ack", "value": "al-1"}]})}).encode()
    now = str(int(time.time()))
    derived["expected Slack signature of the forged click"] = sign_slack_request(SLACK_SECRET, now, body)
    old = str(int(time.time()) - 600)
    forged = [
        ("forged Slack click", {TIMESTAMP_HEADER: now, SIGNATURE_HEADER: "v0=" + "0" * 64}),
        ("replayed Slack click", {TIMESTAMP_HEADER: old, SIGNATURE_HEADER: sign_slack_request(SLACK_SECRET, old, body)}),
        ("unsigned Slack click", {}),
    ]
    for where, headers in forged:
        answer = call(where, "POST", "/slack/interactions", content=body,
                      headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 401, (where, answer.status_code, answer.text)
        assert answer.json() == {"error": "invalid signature"}, answer.text

    # the errors really happened: alerts in the audit log, every webhook delivery signed, refused and dead-lettered
    alerts_path = monitor.data_dir / "alerts.jsonl"
    wait_for("the audit log to hold every alert", lambda: len(read_lines(alerts_path)) >= VALID_POSTS)
    wait_for("the webhook receiver to be called for every alert", lambda: len(RefusingReceiver.requests) >= VALID_POSTS)
    assert all(r["signed"] for r in RefusingReceiver.requests), "the worker signed with another secret"
    failed = 'pot_deliveries_total{outcome="failed",sink="hook"}'
    wait_for("every refused delivery to be counted as failed",
             lambda: metric(httpx.get(f"{web}/metrics").text, failed) >= VALID_POSTS)
    letters = wait_for(
        "the refused deliveries and the invalid posts in the dead-letter topic",
        lambda: (found := read_topic(monitor.broker, "e2e.dlq", timeout_s=1))
        and sum(d["stage"] == "deliver" for d in found) >= VALID_POSTS
        and sum(d["stage"] == "validate" for d in found) >= 6
        and found,
    )
    assert all("HTTP 401" in d["reason"] for d in letters if d["stage"] == "deliver"), [d["reason"] for d in letters]


def settle(monitor: Monitor) -> str:
    """Give late writes (follow-ups, events of the failed deliveries) a moment; return the final /metrics text."""
    deadline = time.monotonic() + 3
    text = ""
    while time.monotonic() < deadline:
        text = httpx.get(f"{monitor.web}/metrics", timeout=10).text
        time.sleep(0.5)
    return text
