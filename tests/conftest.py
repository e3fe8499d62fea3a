"""Fixtures that start the real monitor (`pot run`) on its embedded broker, and stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

TOKEN = "test-token-5f1c2a9e7b"

ROOT = Path(__file__).resolve().parent.parent
# Subprocesses (`pot run`, `pot send`, benches) run with cwd=tests/ and would import whichever checkout the
# venv's editable install points at; from a git worktree that is another checkout. Put this one first.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Monitor:
    process: subprocess.Popen
    data_dir: Path
    web: str
    log_path: Path

    @property
    def broker(self) -> str:
        return (self.data_dir / "broker.url").read_text().strip().removeprefix("kafka://")

    def alerts(self) -> list[dict]:
        path = self.data_dir / "alerts.jsonl"
        if not path.exists():
            return []
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")[:-1] if not text.endswith("\n") else text.split("\n")  # a half-written last line waits
        return [json.loads(line) for line in lines if line.strip()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """One sample of ``/metrics`` by name and labels (0.0 when absent, as an untouched counter reads)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.web}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0


def wait_for(check, what: str, timeout: float = 40.0):
    """Poll ``check`` until it returns something truthy (and return that), or fail saying what never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def publish_complaints(producer, start: int, count: int) -> set[str]:
    """Posts ``start`` .. ``start + count - 1`` (``#complaint``, one author each) on ``e2e.posts`` through a
    kafka-python ``producer``, flushed; returns the alert ids they should raise."""
    from streams.core.records import alert_id_for

    for i in range(start, start + count):
        post = {"id": str(i), "platform": "x", "text": f"#complaint number {i}", "author": {"id": f"a{i}"},
                "created_at": datetime.now(timezone.utc).isoformat()}
        producer.send("e2e.posts", key=f"x:{i}".encode(), value=json.dumps(post).encode())
    producer.flush()
    return {alert_id_for(f"x:{i}") for i in range(start, start + count)}


def start_monitor(
    data_dir: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None, host: str = "127.0.0.1",
    when_logged: tuple[str, Callable[[Monitor], None]] | None = None,
) -> Monitor:
    """Start `pot run` and wait until /readyz says ready; ``when_logged=(text, act)`` calls ``act`` once, while
    the monitor is still starting, as soon as ``text`` is in its log."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "POT_BROKER"},
        "POT_DATA_DIR": str(data_dir),
        "POT_WEB_PORT": str(port),
        "POT_API_TOKEN": TOKEN,
        "POT_TOPIC_PREFIX": "e2e.",
        "POT_PARTITIONS": "2",
        **(extra_env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "monitor.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "run", "--log-level", "info", *(args or [])],
        stdout=open(log_path, "ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    monitor = Monitor(process, data_dir, f"http://{host}:{port}", log_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"pot run exited with {process.returncode}:\n{monitor.log()[-3000:]}")
        if when_logged is not None and when_logged[0] in monitor.log():
            when_logged[1](monitor)
            when_logged = None
        try:
            if httpx.get(f"{monitor.web}/readyz", timeout=2).status_code == 200:
                return monitor
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_monitor(monitor)
    raise AssertionError(f"monitor not ready in time:\n{monitor.log()[-3000:]}")


def stop_monitor(monitor: Monitor, sig: int = signal.SIGTERM) -> list[int]:
    """Stop `pot run` and return the pids of the children it had (all must be gone)."""
    children = children_of(monitor.process.pid)
    if monitor.process.poll() is None:
        monitor.process.send_signal(sig)
        try:
            monitor.process.wait(60)
        except subprocess.TimeoutExpired:
            monitor.process.kill()
            monitor.process.wait(10)
    deadline = time.monotonic() + 15  # children see their parent go and exit on their own, a moment later
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.2)
    return children


@pytest.fixture(scope="module")
def monitor(tmp_path_factory) -> Iterator[Monitor]:
    m = start_monitor(tmp_path_factory.mktemp("monitor"))
    yield m
    stop_monitor(m)
