"""End to end on real parts: `pot run` with its embedded broker, the real classifier, real topics.

Valid posts each yield exactly one alert with the expected label and deadline;
invalid posts each yield a dead-letter record with their reason; duplicates
yield nothing; HTTP and `pot send` feed the same pipeline; SIGTERM leaves no
process behind.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
from kafka import KafkaProducer

from streams.core.records import parse_instant
from streams.kafka.readers import read_topic

from .conftest import TOKEN, alive, children_of, start_monitor, stop_monitor

pytestmark = pytest.mark.e2e

WINDOWS = {"complaint": 3600, "question": 3600, "suggestion": 86400, "praise": 86400}


def make_post(pid: str, text: str, lang: str, created_at: str = "2026-11-23T09:00:00+02:00") -> dict:
    return {
        "id": pid,
        "platform": "twitter",
        "text": text,
        "created_at": created_at,
        "author": {"id": f"u-{pid}", "handle": f"@user{pid}", "followers": 120, "verified": False},
        "lang": lang,
        "brand": "skyjet",
    }


VALID = [
    (make_post("e1", "@skyjet flight cancelled, 5 hours at the gate and nobody answers the phone. Worst airline ever.", "en"), "complaint"),
    (make_post("e2", "Bonjour, est-ce que vous livrez en Belgique ? Et quels sont les délais ?", "fr", "2026-11-23T08:30:00Z"), "question"),
    (make_post("e3", "Grazie mille al servizio clienti, problema risolto in 5 minuti! Bravissimi 👏", "it"), "praise"),
    (make_post("e4", "Ar fi super dacă ați adăuga plata cu Apple Pay în aplicație", "ro"), "suggestion"),
]
OTHER = make_post("e5", "RT and follow to WIN a free phone!!! #giveaway #contest", "en")


def wait_for(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def alerts_for(monitor, post_id: str) -> list[dict]:
    return [a for a in monitor.alerts() if a["post"]["id"] == post_id]


def test_posts_flow_to_alerts_and_bad_input_to_dead_letters(monitor):
    log = " ".join(monitor.log().split())
    assert "The embedded broker keeps everything in memory: stopping or restarting `pot run` loses queued posts" in log
    producer = KafkaProducer(bootstrap_servers=monitor.broker)
    try:
        for post, _ in VALID:
            producer.send("e2e.posts", key=f"twitter:{post['id']}".encode(), value=json.dumps(post).encode())
        producer.send("e2e.posts", key=b"twitter:e5", value=json.dumps(OTHER).encode())
        invalid = {
            "not_json": b"{this is not json",
            "not_utf8": b'{"id": "\xff\xfe"}',
            "missing_field": json.dumps({"id": "x1", "text": "hello", "created_at": "2026-11-23T09:00:00Z", "author": {}}).encode(),
            "wrong_type": json.dumps({**make_post("x2", "hi", "en"), "author": {"id": "u", "followers": "lots"}}).encode(),
            "bad_timestamp": json.dumps(make_post("x3", "hi", "en", created_at="last tuesday")).encode(),
            "too_large": json.dumps(make_post("x4", "A" * 70_000, "en")).encode(),
        }
        for raw in invalid.values():
            producer.send("e2e.posts", value=raw)
        producer.flush()

        assert wait_for(lambda: len(monitor.alerts()) >= len(VALID), 90), monitor.log()[-3000:]
        # A duplicate of the complaint (same platform and id, even with other text) raises nothing.
        duplicate = {**VALID[0][0], "text": "still waiting!!"}
        producer.send("e2e.posts", key=b"twitter:e1", value=json.dumps(duplicate).encode())
        producer.flush()
    finally:
        producer.close()

    dead = wait_for(lambda: [d for d in read_topic(monitor.broker, "e2e.dlq") if d["source_topic"] == "e2e.posts"]
                    if len(read_topic(monitor.broker, "e2e.dlq")) >= len(invalid) else None, 60)
    assert sorted(d["reason_code"] for d in dead) == sorted(invalid)
    by_code = {d["reason_code"]: d for d in dead}
    assert by_code["not_utf8"]["raw_encoding"] == "base64"
    assert base64.b64decode(by_code["not_utf8"]["raw"]) == invalid["not_utf8"]
    assert by_code["not_json"]["raw"] == invalid["not_json"].decode()
    assert "author.id" in by_code["missing_field"]["reason"]
    assert "last tuesday" in by_code["bad_timestamp"]["reason"]

    time.sleep(3)  # give the duplicate time to (not) arrive
    for post, label in VALID:
        found = alerts_for(monitor, post["id"])
        assert len(found) == 1, f"{post['id']}: {len(found)} alerts"
        alert = found[0]
        assert alert["classification"]["label"] == label, alert["classification"]
        assert alert["window_s"] == WINDOWS[label]
        assert parse_instant(alert["deadline"]) == parse_instant(post["created_at"]) + timedelta(seconds=WINDOWS[label])
        assert alert["reasons"] and alert["receivers"]
        assert alert["classification"]["model"] == "e5-head"
    assert alerts_for(monitor, "e5") == []
    assert alerts_for(monitor, "e1")[0]["post"]["text"] == VALID[0][0]["text"]

    events = read_topic(monitor.broker, "e2e.events")
    raised = {e["alert_id"] for e in events if e["kind"] == "raised"}
    assert {a["alert_id"] for a in monitor.alerts()} <= raised

    metrics = httpx.get(f"{monitor.web}/metrics").text
    assert 'pot_posts_rejected_total{reason="not_utf8"} 1.0' in metrics
    assert "pot_posts_duplicate_total 1.0" in metrics


def test_http_ingest(monitor):
    url = f"{monitor.web}/posts"
    good = make_post("h1", "Do you ship to Cyprus? Thanks in advance", "en")
    assert httpx.post(url, json=good).status_code == 401
    assert httpx.post(url, json=good, headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}

    answer = httpx.post(url, json=[good, make_post("h2", "How do I reset my password?", "en")], headers=auth)
    assert answer.status_code == 202
    assert answer.json() == {"accepted": ["x:h1", "x:h2"]}  # sent as `twitter`, keyed by the canonical name

    bad = httpx.post(url, json=[make_post("h3", "ok", "en"), {"id": 7}], headers=auth)
    assert bad.status_code == 400
    body = bad.json()
    assert body["accepted"] == []
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, "missing_field")]

    huge = httpx.post(url, json=make_post("h4", "x" * 70_000, "en"), headers=auth)
    assert huge.status_code == 413
    assert httpx.post(url, content=b"\xff", headers=auth).status_code == 400

    assert wait_for(lambda: alerts_for(monitor, "h1") and alerts_for(monitor, "h2"), 60)
    assert alerts_for(monitor, "h1")[0]["classification"]["label"] == "question"
    assert alerts_for(monitor, "h3") == []


def test_pot_send_reports_rejected_lines(monitor, tmp_path):
    lines = [
        json.dumps(make_post("s1", "The app crashes every time I open my basket. Fix it please!", "en")),
        "{broken",
        "",
        json.dumps({"id": "s3", "text": "hi"}),
        json.dumps(make_post("s2", "Děkuji, objednávka dorazila o den dřív, skvělá práce!", "cs")),
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "send", str(path), "--broker", f"kafka://{monitor.broker}"],
        capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "POT_TOPIC_PREFIX": "e2e.", "COLUMNS": "200"},
    )
    assert result.returncode == 1, result.stderr
    assert "sent 2 post(s)" in result.stderr
    assert "│ 2    │ not_json" in result.stderr.replace("  ", " ") or " 2 " in result.stderr
    assert "missing_field" in result.stderr and "4" in result.stderr
    assert wait_for(lambda: alerts_for(monitor, "s1") and alerts_for(monitor, "s2"), 60)
    assert alerts_for(monitor, "s1")[0]["classification"]["label"] == "complaint"
    assert alerts_for(monitor, "s2")[0]["classification"]["label"] == "praise"


def test_shadow_classifier_and_sigterm_leaves_no_process(tmp_path):
    monitor = start_monitor(
        tmp_path / "m2", extra_env={"POT_RECEIVERS": '["jsonl"]', "POT_SHADOW_CLASSIFIER": "tests.fakes:AlwaysOther"}
    )
    post = make_post("sh1", "Your checkout page has been broken since yesterday, I cannot pay!!", "en")
    assert httpx.post(f"{monitor.web}/posts", json=post, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 202
    assert wait_for(lambda: alerts_for(monitor, "sh1"), 60), monitor.log()[-2000:]
    shadow = wait_for(lambda: read_topic(monitor.broker, "e2e.shadow"), 30)
    assert [(d["post_key"], d["primary_label"], d["shadow_label"]) for d in shadow] == [("x:sh1", "complaint", "other")]
    metrics = httpx.get(f"{monitor.web}/metrics").text
    assert 'pot_shadow_disagreements_total{primary_label="complaint",shadow_label="other"} 1.0' in metrics
    children = stop_monitor(monitor)
    assert monitor.process.returncode is not None
    assert children, "the embedded broker should have been a child of pot run"
    assert wait_for(lambda: not any(alive(pid) for pid in children), 15)


def test_unreachable_broker_fails_fast_and_plainly(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "run", "--broker", "kafka://127.0.0.1:1"],
        capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "POT_BROKER_WAIT_S": "3", "POT_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 3
    assert "broker unreachable" in result.stderr and "127.0.0.1:1" in result.stderr
    assert time.monotonic() - started < 90


def test_corrections_round_trip(monitor, tmp_path):
    url = f"{monitor.web}/corrections"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    correction = {"text": "could you add Apple Pay?", "right_label": "suggestion", "wrong_label": "question",
                  "post_key": "twitter:c1", "lang": "en", "actor": "ana"}
    assert httpx.post(url, json=correction).status_code == 401
    assert httpx.post(url, json={**correction, "right_label": "rant"}, headers=auth).status_code == 400
    assert httpx.post(url, json=correction, headers=auth).status_code == 202
    assert httpx.post(url, json={**correction, "right_label": "complaint"}, headers=auth).status_code == 202
    out = tmp_path / "corrections.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "corrections", "export", str(out), "--broker", f"kafka://{monitor.broker}"],
        capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "POT_TOPIC_PREFIX": "e2e."},
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"text": "could you add Apple Pay?", "label": "complaint", "lang": "en"}]


def test_readiness_says_what_is_wrong(tmp_path):
    monitor = start_monitor(tmp_path / "m3", extra_env={"POT_RECEIVERS": '["jsonl"]'})
    try:
        ready = httpx.get(f"{monitor.web}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        assert httpx.get(f"{monitor.web}/healthz").json() == {"status": "ok"}
        classifier = [pid for pid in children_of(monitor.process.pid)
                      if b"spawn_main" in open(f"/proc/{pid}/cmdline", "rb").read()]
        assert len(classifier) == 1
        os.kill(classifier[0], signal.SIGKILL)
        time.sleep(1)
        answer = httpx.get(f"{monitor.web}/readyz")
        assert answer.status_code == 503
        assert any("classifier process is not running" in p for p in answer.json()["problems"])
    finally:
        stop_monitor(monitor)
