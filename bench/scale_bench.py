"""Throughput of one ``pot run`` worker vs two on the same topics, and a census of their alerts (none lost, none twice).

    .venv/bin/python bench/scale_bench.py [--posts 2000]
    .venv/bin/python bench/scale_bench.py --posts 300          # a quick check that it all works

Both runs use the real default classifier (``e5-head``), product defaults and ``POT_PARTITIONS=4``, on one
embedded broker, with workers started and observed by bench/e2e_bench.py's pieces (``Worker``: alert lines
tailed with the time they were read, ``/metrics`` scraped every second). Posts are the held-out texts of
``classifiers/data/brand_posts/*_test.jsonl`` (cycled; unique id and author each), the same sequence in both runs.

(a) one worker: worker 1 starts the embedded broker; after a 64-post warm-up it is sent ``--posts`` posts as fast
    as kafka-python's KafkaProducer will go;
(b) two workers: worker 2 joins the same broker, topics and consumer group (``--broker``); the bench waits until
    both answer ``/readyz`` 200 (which needs partitions assigned), sends ``--warm-up`` posts and waits until both
    have classified some of them and their ``pot_consumer_lag`` labels show that they own disjoint,
    non-empty sets of ``posts-normal`` partitions covering all 4; then it sends the same number of posts.

Throughput: alerts/s = the slope of alert lines written (both workers' files merged, by the time the bench read
them) from 10 % to 90 % of the run's alerts (start-up and tail cut off); also posts/s overall = posts / time until
every post was done (to within a scrape, 1 s). A post is done when its alert line is written or a worker counts
it as not alerted (``pot_posts_not_alerted_total`` and friends), summed over workers.

Census: both workers' ``alerts.jsonl`` are read at the end and the run's lines counted by ``alert_id``: lines,
distinct ids, ids written more than once (duplicates), and posts accounted for (distinct alerts + posts counted
as not alerted, silenced, duplicate or dead-lettered) against posts sent (lost = sent - accounted). As a
cross-check, the posts alerted in (a) and (b) are compared by index in the shared text sequence: the same model
gives the same labels, so the two sets should match (a handful may differ where a batch's padding moves a
borderline score).

Caveat: this machine has 2 shared cores. Two workers each run their own classifier process (and the first also
runs the broker), so in (b) two models compete for the same two cores that one model already keeps busy: the
speed-up here says little about a cluster of real machines, where each worker brings its own cores. What (b)
does show on any machine is that the two split the partitions and deliver each alert once. By default torch
picks its own thread count in each classifier process (one per core), so two of them oversubscribe the cores;
``--threads 1`` sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for every worker in both runs. The table shows each
worker's mean batch size and mean classifier call time (from ``/metrics``) to make the contention visible.

Prints a table, writes ``<out>/scale_bench.json``. Every process it starts is stopped at the end, on an error
and on Ctrl-C (e2e_bench's ``Processes`` and ``run_cleanly``). Not a test: the figures need a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import e2e_bench as e2e  # noqa: E402  (also puts the repo root on sys.path)
from e2e_bench import Worker, cycled, progress_bar, run_cleanly  # noqa: E402

PARTITIONS = 4


def figures_now(worker: Worker) -> dict[str, Any]:
    return worker.scraper.once() or worker.scraper.latest()[1]


def not_alerted(figures: dict[str, Any]) -> float:
    return figures["not_alerted"] + figures["silenced"] + figures["duplicate"] + figures["dead_lettered"]


def wait_all_done(workers: list[Worker], expected: int, base: int, progress: Any, task: Any, timeout_s: float) -> bool:
    """Until the posts done across the workers (past ``base``) reach ``expected``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.proc.poll() is not None:
                raise SystemExit(f"{worker.name}: pot run exited with {worker.proc.returncode}:\n{worker.log()[-3000:]}")
        done = sum(w.done_latest() for w in workers) - base
        progress.update(task, completed=max(0, min(done, expected)))
        if done >= expected:
            return True
        time.sleep(0.2)
    return False


def owned(worker: Worker, topic: str) -> set[int]:
    """Partitions of ``topic`` the worker reports lag for (the gauge covers the partitions it owns)."""
    latest = worker.scraper.latest()
    return {int(p) for p in latest[1]["lag"].get(topic, {})} if latest else set()


def wait_both_ready(workers: list[Worker], timeout_s: float = 120.0) -> None:
    """/readyz 200 on every worker (it answers 503 while a worker has no partitions assigned)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    for worker in workers:
        while True:
            try:
                if httpx.get(f"{worker.web}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{worker.name}: /readyz not 200 within {timeout_s:g} s of worker-2 joining")
            time.sleep(0.5)


def warm_up_all(workers: list[Worker], sender: Worker, texts: list[str], n: int, console: Any) -> None:
    base = sum(w.done_now() for w in workers)
    with progress_bar(console) as progress:
        task = progress.add_task(f"warm-up of {len(workers)} worker(s)", total=n)
        for i, text in enumerate(cycled(texts, 0, n)):
            sender.send(f"warm{len(workers)}-{i}", text)
        sender.producer.flush()
        if not wait_all_done(workers, n, base, progress, task, timeout_s=240):
            raise SystemExit("warm-up posts were not all done in 240 s")


def wait_split(workers: list[Worker], console: Any, timeout_s: float = 30.0) -> dict[str, list[int]]:
    """Both own posts-normal partitions, disjoint, all of them between them (the gauge refreshes every 5 s)."""
    deadline = time.monotonic() + timeout_s
    with console.status("waiting until the workers' lag gauges show the partitions split between them"):
        while True:
            for worker in workers:
                worker.scraper.once()
            parts = [owned(w, "posts-normal") for w in workers]
            union = set().union(*parts)
            split = all(parts) and sum(map(len, parts)) == len(union) == PARTITIONS
            if split or time.monotonic() > deadline:
                break
            time.sleep(1)
    if not split:
        console.print(f"[yellow]partitions not seen split within {timeout_s:g} s: {parts}[/yellow]")
    return {w.name: sorted(p) for w, p in zip(workers, parts)}


def flood(workers: list[Worker], sender: Worker, texts: list[str], tag: str, n: int, console: Any) -> dict[str, Any]:
    """Send n posts at once through ``sender``'s producer; alerts/s across the workers, per-worker shares."""
    before = [figures_now(w) for w in workers]
    base = sum(w.done_now() for w in workers)
    first = [len(w.tail.lines) for w in workers]
    with progress_bar(console) as progress:
        sending = progress.add_task(f"{tag}: sending {n} posts at once", total=n)
        start = time.time()
        for i, text in enumerate(cycled(texts, 64, n)):
            sender.send(f"{tag}-{i}", text)
            if i % 50 == 0:
                progress.update(sending, completed=i)
        sender.producer.flush()
        sent_s = time.time() - start
        progress.update(sending, completed=n)
        task = progress.add_task(f"{tag}: done across {len(workers)} worker(s)", total=n)
        ok = wait_all_done(workers, n, base, progress, task, timeout_s=max(300.0, n / 2))
        done_s = time.time() - start
    if not ok:
        console.print(f"[yellow]{tag}: not every post was done before the timeout[/yellow]")
    time.sleep(0.3)
    after = [figures_now(w) for w in workers]
    seen = sorted(s.at for w, f in zip(workers, first) for s in w.tail.lines[f:] if s.post_id.startswith(f"{tag}-"))
    out: dict[str, Any] = {"workers": len(workers), "posts": n, "sent_in_s": round(sent_s, 2),
                           "posts_in_per_s": round(n / max(sent_s, 1e-9), 1), "all_done": ok,
                           "all_done_in_s": round(done_s, 2), "posts_per_s": round(n / max(done_s, 1e-9), 2),
                           "alerts": len(seen)}
    if len(seen) >= 10:
        lo, hi = seen[int(0.1 * (len(seen) - 1))], seen[int(0.9 * (len(seen) - 1))]
        out["alerts_per_s"] = round(0.8 * len(seen) / max(hi - lo, 1e-9), 2)
        out["steady_window_s"] = round(hi - lo, 2)
        out["alerts_per_s_overall"] = round(len(seen) / max(seen[-1] - start, 1e-9), 2)
    out["per_worker"] = {
        w.name: {"alert_lines": sum(1 for s in w.tail.lines[f:] if s.post_id.startswith(f"{tag}-")),
                 "classified": int(a["classified"] - b["classified"]),
                 "not_alerted": int(not_alerted(a) - not_alerted(b)), **e2e.batch_delta(b, a)}
        for w, f, b, a in zip(workers, first, before, after)}
    out["_not_alerted"] = sum(not_alerted(a) - not_alerted(b) for b, a in zip(before, after))
    return out


def census(workers: list[Worker], tag: str, n: int, not_alerted_posts: float) -> dict[str, Any]:
    """Count the run's alert lines by alert_id across the workers' JSONL files."""
    ids: Counter = Counter()
    indices: set[int] = set()
    bad = 0
    for worker in workers:
        path = worker.data_dir / "alerts.jsonl"
        if not path.exists():
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            try:
                alert = json.loads(raw)
                post_id = alert["post"]["id"]
                if post_id.startswith(f"{tag}-"):
                    ids[alert["alert_id"]] += 1
                    indices.add(int(post_id.rsplit("-", 1)[1]))
            except (ValueError, KeyError, TypeError):
                bad += 1
    accounted = len(ids) + int(not_alerted_posts)
    return {"alert_lines": sum(ids.values()), "distinct_alerts": len(ids),
            "duplicated_alert_ids": sum(1 for c in ids.values() if c > 1),
            "not_alerted_posts": int(not_alerted_posts), "accounted": accounted, "sent": n,
            "lost": n - accounted, "unreadable_lines": bad, "_indices": indices}


def report(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table("run", "posts", "alerts/s\n(steady)", "posts/s\n(overall)", "done\nin s", "alert lines\nper worker",
                  "mean batch\n/ classify ms", "alert lines /\ndistinct ids", "ids twice", "posts\nlost",
                  title=f"pot run, e5-head, {PARTITIONS} partitions, one embedded broker")
    for name, key in (("(a) one worker", "one"), ("(b) two workers", "two")):
        row, check = summary[key], summary[key]["census"]
        workers = row["per_worker"].values()
        dup, lost = check["duplicated_alert_ids"], check["lost"]
        table.add_row(name, str(row["posts"]), f"{row.get('alerts_per_s', float('nan')):.1f}", f"{row['posts_per_s']:.1f}",
                      f"{row['all_done_in_s']:.1f}", " + ".join(str(v["alert_lines"]) for v in workers),
                      " | ".join(f"{v.get('mean_batch', '-')} / {v.get('mean_classify_ms', '-')}" for v in workers),
                      f"{check['alert_lines']} / {check['distinct_alerts']}",
                      str(dup) if not dup else f"[red]{dup}[/red]", str(lost) if lost <= 0 else f"[red]{lost}[/red]")
    console.print(table)
    ratio = summary["speedup_alerts_per_s"]
    console.print(f"two / one, alerts/s: {ratio:.2f}x" if ratio is not None else "two / one: n/a")
    console.print(f"partitions of posts-normal in (b): {summary['two']['partitions']}")
    same = summary["same_posts_alerted"]
    console.print(f"posts alerted in (a) and in (b), by index in the shared sequence: {same['both']} in both, "
                  f"{same['only_one']} only in (a), {same['only_two']} only in (b)")
    env = summary["environment"]
    console.print(f"[dim]{env['cpus']} CPUs; load average {env['load_before']} before, {env['load_after']} after. On 2 shared "
                  "cores the two workers' classifiers compete for the same cores: (b) says little about real machines.[/dim]")


def run(args: argparse.Namespace, procs: e2e.Processes, tmp: Path) -> dict[str, Any]:
    from rich.console import Console

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    texts = e2e.test_texts()
    load_before = [round(x, 2) for x in os.getloadavg()]
    console.print(f"{len(texts)} held-out texts (cycled), {args.posts} posts per run, {PARTITIONS} partitions; temp dir {tmp}")
    env = {"POT_PARTITIONS": str(PARTITIONS)}
    if args.threads:  # torch reads these when the classifier process starts
        env.update({"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)})
    first = Worker(procs, tmp / "w1", None, "worker-1", extra_env=env)
    second = None
    try:
        console.rule("(a) one worker")
        with console.status("worker-1: starting pot run and the embedded broker (classifier load ~10-20 s)"):
            first.wait_ready()
        e2e.warm_up(first, texts, console)
        one = flood([first], first, texts, "one", args.posts, console)
        one["census"] = census([first], "one", args.posts, one.pop("_not_alerted"))
        console.print(f"  one worker: {one.get('alerts_per_s')} alerts/s (steady), {one['posts_per_s']} posts/s overall")

        console.rule("(b) two workers")
        second = Worker(procs, tmp / "w2", None, "worker-2", extra_env=env, broker=first.broker_url)
        with console.status("worker-2: starting pot run on worker-1's broker (classifier load ~10-20 s)"):
            second.wait_ready()  # /readyz 200: it has partitions
        with console.status("both: waiting for /readyz 200 on both after the rebalance"):
            wait_both_ready([first, second])
        before = [figures_now(w) for w in (first, second)]
        warm_up_all([first, second], first, texts, args.warm_up, console)
        after = [figures_now(w) for w in (first, second)]
        classified = {w.name: int(a["classified"] - b["classified"]) for w, b, a in zip((first, second), before, after)}
        if not all(classified.values()):
            console.print(f"[yellow]a worker classified none of the warm-up posts: {classified}[/yellow]")
        partitions = wait_split([first, second], console)
        two = flood([first, second], first, texts, "two", args.posts, console)
        two["census"] = census([first, second], "two", args.posts, two.pop("_not_alerted"))
        two["partitions"] = partitions
        two["warm_up_classified"] = classified
        console.print(f"  two workers: {two.get('alerts_per_s')} alerts/s (steady), {two['posts_per_s']} posts/s overall")
        quality = {w.name: {"metrics_scrape_errors": w.scraper.errors, "unreadable_alert_lines": w.tail.bad}
                   for w in (first, second)}
    finally:
        if second is not None:
            second.stop()  # first: it runs the broker
        first.stop()

    a_indices, b_indices = one["census"].pop("_indices"), two["census"].pop("_indices")
    ratio = (two["alerts_per_s"] / one["alerts_per_s"]) if one.get("alerts_per_s") and two.get("alerts_per_s") else None
    summary: dict[str, Any] = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {"posts": args.posts, "warm_up": args.warm_up, "partitions": PARTITIONS, "classifier": "e5-head",
                   "threads_per_classifier": args.threads or "product default"},
        "environment": {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                        "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()]},
        "one": one,
        "two": two,
        "speedup_alerts_per_s": round(ratio, 3) if ratio is not None else None,
        "speedup_posts_per_s": round(two["posts_per_s"] / max(one["posts_per_s"], 1e-9), 3),
        "same_posts_alerted": {"both": len(a_indices & b_indices), "only_one": len(a_indices - b_indices),
                               "only_two": len(b_indices - a_indices)},
        "quality": quality,
        "note": "2 shared cores: in (b) two classifier processes compete for the cores one already uses; "
                "the speed-up says little about a cluster of real machines",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale_bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    report(summary, console)
    console.print(f"wrote {args.out / 'scale_bench.json'}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=2000, help="posts per run, sent at once (default 2000)")
    parser.add_argument("--warm-up", type=int, default=128, help="warm-up posts once both workers are up (default 128)")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS/MKL_NUM_THREADS for every worker, both runs "
                        "(default: unset, torch's own choice; 1 keeps two classifiers on 2 cores from oversubscribing)")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="folder for scale_bench.json (default bench/out)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (worker logs, alert files)")
    args = parser.parse_args()
    if args.posts < 50 or args.warm_up < 8:
        parser.error("--posts must be at least 50 and --warm-up at least 8")
    run_cleanly(lambda procs, tmp: run(args, procs, tmp), "pot-scale-bench-", args.keep)


if __name__ == "__main__":
    main()
