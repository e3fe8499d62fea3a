"""End-to-end throughput, latency and memory of ``pot run`` on its embedded broker, in one run.

    .venv/bin/python bench/e2e_bench.py [--posts 3000] [--level-seconds 30] [--out bench]
    .venv/bin/python bench/e2e_bench.py --posts 300 --level-seconds 5      # a quick check that it all works

What it does, with the real default classifier (``e5-head``) and texts from
``classifiers/data/brand_posts/*_test.jsonl`` (cycled; every post gets a unique id, a unique author and
``created_at`` = now):

0. ceiling: the classifier alone at batch sizes 1, 8, 16, 32, 64 (``ceiling`` of bench/classify_bench.py,
   run in a child process so that its model is out of memory before any worker starts); the best is the ceiling;
1. naive: ``pot run`` with ``POT_BATCH_SIZE=1`` (one post at a time, the naive pipeline of
   classify_bench.py), fed a burst of posts, measured end to end exactly as in 2 (so the ratio compares like
   with like: posts through to the alert log, not only to the ``classified`` topic);
2. sustained maximum: a fresh ``pot run`` (product defaults: batch 32, 4 partitions; ``POT_RECEIVERS=["jsonl"]``,
   its own data dir and web port), warmed up with 64 posts, then sent ``--posts`` posts as fast as
   kafka-python's KafkaProducer will go. A post is *done* when its alert line is in ``alerts.jsonl`` or,
   for a post that raises no alert (label ``other``), when ``pot_posts_not_alerted_total`` counts it (silenced,
   duplicate and dead-lettered posts are counted too, and should be zero). The sustained rate is the slope of
   done-posts over the steady part of the run, from 10 % to 90 % of the posts done (start-up and tail cut off);
   alerts/s out is the number of alert lines that appeared in that same window, divided by its length;
3. latency at 25, 50, 75 and 100 % of the sustained rate: posts paced at that rate for ``--level-seconds``
   each, on the same worker; after each level the bench waits for every post of it to be done;
4. peak memory: the largest ``pot_process_resident_memory_bytes{process="worker"}`` +
   ``{process="classifier"}`` read from ``/metrics`` (scraped every second) over 2 and 3. The worker refreshes
   that gauge only every 5 s, so the kernel's own high-water marks (``VmHWM`` of both processes, read from
   /proc before the worker stops) are reported beside it as a cross-check (an upper bound: the two peaks
   need not coincide).

How post -> alert latency is measured (no product change needed). Each post is produced with an explicit
Kafka timestamp (``timestamp_ms`` = the wall clock when the bench hands it to the producer); the worker
stamps ``post.received_at`` from the record's timestamp, so the ``received_at`` in each alert line is the
send time, to the millisecond (the script checks this against its own send times and reports the largest
difference). The JSONL sink writes no delivery time, and ``raised_at`` is stamped by the router before
delivery and only to the whole second, so the bench tails ``alerts.jsonl`` from a thread that polls it every
5 ms and stamps each new line with the wall clock when it is read: latency = seen_at - received_at. The sink
fsyncs each line before the delivery counts, so a line is readable as soon as it is written; the error is the
poll interval plus thread scheduling (a few ms; on a loaded machine the bench's threads compete with the
worker, which can only add to the figure). Same machine, same clock: no skew. As a cross-check, the product's
own ``pot_post_to_alert_seconds`` histogram (observed at delivery) is scraped before and after each level;
its bucket deltas give the share of alerts delivered within 500 ms and bucket-interpolated percentiles
(``histogram`` in the JSON). Per level the JSON also has the classifier calls made, their mean batch size and
mean duration (from ``pot_classify_batch_size`` and ``pot_classify_duration_seconds``): paced traffic arrives
in small batches, which is what separates latency under load from the burst figure.

The bench's own load on the worker: one ``/metrics`` request a second (rendering it takes ~12 ms of the worker's
event loop on the 2-core machine, about 1 %; its median round trip is in the JSON), and none on the posts path.

Prints a table (with the targets: sustained/ceiling >= 0.85, sustained/naive >= 5, p99 at 50 % load <= 500 ms,
peak RSS <= 1.5 GiB), writes ``<out>/e2e_bench.json`` and ``<out>/e2e_bench.png``. Every process it starts is
stopped at the end, on an error and on Ctrl-C (SIGTERM, then SIGKILL, then any leftover child by pid); the
workers also die with the bench (``PR_SET_PDEATHSIG``) if it is killed outright. Not a test: the figures
depend on the machine, and need a quiet one.
"""

from __future__ import annotations

import argparse
import bisect
import ctypes
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import classify_bench  # noqa: E402  (bench/classify_bench.py: ceiling(), free_port())

LEVELS = (0.25, 0.50, 0.75, 1.00)
CEILING_SIZES = (1, 8, 16, 32, 64)
TOPIC_PREFIX = "bench."
GIB = 1024**3
TARGETS = {"sustained_vs_ceiling": 0.85, "sustained_vs_naive": 5.0, "p99_at_50_ms": 500.0, "peak_rss_gib": 1.5}
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here, not in the forked child


def _die_with_bench() -> None:
    """preexec_fn of every child: SIGTERM when the bench dies, and a session of its own (Ctrl-C is ours to handle)."""
    _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()


# ---------------------------------------------------------------- processes


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for kid in map(int, kids):
        out.append(kid)
        out += descendants(kid)
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class Processes:
    """Every child the bench starts; ``stop_all`` ends them and whatever they started."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], **kwargs: Any) -> subprocess.Popen:
        kwargs.setdefault("cwd", ROOT)
        proc = subprocess.Popen(args, preexec_fn=_die_with_bench, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace_s: float = 30.0) -> None:
        family = descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        deadline = time.monotonic() + 5
        for pid in family:  # the broker and classifier die with the worker; make sure of it
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(reversed(self.procs)):
            try:
                self.stop(proc, grace_s=15.0)
            except Exception as exc:  # keep going: the others must still be stopped
                print(f"could not stop pid {proc.pid}: {exc}", file=sys.stderr)


# ---------------------------------------------------------------- observing a worker


def parse_instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Seen:
    at: float  # when the bench read the line
    post_id: str
    received_at: float  # the post's received_at: its Kafka timestamp, which the bench set to its send time


class Tail(threading.Thread):
    """Follows alerts.jsonl, stamping each new line with the time it was read (polls every 5 ms)."""

    def __init__(self, path: Path, poll_s: float = 0.005) -> None:
        super().__init__(daemon=True, name="tail-alerts")
        self.path, self.poll_s = path, poll_s
        self.stop_event = threading.Event()
        self.lines: list[Seen] = []
        self.times: list[float] = []
        self.bad = 0

    def run(self) -> None:
        handle = None
        buffer = b""
        while not self.stop_event.is_set():
            if handle is None:
                try:
                    handle = open(self.path, "rb")
                except FileNotFoundError:
                    time.sleep(self.poll_s)
                    continue
            chunk = handle.read()
            if not chunk:
                time.sleep(self.poll_s)
                continue
            now = time.time()
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                if not line.strip():
                    continue
                try:
                    alert = json.loads(line)
                    self.lines.append(Seen(now, alert["post"]["id"], parse_instant(alert["post"]["received_at"])))
                    self.times.append(now)
                except (ValueError, KeyError, TypeError):
                    self.bad += 1
        if handle is not None:
            handle.close()

    def count_until(self, t: float) -> int:
        return bisect.bisect_right(self.times, t)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(text: str) -> dict[str, Any]:
    """The few figures the benches need from a Prometheus text page.

    ``lag`` is ``pot_consumer_lag`` as {topic: {partition: records}} (the partitions this worker owns),
    ``triaged`` is ``pot_posts_triaged_total`` by lane, ``classified`` the sum of ``pot_posts_classified_total``.
    """
    out: dict[str, Any] = {"alerts_raised": 0.0, "not_alerted": 0.0, "silenced": 0.0, "duplicate": 0.0, "dead_lettered": 0.0,
                           "rss": {}, "p2a_buckets": {}, "p2a_count": 0.0, "batch_sum": 0.0, "batch_count": 0.0,
                           "classify_s_sum": 0.0, "lag": {}, "triaged": {}, "classified": 0.0}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels_text, value_text = match.groups()
        labels = dict(_LABEL.findall(labels_text or ""))
        value = float(value_text)
        if name == "pot_alerts_raised_total":
            out["alerts_raised"] += value
        elif name == "pot_posts_not_alerted_total":
            out["not_alerted"] += value
        elif name == "pot_alerts_silenced_total":
            out["silenced"] += value
        elif name == "pot_posts_duplicate_total":
            out["duplicate"] += value
        elif name == "pot_dead_letters_total" and labels.get("stage") in ("validate", "classify", "route"):
            out["dead_lettered"] += value
        elif name == "pot_process_resident_memory_bytes":
            out["rss"][labels.get("process", "?")] = value
        elif name == "pot_post_to_alert_seconds_bucket":
            out["p2a_buckets"][labels["le"]] = value
        elif name == "pot_post_to_alert_seconds_count":
            out["p2a_count"] = value
        elif name == "pot_classify_batch_size_sum":
            out["batch_sum"] = value
        elif name == "pot_classify_batch_size_count":
            out["batch_count"] = value
        elif name == "pot_classify_duration_seconds_sum":
            out["classify_s_sum"] = value
        elif name == "pot_consumer_lag":
            out["lag"].setdefault(labels.get("topic", "?"), {})[labels.get("partition", "?")] = value
        elif name == "pot_posts_triaged_total":
            out["triaged"][labels.get("lane", "?")] = value
        elif name == "pot_posts_classified_total":
            out["classified"] += value
    return out


class Scraper(threading.Thread):
    """Reads /metrics every ``every_s``; keeps (time, figures) and the peak worker + classifier RSS."""

    def __init__(self, url: str, every_s: float = 1.0) -> None:
        super().__init__(daemon=True, name="scrape-metrics")
        self.url, self.every_s = url, every_s
        self.stop_event = threading.Event()
        self.samples: list[tuple[float, dict[str, Any]]] = []
        self.peak_rss = 0.0
        self.peak_parts: dict[str, float] = {}
        self.errors = 0
        self.durations: list[float] = []
        self.lock = threading.Lock()

    def once(self) -> dict[str, Any] | None:
        import httpx

        started = time.perf_counter()
        try:
            text = httpx.get(self.url, timeout=2).text
        except httpx.HTTPError:
            self.errors += 1
            return None
        self.durations.append(time.perf_counter() - started)
        figures = scrape(text)
        now = time.time()
        total = sum(figures["rss"].get(p, 0.0) for p in ("worker", "classifier"))
        with self.lock:
            self.samples.append((now, figures))
            if total > self.peak_rss:
                self.peak_rss, self.peak_parts = total, dict(figures["rss"])
        return figures

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            self.once()
            self.stop_event.wait(max(0.0, self.every_s - (time.monotonic() - started)))

    def latest(self) -> tuple[float, dict[str, Any]] | None:
        with self.lock:
            return self.samples[-1] if self.samples else None


# ---------------------------------------------------------------- one worker


class Worker:
    """``pot run`` with its own data dir and web port: the embedded broker, or ``broker`` (``kafka://host:port``,
    e.g. another worker's embedded one) when given; ``extra_env`` is applied over the product defaults; ``root``:
    the checkout whose code runs (default: this one), to compare two versions of the code in one run."""

    def __init__(self, procs: Processes, data_dir: Path, batch_size: int | None, name: str,
                 extra_env: dict[str, str] | None = None, broker: str | None = None, root: Path | None = None) -> None:
        self.procs, self.data_dir, self.name = procs, data_dir, name
        self.port = classify_bench.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("POT_")}  # product defaults, nothing inherited
        env.update({"POT_DATA_DIR": str(data_dir), "POT_WEB_PORT": str(self.port), "POT_RECEIVERS": '["jsonl"]',
                    "POT_TOPIC_PREFIX": TOPIC_PREFIX, "POT_CLASSIFIER": "e5-head"})
        if batch_size is not None:
            env["POT_BATCH_SIZE"] = str(batch_size)
        env.update(extra_env or {})
        self.broker_url = broker
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "worker.log"
        with open(self.log_path, "wb") as log:
            self.proc = procs.start([sys.executable, "-m", "streams.cli", "run", "--log-level", "warning",
                                     *(["--broker", broker] if broker else [])], env=env,
                                    stdout=log, stderr=subprocess.STDOUT, cwd=root or ROOT)
        self.web = f"http://127.0.0.1:{self.port}"
        self.tail = Tail(data_dir / "alerts.jsonl")
        self.scraper = Scraper(f"{self.web}/metrics")
        self.sent = 0  # posts produced to this worker so far (all phases)
        self.sent_at: dict[str, float] = {}
        self.producer: Any = None

    def wait_ready(self, timeout_s: float = 240.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: pot run exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.web}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(f"{self.name}: not ready within {timeout_s:.0f} s:\n{self.log()[-3000:]}")
        from kafka import KafkaProducer

        if self.broker_url is None:  # its own embedded broker wrote its address
            self.broker_url = (self.data_dir / "broker.url").read_text().strip()
        self.broker = self.broker_url.removeprefix("kafka://")
        self.producer = KafkaProducer(bootstrap_servers=self.broker, linger_ms=0, acks=1, client_id="e2e-bench")
        self.tail.start()
        self.scraper.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def send(self, post_id: str, text: str) -> None:
        at = time.time()
        ms = int(at * 1000)
        self.sent_at[post_id] = ms / 1000
        value = json.dumps({"id": post_id, "platform": "bench", "text": text,
                            "created_at": datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds"),
                            "author": {"id": f"author-{post_id}"}}).encode()
        self.producer.send(f"{TOPIC_PREFIX}posts", key=f"bench:{post_id}".encode(), value=value, timestamp_ms=ms)
        self.sent += 1

    def done_at(self, t: float, figures: dict[str, Any]) -> int:
        """Posts done by time t: alert lines seen by then, plus posts routed without an alert."""
        return int(self.tail.count_until(t) + figures["not_alerted"] + figures["silenced"] + figures["duplicate"]
                   + figures["dead_lettered"])

    def done_now(self) -> int:
        """Scrape now (one extra request): posts done so far."""
        figures = self.scraper.once()
        if figures is None:
            latest = self.scraper.latest()
            figures = latest[1] if latest else None
        return self.done_at(time.time(), figures) if figures else 0

    def done_latest(self) -> int:
        """Posts done as of the scraper's latest sample (no extra request to the worker)."""
        latest = self.scraper.latest()
        return self.done_at(*latest) if latest else 0

    def wait_done(self, progress: Any = None, task: Any = None, base: int = 0, timeout_s: float = 300.0) -> bool:
        """Wait until every post sent so far is done; advance ``task`` by posts done past ``base``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: pot run exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            done = self.done_latest()
            if progress is not None:
                progress.update(task, completed=max(0, done - base))
            if done >= self.sent:
                return True
            time.sleep(0.2)
        return False

    def processes(self) -> Iterator[tuple[str, int]]:
        """``(role, pid)`` of the worker, its classifier child and the embedded broker, read from /proc."""
        for pid in [self.proc.pid] + descendants(self.proc.pid):
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "resource_tracker" in cmdline:
                continue
            yield ("broker" if "tansu" in comm else "worker" if pid == self.proc.pid else "classifier"), pid

    def vm_hwm(self) -> dict[str, float]:
        """Kernel high-water RSS of the worker and its classifier child (not the broker), in bytes."""
        out: dict[str, float] = {}
        for role, pid in self.processes():
            if role == "broker":
                continue
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
            out[role] = out.get(role, 0.0) + kb * 1024
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by the worker, its classifier child and the embedded broker."""
        tick = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for role, pid in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[role] = out.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        return out

    def stop(self) -> None:
        self.tail.stop_event.set()
        self.scraper.stop_event.set()
        if self.producer is not None:
            try:
                self.producer.close(timeout=5)
            except Exception:
                pass
        self.procs.stop(self.proc)


# ---------------------------------------------------------------- measurements


def test_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "classifiers" / "data" / "brand_posts").glob("*_test.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def cycled(texts: list[str], start: int, n: int) -> list[str]:
    return [texts[(start + i) % len(texts)] for i in range(n)]


def progress_bar(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def measure_ceiling(procs: Processes, texts: list[str], tmp: Path, console: Any) -> dict[int, float]:
    """classify_bench.ceiling in a child process (its model leaves memory with it)."""
    source, target = tmp / "ceiling_texts.json", tmp / "ceiling.json"
    source.write_text(json.dumps(texts))
    proc = procs.start([sys.executable, str(Path(__file__).resolve()), "--ceiling-child", str(source), str(target)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: list[str] = []
    with progress_bar(console) as progress:
        task = progress.add_task("ceiling: loading e5-head, then batch sizes " + "/".join(map(str, CEILING_SIZES)),
                                 total=len(CEILING_SIZES))
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            if "ceiling batch" in line:
                progress.advance(task)
                progress.console.print("  " + line.strip(), highlight=False)
    proc.wait()
    procs.procs.remove(proc)
    if proc.returncode != 0 or not target.exists():
        raise SystemExit("the ceiling run failed:\n" + "".join(tail[-40:]))
    return {int(k): v for k, v in json.loads(target.read_text()).items()}


def warm_up(worker: Worker, texts: list[str], console: Any) -> None:
    with progress_bar(console) as progress:
        task = progress.add_task(f"{worker.name}: warm-up", total=64)
        for i, text in enumerate(cycled(texts, 0, 64)):
            worker.send(f"warm-{i}", text)
        worker.producer.flush()
        if not worker.wait_done(progress, task, base=0, timeout_s=180):
            raise SystemExit(f"{worker.name}: warm-up posts were not all done in 180 s:\n{worker.log()[-3000:]}")


def burst(worker: Worker, texts: list[str], tag: str, n: int, console: Any) -> dict[str, Any]:
    """Send n posts at once; the steady done-rate (10 %..90 %) and alerts/s in that window."""
    base_done = worker.done_now()
    before = worker.scraper.latest()[1]
    first_line = len(worker.tail.lines)
    cpu_before, wall_before = worker.cpu_seconds(), time.time()
    with progress_bar(console) as progress:
        task = progress.add_task(f"{worker.name}: {n} posts at once", total=n)
        start = time.time()
        for i, text in enumerate(cycled(texts, 64, n)):
            worker.send(f"{tag}-{i}", text)
        worker.producer.flush()
        sent_s = time.time() - start
        ok = worker.wait_done(progress, task, base=base_done, timeout_s=max(300.0, n / 2))
    cpu_after, wall = worker.cpu_seconds(), time.time() - wall_before
    cpu_ms_per_post = {role: round(1000 * (cpu_after.get(role, 0.0) - cpu_before.get(role, 0.0)) / n, 2)
                       for role in ("worker", "classifier", "broker")}
    if not ok:
        console.print(f"[yellow]{worker.name}: not every post was done before the timeout[/yellow]")
    # the done-curve from the scrapes taken during the burst
    with worker.scraper.lock:
        samples = [(t, f) for t, f in worker.scraper.samples if t >= start]
    curve = [(start, 0)] + [(t, worker.done_at(t, f) - base_done) for t, f in samples]
    times = np.array([t for t, _ in curve])
    done = np.maximum.accumulate(np.array([d for _, d in curve], dtype=float))

    def when(count: float) -> float:
        index = int(np.searchsorted(done, count))
        if index == 0:
            return float(times[0])
        if index >= len(done):
            return float(times[-1])
        t0, t1, d0, d1 = times[index - 1], times[index], done[index - 1], done[index]
        return float(t0 + (t1 - t0) * (count - d0) / max(d1 - d0, 1e-9))

    lo, hi = when(0.1 * n), when(0.9 * n)
    window = max(hi - lo, 1e-9)
    alerts = [s for s in worker.tail.lines[first_line:] if s.post_id.startswith(f"{tag}-")]
    alerts_in_window = sum(1 for s in alerts if lo <= s.at <= hi)
    last = max(float(times[-1]), max((s.at for s in alerts), default=0.0))
    return {
        "posts": n, "sent_in_s": round(sent_s, 3), "posts_in_per_s": round(n / max(sent_s, 1e-9), 1),
        "posts_per_s": round(0.8 * n / window, 2), "alerts_per_s": round(alerts_in_window / window, 2),
        "alerts": len(alerts), "steady_window_s": round(window, 2), "all_done_in_s": round(last - start, 2),
        "all_done": ok, "cpu_ms_per_post": cpu_ms_per_post,
        "cpu_busy_share": round(sum(cpu_after.values()) - sum(cpu_before.values()), 2) / max(wall * (os.cpu_count() or 1), 1e-9),
        **batch_delta(before, worker.scraper.once() or worker.scraper.latest()[1]),
    }


def batch_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Classifier calls between two scrapes: how many, their mean size and mean duration (diagnostics)."""
    calls = after["batch_count"] - before["batch_count"]
    if calls <= 0:
        return {"classify_calls": 0}
    return {"classify_calls": int(calls), "mean_batch": round((after["batch_sum"] - before["batch_sum"]) / calls, 1),
            "mean_classify_ms": round((after["classify_s_sum"] - before["classify_s_sum"]) / calls * 1000, 1)}


def histogram_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Share within 500 ms, and percentiles interpolated within the product histogram's buckets."""
    bounds = sorted((float(le), after["p2a_buckets"][le] - before["p2a_buckets"].get(le, 0.0))
                    for le in after["p2a_buckets"])
    total = after["p2a_count"] - before["p2a_count"]
    if total <= 0:
        return {"count": 0}
    within = next((c for b, c in bounds if b == 0.5), None)

    def quantile(q: float) -> float | None:
        rank, low, below = q * total, 0.0, 0.0
        for bound, cumulative in bounds:
            if cumulative >= rank:
                if bound == float("inf"):
                    return None  # beyond the last finite bucket
                share = (rank - below) / max(cumulative - below, 1e-9)
                return (low + (bound - low) * share) * 1000
            low, below = bound, cumulative
        return None

    return {"count": int(total), "share_within_500ms": round(within / total, 4) if within is not None else None,
            **{f"p{q}_ms_hist": (round(v, 1) if (v := quantile(q / 100)) is not None else None) for q in (50, 95, 99)}}


def paced(worker: Worker, texts: list[str], tag: str, rate: float, seconds: float, console: Any) -> dict[str, Any]:
    """Send posts at ``rate``/s for ``seconds``; latency of each alert = seen in the file - received_at."""
    n = max(1, int(round(rate * seconds)))
    base_done = worker.done_now()
    first_line = len(worker.tail.lines)
    before = worker.scraper.once() or worker.scraper.latest()[1]
    with progress_bar(console) as progress:
        task = progress.add_task(f"{tag}: {rate:.1f} posts/s for {seconds:g} s", total=n)
        start_mono, start = time.monotonic(), time.time()
        for i, text in enumerate(cycled(texts, 64 + worker.sent, n)):
            delay = start_mono + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            worker.send(f"{tag}-{i}", text)
            progress.update(task, completed=i + 1)
        worker.producer.flush()
        sent_s = time.time() - start
        drain = progress.add_task(f"{tag}: waiting for every post to be done", total=n)
        ok = worker.wait_done(progress, drain, base=base_done, timeout_s=max(120.0, 4 * seconds))
        done_s = time.time() - start  # to within one scrape (1 s)
    if not ok:
        console.print(f"[yellow]{tag}: not every post was done before the timeout[/yellow]")
    after = worker.scraper.once() or worker.scraper.latest()[1]
    alerts = [s for s in worker.tail.lines[first_line:] if s.post_id.startswith(f"{tag}-")]
    latencies = np.array([s.at - s.received_at for s in alerts])
    skew = [abs(s.received_at - worker.sent_at[s.post_id]) for s in alerts if s.post_id in worker.sent_at]
    last = max((s.at for s in alerts), default=time.time())
    out: dict[str, Any] = {
        "target_rate": round(rate, 2), "posts": n, "posts_in_per_s": round(n / max(sent_s, 1e-9), 2),
        "posts_per_s": round(n / max(done_s, 1e-9), 2), "all_done_in_s": round(done_s, 2),
        "alerts": len(alerts), "alerts_per_s": round(len(alerts) / max(last - start, 1e-9), 2), "all_done": ok,
        "received_at_vs_sent_max_ms": round(max(skew) * 1000, 1) if skew else None,
    }
    if len(latencies):
        out.update({f"p{q}_ms": round(float(np.percentile(latencies, q)) * 1000, 1) for q in (50, 95, 99)})
        out["max_ms"] = round(float(latencies.max()) * 1000, 1)
    out.update(batch_delta(before, after))
    out["histogram"] = histogram_delta(before, after)
    return out


# ---------------------------------------------------------------- report


def verdict(ok: bool | None) -> str:
    return "[dim]n/a[/dim]" if ok is None else ("[green]met[/green]" if ok else "[red]missed[/red]")


def report(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table("phase", "posts/s in", "posts/s done", "alerts/s out", "alerts", "p50 ms", "p95 ms", "p99 ms",
                  "≤500 ms (hist)", "mean batch", title="pot run end to end, embedded broker, e5-head (one run)")
    ceiling = summary["ceiling"]
    table.add_row(f"ceiling: classifier alone, batch {ceiling['best_batch']}", "", f"{ceiling['posts_per_s']:.1f}",
                  "", "", "", "", "", "", str(ceiling["best_batch"]))
    for name, row in (("naive: batch 1, burst", summary["naive"]), ("sustained max: burst", summary["sustained"])):
        table.add_row(name, f"{row['posts_in_per_s']:.0f}", f"{row['posts_per_s']:.1f}", f"{row['alerts_per_s']:.1f}",
                      str(row["alerts"]), "", "", "", "", str(row.get("mean_batch", "")))
    for name, level in summary["levels"].items():
        hist = level["histogram"].get("share_within_500ms")
        table.add_row(f"{name} load, paced {level['target_rate']:.1f}/s", f"{level['posts_in_per_s']:.1f}",
                      f"{level['posts_per_s']:.1f}",
                      f"{level['alerts_per_s']:.1f}", str(level["alerts"]),
                      *(f"{level.get(f'p{q}_ms', float('nan')):.0f}" for q in (50, 95, 99)),
                      f"{hist:.0%}" if hist is not None else "", str(level.get("mean_batch", "")))
    console.print(table)

    rss = summary["memory"]
    targets = Table("measure", "value", "target", "", title="targets")
    ratios = summary["ratios"]
    targets.add_row("sustained / ceiling", f"{ratios['sustained_vs_ceiling']:.2f}", f"≥ {TARGETS['sustained_vs_ceiling']}",
                    verdict(ratios["sustained_vs_ceiling"] >= TARGETS["sustained_vs_ceiling"]))
    targets.add_row("sustained / naive", f"{ratios['sustained_vs_naive']:.2f}×", f"≥ {TARGETS['sustained_vs_naive']:g}×",
                    verdict(ratios["sustained_vs_naive"] >= TARGETS["sustained_vs_naive"]))
    p99 = summary["levels"].get("50%", {}).get("p99_ms")
    targets.add_row("p99 post → alert at 50 % load", f"{p99:.0f} ms" if p99 is not None else "no alerts",
                    f"≤ {TARGETS['p99_at_50_ms']:g} ms", verdict(None if p99 is None else p99 <= TARGETS["p99_at_50_ms"]))
    targets.add_row("peak RSS, worker + classifier (/metrics)", f"{rss['peak_gib']:.2f} GiB "
                    f"(worker {rss['peak_worker_mib']:.0f} + classifier {rss['peak_classifier_mib']:.0f} MiB)",
                    f"≤ {TARGETS['peak_rss_gib']} GiB", verdict(rss["peak_gib"] <= TARGETS["peak_rss_gib"]))
    targets.add_row("  cross-check: VmHWM sum (upper bound)", f"{rss['vmhwm_gib']:.2f} GiB", "", "")
    console.print(targets)
    env = summary["environment"]
    console.print(f"[dim]{env['cpus']} CPUs; load average {env['load_before']} before, {env['load_after']} after: "
                  "compare figures from one quiet run only[/dim]")


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1.1, 1]})
    levels = summary["levels"]
    names = list(levels)
    x = [int(name.rstrip("%")) for name in names]
    for q, style in ((50, "o-"), (95, "s--"), (99, "^-")):
        ys = [levels[n].get(f"p{q}_ms", np.nan) for n in names]
        left.plot(x, ys, style, label=f"p{q}")
    left.axhline(TARGETS["p99_at_50_ms"], color="#c55", lw=0.8, ls=":", label="p99 target at 50 % (500 ms)")
    left.set_xticks(x, [f"{n}\n{levels[n]['target_rate']:.1f}/s" for n in names])
    left.set_xlabel("load (share of the sustained maximum)")
    left.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    left.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    left.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "25" else ""))
    left.set_ylabel("post → alert latency (ms, log scale)")
    left.set_title("latency vs load")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)

    bars = [
        (f"ceiling: classifier alone (b={summary['ceiling']['best_batch']})", summary["ceiling"]["posts_per_s"], "#888"),
        ("sustained: posts through pot run", summary["sustained"]["posts_per_s"], "#2a7"),
        ("sustained: alerts out", summary["sustained"]["alerts_per_s"], "#7b5"),
        ("naive (batch 1): posts through", summary["naive"]["posts_per_s"], "#c55"),
    ]
    labels, values, colours = zip(*bars, strict=True)
    right.barh(labels, values, color=colours)
    for y, v in enumerate(values):
        right.text(v, y, f" {v:.1f}/s", va="center", fontsize=9)
    right.axvline(TARGETS["sustained_vs_ceiling"] * summary["ceiling"]["posts_per_s"], color="#555", lw=0.8, ls=":",
                  label="85 % of the ceiling")
    right.invert_yaxis()
    right.set_xlabel("per second")
    right.set_title("throughput (same texts, one run)")
    right.set_xlim(0, max(values) * 1.25)
    right.legend(fontsize=8, loc="lower right")
    env = summary["environment"]
    fig.suptitle(f"points-of-truth end to end on the embedded broker, e5-head, {env['cpus']} CPUs "
                 f"({summary['config']['posts']} posts, {summary['config']['level_seconds']:g} s per level)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- main


def ceiling_child(source: Path, target: Path) -> None:
    texts = json.loads(source.read_text())
    result = classify_bench.ceiling(texts, CEILING_SIZES)
    target.write_text(json.dumps({str(k): v for k, v in result.items()}))


def run(args: argparse.Namespace, procs: Processes, tmp: Path) -> dict[str, Any]:
    from rich.console import Console

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    texts = test_texts()
    load_before = [round(x, 2) for x in os.getloadavg()]
    console.print(f"{len(texts)} held-out texts (cycled), {args.posts} posts for the sustained run, "
                  f"{args.level_seconds:g} s per load level; temp dir {tmp}")

    console.rule("0. ceiling: the classifier alone")
    ceilings = measure_ceiling(procs, cycled(texts, 64, max(args.posts, 600)), tmp, console)  # the burst's texts
    best = max(ceilings, key=ceilings.get)

    console.rule("1. naive: pot run with POT_BATCH_SIZE=1")
    overrides = dict(item.split("=", 1) for item in args.env)
    naive_worker = Worker(procs, tmp / "naive", 1, "naive", extra_env=overrides)
    try:
        with console.status("naive: starting pot run (classifier load ~10-20 s)"):
            naive_worker.wait_ready()
        warm_up(naive_worker, texts, console)
        naive = burst(naive_worker, texts, "naive", min(args.posts, args.naive_posts), console)
    finally:
        naive_worker.stop()
    console.print(f"  naive: {naive['posts_per_s']} posts/s, {naive['alerts_per_s']} alerts/s; CPU per post, ms: "
                  f"{naive['cpu_ms_per_post']} (both cores {naive['cpu_busy_share']:.0%} busy)")

    console.rule("2. sustained maximum: pot run, product defaults")
    worker = Worker(procs, tmp / "main", None, "worker", extra_env=overrides)
    try:
        with console.status("worker: starting pot run (classifier load ~10-20 s)"):
            worker.wait_ready()
        warm_up(worker, texts, console)
        sustained = burst(worker, texts, "burst", args.posts, console)
        console.print(f"  CPU per post in the burst, ms: {sustained['cpu_ms_per_post']} "
                      f"(both cores {sustained['cpu_busy_share']:.0%} busy)")
        console.print(f"  sustained: {sustained['posts_per_s']} posts/s done, {sustained['alerts_per_s']} alerts/s out "
                      f"(steady window {sustained['steady_window_s']} s)")

        console.rule("3. latency at 25 / 50 / 75 / 100 % of the sustained maximum")
        levels: dict[str, Any] = {}
        for share in LEVELS:
            name = f"{share:.0%}"
            levels[name] = paced(worker, texts, f"L{int(share * 100)}", share * sustained["posts_per_s"],
                                 args.level_seconds, console)
            lv = levels[name]
            console.print(f"  {name}: {lv['alerts']} alerts, p50 {lv.get('p50_ms')} ms, p95 {lv.get('p95_ms')} ms, "
                          f"p99 {lv.get('p99_ms')} ms")
        hwm = worker.vm_hwm()
        worker.scraper.once()
        peak, parts = worker.scraper.peak_rss, worker.scraper.peak_parts
        scrape_errors, bad_lines = worker.scraper.errors, worker.tail.bad
        scrape_ms = [d * 1000 for d in worker.scraper.durations]
    finally:
        worker.stop()

    summary: dict[str, Any] = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {"env": args.env, "posts": args.posts, "level_seconds": args.level_seconds, "naive_posts": min(args.posts, args.naive_posts),
                   "classifier": "e5-head", "levels": [f"{s:.0%}" for s in LEVELS]},
        "environment": {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                        "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()]},
        "ceiling": {"posts_per_s": round(ceilings[best], 1), "best_batch": best,
                    "by_batch": {str(k): round(v, 1) for k, v in ceilings.items()}},
        "naive": naive,
        "sustained": sustained,
        "levels": levels,
        "memory": {"peak_gib": round(peak / GIB, 3), "peak_worker_mib": round(parts.get("worker", 0) / 2**20, 1),
                   "peak_classifier_mib": round(parts.get("classifier", 0) / 2**20, 1),
                   "vmhwm_gib": round(sum(hwm.values()) / GIB, 3),
                   "vmhwm_mib": {k: round(v / 2**20, 1) for k, v in hwm.items()}},
        "ratios": {"sustained_vs_ceiling": round(sustained["posts_per_s"] / ceilings[best], 3),
                   "sustained_vs_naive": round(sustained["posts_per_s"] / max(naive["posts_per_s"], 1e-9), 2)},
        "quality": {"metrics_scrape_errors": scrape_errors, "unreadable_alert_lines": bad_lines,
                    "metrics_scrapes": len(scrape_ms), "metrics_scrape_ms_median": round(float(np.median(scrape_ms)), 1)
                    if scrape_ms else None},
    }
    p99 = levels.get("50%", {}).get("p99_ms")
    summary["targets"] = {
        "sustained_vs_ceiling": {"target": TARGETS["sustained_vs_ceiling"],
                                 "met": summary["ratios"]["sustained_vs_ceiling"] >= TARGETS["sustained_vs_ceiling"]},
        "sustained_vs_naive": {"target": TARGETS["sustained_vs_naive"],
                               "met": summary["ratios"]["sustained_vs_naive"] >= TARGETS["sustained_vs_naive"]},
        "p99_at_50_ms": {"target": TARGETS["p99_at_50_ms"], "met": None if p99 is None else p99 <= TARGETS["p99_at_50_ms"]},
        "peak_rss_gib": {"target": TARGETS["peak_rss_gib"], "met": summary["memory"]["peak_gib"] <= TARGETS["peak_rss_gib"]},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "e2e_bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(summary, args.out / "e2e_bench.png")
    report(summary, console)
    console.print(f"wrote {args.out / 'e2e_bench.json'} and {args.out / 'e2e_bench.png'}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=3000, help="posts in the sustained-maximum burst (default 3000)")
    parser.add_argument("--level-seconds", type=float, default=30.0, help="seconds of paced load per level (default 30)")
    parser.add_argument("--naive-posts", type=int, default=600, help="most posts for the naive burst (default 600)")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="folder for e2e_bench.json and e2e_bench.png (default bench/out)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (worker logs, alert files)")
    parser.add_argument("--env", action="append", default=[], metavar="POT_X=VALUE",
                        help="a setting for every worker over the product defaults (repeatable), to compare settings")
    parser.add_argument("--ceiling-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_child:
        ceiling_child(*args.ceiling_child)
        return
    if args.posts < 50 or args.level_seconds <= 0:
        parser.error("--posts must be at least 50 and --level-seconds positive")

    run_cleanly(lambda procs, tmp: run(args, procs, tmp), "pot-e2e-bench-", args.keep)


def run_cleanly(body: Callable[[Processes, Path], Any], tmp_prefix: str, keep: bool) -> None:
    """Run ``body(procs, tmp)`` and stop every process it started, on success, error, Ctrl-C, SIGTERM or SIGHUP;
    the temp folder is removed unless ``keep`` or the run failed. Exits 130 when interrupted."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix))
    failed = True
    try:
        body(procs, tmp)
        failed = False
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the processes the bench started", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        procs.stop_all()
        if keep or failed:
            print(f"worker logs and alert files kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        sys.exit(130)


if __name__ == "__main__":
    main()
