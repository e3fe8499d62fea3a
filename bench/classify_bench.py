"""Classifier throughput, in one run on the same texts: the ceiling, the agent through Kafka, and a naive baseline.

    .venv/bin/python bench/classify_bench.py [--posts 600] [--out bench/out]

1. ceiling: the loaded classifier alone, ``predict`` at several batch sizes (the best is the ceiling);
2. agent: ``pot run`` on its embedded broker, N posts produced at once, time until N records are on ``classified``;
3. naive: the same with ``POT_BATCH_SIZE=1`` (one post at a time, classified inline in the agent);
4. latency: the agent fed at half its sustained rate, p50/p95/p99 from post produce to classified record;
5. peak RSS of each worker process.

Prints a table and writes a JSON file and a PNG bar chart. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def texts_for(n: int) -> list[str]:
    from classifiers.datasets import brand_split

    base = [e.text for e in brand_split("test")] + [e.text for e in brand_split("train")]
    return [base[i % len(base)] for i in range(n)]


def ceiling(texts: list[str], sizes: tuple[int, ...]) -> dict[int, float]:
    from classifiers import create

    model = create("e5-head").load()
    model.predict(texts[:32])
    out = {}
    for size in sizes:
        sample = texts[: max(size * 8, 256)] if size > 1 else texts[:128]
        start = time.perf_counter()
        for i in range(0, len(sample), size):
            model.predict(sample[i : i + size])
        out[size] = len(sample) / (time.perf_counter() - start)
        print(f"  ceiling batch {size:>3}: {out[size]:7.1f} posts/s", flush=True)
    return out


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of a worker plus its classifier process (not the embedded broker), in MiB."""
    children = [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    pids = [pid] + [c for c in children if "tansu" not in Path(f"/proc/{c}/comm").read_text()]
    total = 0.0
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


class Worker:
    def __init__(self, data_dir: Path, batch_size: int) -> None:
        import httpx

        self.port = free_port()
        env = {**os.environ, "POT_DATA_DIR": str(data_dir), "POT_WEB_PORT": str(self.port), "POT_BATCH_SIZE": str(batch_size),
               "POT_RECEIVERS": '["jsonl"]', "POT_TOPIC_PREFIX": "bench.", "POT_PARTITIONS": "1"}
        env.pop("POT_BROKER", None)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "run"], env=env,
                                     stdout=open(data_dir / "worker.log", "wb"), stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("worker did not become ready")
        self.broker = (data_dir / "broker.url").read_text().strip().removeprefix("kafka://")

    def stop(self) -> float:
        rss = peak_rss_mb(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        return rss


def post_json(i: int, text: str, tag: str) -> bytes:
    return json.dumps({"id": f"{tag}-{i}", "platform": "bench", "text": text, "created_at": "2026-11-23T09:00:00Z",
                       "author": {"id": f"a{i}"}}).encode()


def run_through(worker: Worker, texts: list[str], tag: str, rate: float | None) -> tuple[float, list[float]]:
    """Produce the posts (all at once, or at ``rate``/s); return (posts/s, latencies in s)."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=worker.broker, enable_auto_commit=False)
    tp = TopicPartition("bench.classified", 0)
    consumer.assign([tp])
    consumer.seek_to_end(tp)
    consumer.position(tp)
    producer = KafkaProducer(bootstrap_servers=worker.broker, linger_ms=2)
    sent_at: dict[str, float] = {}
    start = time.time()
    for i, text in enumerate(texts):
        if rate:
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        key = f"bench:{tag}-{i}"
        sent_at[key] = time.time()
        producer.send("bench.posts", key=key.encode(), value=post_json(i, text, tag))
    producer.flush()
    latencies: list[float] = []
    last = start
    deadline = time.time() + 600
    while len(latencies) < len(texts) and time.time() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                key = record.key.decode() if record.key else ""
                key = json.loads(key) if key.startswith('"') else key
                if key in sent_at:
                    latencies.append(record.timestamp / 1000 - sent_at.pop(key))
                    last = record.timestamp / 1000
    consumer.close()
    producer.close()
    return len(latencies) / (last - start), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    texts = texts_for(args.posts)
    print(f"{len(texts)} posts, mean {np.mean([len(t.split()) for t in texts]):.1f} words", flush=True)

    print("1. ceiling (classifier alone)", flush=True)
    ceilings = ceiling(texts, (1, 8, 16, 32, 64))
    best_size = max(ceilings, key=ceilings.get)

    results: dict[str, dict] = {}
    for name, batch in (("agent", 32), ("naive", 1)):
        print(f"2. {name}: pot run with batch size {batch}", flush=True)
        worker = Worker(args.out / f"run-{name}-{int(time.time())}", batch)
        n = len(texts) if name == "agent" else min(len(texts), 200)
        rate, _ = run_through(worker, texts[:n], f"{name}-burst", None)
        entry = {"batch_size": batch, "posts": n, "posts_per_s": round(rate, 1)}
        if name == "agent":
            half = rate / 2
            _, lat = run_through(worker, texts[: min(len(texts), int(half * 30))], f"{name}-half", half)
            entry.update({"half_rate": round(half, 1),
                          **{f"p{q}_ms": round(float(np.percentile(lat, q)) * 1000, 1) for q in (50, 95, 99)}})
        entry["peak_rss_mb"] = round(worker.stop(), 1)
        results[name] = entry
        print(f"   {entry}", flush=True)

    summary = {
        "ceiling_posts_per_s": round(ceilings[best_size], 1),
        "ceiling_batch": best_size,
        "ceilings": {str(k): round(v, 1) for k, v in ceilings.items()},
        **results,
        "agent_vs_ceiling": round(results["agent"]["posts_per_s"] / ceilings[best_size], 3),
        "agent_vs_naive": round(results["agent"]["posts_per_s"] / results["naive"]["posts_per_s"], 2),
    }
    (args.out / "classify_bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    from rich.console import Console
    from rich.table import Table

    table = Table("measure", "value", title="classify throughput (same texts, one run)")
    table.add_row("ceiling: classifier alone, best batch", f"{summary['ceiling_posts_per_s']} posts/s (batch {best_size})")
    table.add_row("agent through Kafka (batch 32)", f"{results['agent']['posts_per_s']} posts/s")
    table.add_row("naive: one post at a time", f"{results['naive']['posts_per_s']} posts/s")
    table.add_row("agent / ceiling", f"{summary['agent_vs_ceiling']:.0%}")
    table.add_row("agent / naive", f"{summary['agent_vs_naive']}x")
    table.add_row(f"latency at half rate ({results['agent']['half_rate']}/s)",
                  f"p50 {results['agent']['p50_ms']} ms, p95 {results['agent']['p95_ms']} ms, p99 {results['agent']['p99_ms']} ms")
    table.add_row("peak worker RSS (with its classifier process)", f"agent {results['agent']['peak_rss_mb']} MB, naive {results['naive']['peak_rss_mb']} MB")
    Console().print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = [f"ceiling (b={best_size})", "agent via Kafka", "naive (b=1)"]
    values = [summary["ceiling_posts_per_s"], results["agent"]["posts_per_s"], results["naive"]["posts_per_s"]]
    ax.barh(names, values, color=["#888", "#2a7", "#c55"])
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.0f}/s", va="center")
    ax.set_xlabel("posts per second (2-core CPU)")
    ax.set_title("classify throughput, same texts, one run")
    fig.tight_layout()
    fig.savefig(args.out / "classify_bench.png", dpi=120)
    print(f"wrote {args.out / 'classify_bench.json'} and classify_bench.png")


if __name__ == "__main__":
    main()
