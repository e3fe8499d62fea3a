"""The `pot` command as people use it: --version, -h, help on every option, list commands that print once
(or --watch), -o json|table, non-zero exits on every error, and `pot dlq list|replay` on a real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
import typer

from streams.cli import cli
from streams.cli.dlq import replay_target
from streams.kafka.broker import EmbeddedBroker, ensure_topics
from streams.kafka.readers import read_records

ROW = {"alert_id": "al-1", "seconds_left": 600, "priority": "P2", "label": "complaint", "text": "[red]card[/red] charged twice",
       "fired": ["warning"], "state": "open"}


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("POT_")}, "COLUMNS": "200", **extra}


def pot(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          env=_env(**env), timeout=timeout, cwd=Path(__file__).parent)


@pytest.fixture
def api():
    """A stand-in for a worker's HTTP API: answers GET /alerts with what ``state["status"]`` says."""
    state: dict = {"status": 200, "seen_auth": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["seen_auth"].append(self.headers.get("Authorization"))
            body = {"alerts": [ROW], "complete": True, "now": "2026-01-05T10:00:00Z"} if state["status"] == 200 else {"error": "boom"}
            data = json.dumps(body).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()


def test_version_and_short_help():
    version = pot("--version")
    assert version.returncode == 0 and version.stdout.startswith("pot (points-of-truth) ")
    for args in (["-h"], ["alerts", "-h"], ["dlq", "replay", "-h"]):
        shown = pot(*args)
        assert shown.returncode == 0 and "Usage:" in shown.stdout, args


def _walk(command: click.Command, path: str = "pot"):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, f"{path} {name}")


def test_every_command_option_and_argument_has_help():
    missing = []
    for path, command in _walk(typer.main.get_command(cli)):
        if not command.help:
            missing.append(path)
        for param in command.params:
            if not getattr(param, "help", None) and param.name != "help":
                missing.append(f"{path} {param.name}")
    assert not missing, f"no help text: {missing}"


def test_alerts_prints_once_as_table_or_json_with_the_token(api):
    started = time.monotonic()
    table = pot("alerts", "--api", api["url"], POT_API_TOKEN="t0ken")
    assert table.returncode == 0 and time.monotonic() - started < 60
    assert "1 open alert(s)" in table.stdout and "[red]card[/red]" in table.stdout, "customer text is shown, not styled"
    as_json = pot("alerts", "--api", api["url"], "-o", "json", POT_API_TOKEN="t0ken")
    assert json.loads(as_json.stdout)["alerts"] == [ROW]
    assert set(api["seen_auth"]) == {"Bearer t0ken"}


def test_alerts_watch_follows(api):
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "alerts", "--api", api["url"], "-o", "json", "--watch",
                             "--every", "0.3"], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
    assert all(json.loads(line)["alerts"] == [ROW] for line in lines)


@pytest.mark.parametrize(("status", "code", "message"), [(500, 1, "the monitor answered 500"), (404, 1, "answered 404"),
                                                          (401, 2, "set POT_API_TOKEN")])
def test_errors_exit_non_zero_instead_of_an_empty_table(api, status, code, message):
    api["status"] = status
    result = pot("alerts", "--api", api["url"])
    assert result.returncode == code and message in result.stderr and "alert(s)" not in result.stdout


def test_an_unreachable_monitor_exits_3():
    result = pot("alerts", "--api", "http://127.0.0.1:9")
    assert result.returncode == 3 and "cannot reach the monitor" in result.stderr


def test_replay_targets():
    assert replay_target({"stage": "validate", "raw": "{not json"}) == ("posts", None)
    assert replay_target({"stage": "classify", "raw": "{not json"}) == ("posts-normal", None)
    assert replay_target({"stage": "classify", "raw": json.dumps({"v": 1, "id": "1", "platform": "x", "author": {"id": "ann"}})}) == (
        "posts-normal", "x:ann"), "a replayed post goes to its author's partition, where the routing tables are"
    assert replay_target({"stage": "route", "raw": json.dumps({"post": {"platform": "x", "author": {"id": "ann"}}})}) == (
        "classified", "x:ann")
    assert replay_target({"stage": "deliver", "raw": json.dumps({"v": 1, "alert_id": "al-9"})}) == ("alerts", "al-9")
    assert replay_target({"stage": "deliver", "raw": json.dumps({"notice_id": "n-1", "alert_id": "al-9"})}) == ("notices", "n-1")
    assert replay_target({"stage": "clock", "raw": "garbage"}) is None


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("dlq") / "tansu.log") as running:
        ensure_topics([running.bootstrap], ["t.posts", "t.dlq"], 1, 1)
        yield running


def test_dlq_list_and_replay(tmp_path, broker):
    env = {"POT_BROKER": broker.bootstrap, "POT_TOPIC_PREFIX": "t."}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "p1", "text": "no platform"}\nnot json at all\n')
    sent = pot("send", str(bad), **env)
    assert sent.returncode == 1, sent.stderr  # both lines rejected, and dead-lettered

    listed = pot("dlq", "list", "-o", "json", **env)
    assert listed.returncode == 0, listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(x["id"], x["stage"]) for x in letters] == [("0:0", "validate"), ("0:1", "validate")]
    table = pot("dlq", "list", "--reason", letters[1]["reason_code"], **env)
    assert table.returncode == 0 and "0:1" in table.stdout and "0:0 " not in table.stdout

    assert pot("dlq", "replay", **env).returncode == 2, "replaying everything needs a filter or ids"
    dry = pot("dlq", "replay", "--stage", "validate", "--dry-run", **env)
    assert dry.returncode == 0 and "would replay 2" in dry.stdout
    assert list(read_records({"bootstrap_servers": [broker.bootstrap]}, "t.posts")) == []

    replayed = pot("dlq", "replay", "0:1", "9:9", **env)
    assert replayed.returncode == 1 and "9:9" in replayed.stderr and "replayed 1" in replayed.stdout
    again = [r.value for r in read_records({"bootstrap_servers": [broker.bootstrap]}, "t.posts")]
    assert again == [b"not json at all"]


def test_dlq_on_a_broker_that_does_not_answer_exits_3(tmp_path):
    result = pot("dlq", "list", POT_BROKER="127.0.0.1:9", POT_BROKER_WAIT_S="1")
    assert result.returncode == 3 and "POT_BROKER=kafka://127.0.0.1:9" in result.stderr


def test_native_dead_letters_name_their_stage_and_replay_by_mapping_again(tmp_path, broker):
    """`pot send --format` under a small POT_MAX_POST_BYTES: the big tweet and the one whose post is invalid are
    dead-lettered at `validate`, the payload the mapper cannot read at `map`; once the limit is back to its
    default, `pot dlq replay` maps the big one again and publishes its post; the unreadable one stays refused."""
    ensure_topics([broker.bootstrap], ["n.posts", "n.dlq"], 1, 1)
    env = {"POT_BROKER": broker.bootstrap, "POT_TOPIC_PREFIX": "n."}

    def tweet(tid: str, text: str, created_at: object = "2026-11-23T09:00:00Z") -> str:
        return json.dumps({"data": {"id": tid, "text": text, "author_id": "42", "created_at": created_at}})

    page = tmp_path / "tweets.jsonl"
    page.write_text("\n".join([tweet("big", "the seat was broken " * 150), tweet("epoch", "late", 1732352400),
                               json.dumps({"errors": [{"title": "ConnectionException"}]})]) + "\n")
    sent = pot("send", "--format", "twitter", str(page), POT_MAX_POST_BYTES="1000", **env)
    assert sent.returncode == 1 and "too_large" in sent.stderr, sent.stderr

    listed = pot("dlq", "list", "-o", "json", **env)
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(x["stage"], x["reason_code"]) for x in letters] == [
        ("validate", "too_large"), ("validate", "wrong_type"), ("map", "unknown_shape")], listed.stderr
    assert len(pot("dlq", "list", "--stage", "map", "-o", "json", **env).stdout.splitlines()) == 1

    replayed = pot("dlq", "replay", "--reason", "too_large", **env)
    assert replayed.returncode == 0 and "replayed 1" in replayed.stdout, replayed.stderr
    posts = list(read_records({"bootstrap_servers": [broker.bootstrap]}, "n.posts"))
    assert [(r.key, json.loads(r.value)["platform"]) for r in posts] == [(b"x:big", "x")]
    refused = pot("dlq", "replay", "--stage", "map", **env)
    assert refused.returncode == 1 and "unknown_shape" in refused.stderr
    assert len(list(read_records({"bootstrap_servers": [broker.bootstrap]}, "n.posts"))) == 1


def test_send_reads_a_pipe_the_shell_hands_over(tmp_path: Path) -> None:
    """`pot send --dry-run <(export-posts)` was refused as "no such file": a pipe is not a regular file."""
    fifo = tmp_path / "posts.pipe"
    os.mkfifo(fifo)
    tweet = json.dumps({"data": {"id": "7", "text": "my parcel is late", "author_id": "42", "created_at": "2026-11-23T09:00:00Z"}})

    def feed() -> None:
        with open(fifo, "w") as pipe:
            pipe.write(tweet + "\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    sent = pot("send", "--dry-run", "--format", "x", str(fifo))
    writer.join(timeout=10)
    assert sent.returncode == 0, sent.stderr
    assert [json.loads(line)["text"] for line in sent.stdout.splitlines()] == ["my parcel is late"]
    assert pot("send", "--dry-run", str(tmp_path)).returncode == 2, "a folder is still refused"
