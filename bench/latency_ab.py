"""Post -> alert latency of ``pot run`` under settings compared side by side, at one fixed paced rate.

    .venv/bin/python bench/latency_ab.py --rate 22 --seconds 20 --rounds 2 \\
        --variant default --variant "wait 20 ms:POT_BATCH_WAIT_S=0.02"

Each variant is a name and optional ``POT_X=VALUE`` settings (``name:K=V,K=V``) applied over the product
defaults; ``name@/path/to/checkout:K=V`` runs that checkout's code instead of this one (two versions of the code,
interleaved in one run: e.g. ``git archive main | tar -x -C /tmp/base`` for the one before a change). The variants run in turn (A, B, A, B, ... for ``--rounds``), each on a fresh ``pot run`` with its
embedded broker and the default classifier, warmed up with 64 posts, then sent ``--rate`` posts/s for
``--seconds``; latency is measured exactly as in bench/e2e_bench.py (Kafka timestamp at send -> line read in the
JSONL receiver's file). Interleaving the rounds spreads this shared machine's drift over every variant; compare
the rows of one run only. ``--hops`` also reads each stage's topic after a round and prints where the time went,
stage by stage (bench/hops.py). Prints a table and writes ``<out>/latency_ab.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e_bench as e2e  # noqa: E402
import hops  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict[str, str], Path | None]:
    head, _, settings = text.partition(":")
    name, _, root = head.partition("@")
    env = dict(item.split("=", 1) for item in settings.split(",") if item)
    return name, env, Path(root) if root else None


def pooled_hops(per_round: list[dict[str, dict[str, float]]], seen: list[dict[str, float]]) -> dict[str, Any]:
    times: dict[str, dict[str, float]] = {}
    seen_at: dict[str, float] = {}
    for stamps, lines in zip(per_round, seen, strict=True):
        times.update(stamps)
        seen_at.update(lines)
    return hops.breakdown(times, seen_at)


def run(args: argparse.Namespace, procs: e2e.Processes, tmp: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
    texts = e2e.test_texts()
    variants = [parse_variant(v) for v in args.variant]
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    stamps: dict[str, list[Any]] = {name: [] for name, _, _ in variants}
    seen: dict[str, list[Any]] = {name: [] for name, _, _ in variants}
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        for name, env, root in variants:
            console.rule(f"round {r + 1}: {name} {env or ''} {root or ''}")
            worker = e2e.Worker(procs, tmp / f"{name.replace(' ', '-')}-{r}", None, name, extra_env=env, root=root)
            try:
                with console.status(f"{name}: starting pot run"):
                    worker.wait_ready()
                e2e.warm_up(worker, texts, console)
                level = e2e.paced(worker, texts, f"r{r}", args.rate, args.seconds, console)
                lines = [s for s in worker.tail.lines if s.post_id.startswith(f"r{r}-")]
                latencies[name].extend(1000 * (s.at - s.received_at) for s in lines)
                if args.hops:
                    stamps[name].append(hops.stamps(worker.broker, e2e.TOPIC_PREFIX, f"r{r}-"))
                    seen[name].append({s.post_id: s.at for s in lines})
                rounds.append({"round": r + 1, "variant": name, **{k: level.get(k) for k in ("p50_ms", "p95_ms", "p99_ms", "alerts")}})
                console.print(f"  {name}: p50 {level.get('p50_ms')} ms, p95 {level.get('p95_ms')} ms, p99 {level.get('p99_ms')} ms")
            finally:
                worker.stop()
    table = Table(title=f"post -> alert at {args.rate:g} posts/s, {args.seconds:g} s x {args.rounds} rounds per variant")
    for column in ("variant", "settings", "alerts", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column)
    summary = {}
    for name, env, root in variants:
        values = np.array(latencies[name])
        row = {q: round(float(np.percentile(values, q)), 1) if len(values) else None for q in (50, 95, 99)}
        summary[name] = {"settings": env, "alerts": len(values), **{f"p{q}_ms": v for q, v in row.items()}}
        table.add_row(name + (f" ({root})" if root else ""), ", ".join(f"{k}={v}" for k, v in env.items()) or "product defaults",
                      str(len(values)), *(str(row[q]) for q in (50, 95, 99)))
        if args.hops:
            summary[name]["stages"] = pooled_hops(stamps[name], seen[name])
    console.print(table)
    if args.hops:
        stages = Table(title="where the time went: each stage, from the record before it (ms, p50 / p95 / p99)")
        for column in ("variant", *hops.STAGES[1:], "delivery"):
            stages.add_column(column)
        for name, *_ in variants:
            got = summary[name]["stages"]
            stages.add_row(name, *(f"{got[s]['p50']} / {got[s]['p95']} / {got[s]['p99']}" if s in got else "-"
                                   for s in (*hops.STAGES[1:], "delivery")))
        console.print(stages)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency_ab.json").write_text(json.dumps({"rate": args.rate, "seconds": args.seconds, "rounds": rounds,
                                                           "pooled": summary}, indent=2, default=str))
    console.print(f"wrote {args.out / 'latency_ab.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=22.0, help="posts per second (default 22)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of paced load per round (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every variant, interleaved (default 2)")
    parser.add_argument("--variant", action="append", required=True, metavar="NAME[:POT_X=V,...]",
                        help="a variant to compare (repeat for each)")
    parser.add_argument("--out", type=Path, default=e2e.BENCH / "out", help="folder for latency_ab.json (default bench/out)")
    parser.add_argument("--hops", action="store_true", help="also time each stage from its topic's records")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    e2e.run_cleanly(lambda procs, tmp: run(args, procs, tmp), "pot-latency-ab-", args.keep)


if __name__ == "__main__":
    main()
