"""The e5 classifier's runtimes side by side, in one run: speed, quality on every held-out set, batch drift, memory.

    .venv/bin/python bench/runtime_bench.py                      # torch fp32 against the default runtime
    .venv/bin/python bench/runtime_bench.py --all                # every installed runtime (the choice of default)
    .venv/bin/python bench/runtime_bench.py --lengths 64,96,128,256   # truncation study, default runtime
    .venv/bin/python bench/runtime_bench.py --e2e                # then bench/e2e_bench.py once per runtime
    .venv/bin/python bench/runtime_bench.py --student DIR        # also a distilled student's head on the default runtime

Each runtime is measured in a fresh child process (so memory is its own and nothing is shared):

* posts/s of the classifier alone (tokenise, encoder, head) at batch 1 and at 8, 16, 32, 64 (the best is
  its ceiling), on a fixed sample of held-out posts, sorted by length inside each batch as in production; each
  the fastest of ``--repeats`` passes, with the CPU time per post of the process (all its threads): on a machine
  other work shares, CPU per post moves far less than posts/s, so its ratio is the fairer comparison there;
* macro-F1 on every held-out set of the model cards (:func:`classifiers.corpus.heldout_sets`), and how many
  posts change label against torch fp32;
* the max change of any score when a post is scored alone and then with 15 batch-mates (48 posts);
* RSS of the process after all of that (``VmHWM``, its peak; the export, when not cached, runs in its own
  process and is not counted).

A runtime *keeps quality* when its macro-F1 is within 0.005 of torch fp32 on every held-out set and its
batch drift is at most 1e-4; the default should be the fastest runtime that keeps quality. A student
(``--student``, a head folder written by ``python -m classifiers.distill --out``) is a different model, not a
runtime: its rows say whether it is within the student bar of issue 17 (no held-out set more than 0.01 below
the teacher on torch fp32) and never count as the fastest runtime. Prints the CPU
(model, AVX-512 / VNNI / AMX flags), the load average before and after, and whether a training process
was running; writes ``<out>/runtime_bench.json``. Figures depend on the machine: take them on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

F1_TOLERANCE = 0.005
DRIFT_TOLERANCE = 1e-4
SIZES = (1, 8, 16, 32, 64)


def cpu_facts() -> dict[str, object]:
    info = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in flags if f.startswith(("avx512", "amx")) or "vnni" in f or f in ("avx2", "fma")]
    return {"model": model, "cores": os.cpu_count(), "flags": sorted(wanted)}


def machine_state() -> dict[str, object]:
    load = os.getloadavg()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    training = [p[:120] for p in ps if ("pot train" in p or "finetune" in p) and "runtime_bench" not in p]
    return {"load_1m": round(load[0], 2), "load_5m": round(load[1], 2), "training_running": training}


# --------------------------------------------------------------------------- child: one runtime


def measure(name: str, max_length: int, speed_posts: int, skip_f1: bool, repeats: int = 3) -> dict[str, object]:
    import numpy as np

    from classifiers.corpus import heldout_sets
    from classifiers.datasets import default_real_dir
    from classifiers.e5_head import E5HeadClassifier
    from classifiers.evaluate import macro_f1
    from classifiers.runtime import batch_drift

    t0 = time.perf_counter()
    clf = E5HeadClassifier(runtime=name, max_length=max_length, threads=os.cpu_count()).load()
    load_s = time.perf_counter() - t0
    encoder, head = clf.encoder_, clf.head_
    sets = heldout_sets(default_real_dir())
    texts = list(dict.fromkeys(e.text for rows in sets.values() for e in rows))
    rng = np.random.default_rng(17)
    sample = [texts[i] for i in rng.permutation(len(texts))[:speed_posts]]

    def run(chunk: list[str], size: int) -> np.ndarray:
        return head.predict_proba(encoder.encode(chunk, batch_size=size))

    run(sample[:32], 16)  # warm-up
    speed: dict[str, float] = {}
    cpu_ms: dict[str, float] = {}
    for size in SIZES:
        part = sample[:128] if size == 1 else sample
        walls, cpus = [], []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(0, len(part), size):
                run(part[i : i + size], size)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu_start)
        fastest = min(range(repeats), key=walls.__getitem__)
        speed[str(size)] = round(len(part) / walls[fastest], 1)
        cpu_ms[str(size)] = round(1000 * min(cpus) / len(part), 2)
        print(f"  {name}: batch {size:>2}: {speed[str(size)]:7.1f} posts/s (best of {repeats}), "
              f"{cpu_ms[str(size)]:6.2f} ms CPU/post", file=sys.stderr, flush=True)
    best = max(speed, key=lambda k: speed[k])
    drift = batch_drift(encoder, sample[:48], mates=15, score=head.predict_proba)
    out: dict[str, object] = {
        "runtime": name, "max_length": max_length, "load_s": round(load_s, 1), "posts_per_s": speed,
        "best_batch": int(best), "ceiling": speed[best], "drift": drift, "cpu_ms_per_post": cpu_ms,
        "cpu_best": min(cpu_ms.values()),
    }
    if not skip_f1:
        probs = run(texts, int(best))
        labels = {t: head.labels[i] for t, i in zip(texts, probs.argmax(axis=1))}
        out["labels"] = [labels[t] for t in texts]
        out["scores"] = np.round(probs, 6).tolist()
        out["f1"] = {
            set_name: round(macro_f1([e.label for e in rows], [labels[e.text] for e in rows], sorted({e.label for e in rows})), 4)
            for set_name, rows in sets.items()
        }
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            out[line.split(":")[0].lower() + "_mb"] = round(int(line.split()[1]) / 1024, 1)
    return out


def child(args: argparse.Namespace) -> None:
    result = measure(args.child, args.max_length, args.speed_posts, args.skip_f1, args.repeats)
    Path(args.result).write_text(json.dumps(result))


def run_child(name: str, max_length: int, speed_posts: int, skip_f1: bool, repeats: int = 3,
              head: Path | None = None) -> dict[str, object]:
    """One runtime in a fresh process; ``head`` (a head folder) instead of the default head, for a student."""
    result = Path(f"/tmp/runtime_bench_{os.getpid()}_{name}_{max_length}_{head.name if head else 'default'}.json")
    command = [sys.executable, __file__, "--child", name, "--max-length", str(max_length), "--speed-posts",
               str(speed_posts), "--repeats", str(repeats), "--result", str(result)] + (["--skip-f1"] if skip_f1 else [])
    env = {**os.environ, "POT_E5_HEAD": str(head.resolve())} if head else None
    print(f"measuring {name} (max_length {max_length}{', head ' + str(head) if head else ''})", flush=True)
    done = subprocess.run(command, cwd=ROOT, env=env)
    if done.returncode != 0:
        return {"runtime": name, "max_length": max_length, "error": f"exit code {done.returncode}"}
    out = json.loads(result.read_text())
    result.unlink()
    if head:
        out["student"] = head.name
    return out


# --------------------------------------------------------------------------- parent: the table


def verdicts(rows: list[dict], reference: dict) -> None:
    import numpy as np

    for row in rows:
        if "error" in row or "f1" not in row:
            continue
        row["f1_delta"] = {k: round(v - reference["f1"][k], 4) for k, v in row["f1"].items()}
        row["worst_f1_delta"] = min(row["f1_delta"].values())
        row["labels_changed"] = int(sum(a != b for a, b in zip(row["labels"], reference["labels"])))
        row["max_score_change_vs_fp32"] = round(float(np.abs(np.array(row["scores"]) - np.array(reference["scores"])).max()), 4)
        row["keeps_quality"] = bool(
            all(abs(d) <= F1_TOLERANCE for d in row["f1_delta"].values()) and row["drift"] <= DRIFT_TOLERANCE
        )
        row["speedup"] = round(row["ceiling"] / reference["ceiling"], 2)
        row["speedup_b1"] = round(row["posts_per_s"]["1"] / reference["posts_per_s"]["1"], 2)
        row["speedup_cpu"] = round(reference["cpu_best"] / row["cpu_best"], 2)
        if row.get("student"):
            row["keeps_quality"] = False
            from classifiers.distill import STUDENT_BAR

            row["within_student_bar"] = row["worst_f1_delta"] >= -STUDENT_BAR


def print_tables(rows: list[dict], reference: dict, state: dict, cpu: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    ok = [r for r in rows if "error" not in r and "f1" in r]
    table = Table(title=f"e5 classifier runtimes, one run ({cpu['model']}, {cpu['cores']} cores; load {state['before']['load_1m']} "
                        f"before, {state['after']['load_1m']} after)")
    table.add_column("measure")
    for r in ok:
        table.add_column(r["runtime"] + (f" @{r['max_length']}" if r["max_length"] != 256 else "")
                         + (f" student {r['student']}" if r.get("student") else ""), justify="right")
    table.add_row("posts/s, batch 1", *[f"{r['posts_per_s']['1']}" for r in ok])
    table.add_row("posts/s, best batch", *[f"{r['ceiling']} (b={r['best_batch']})" for r in ok])
    table.add_row("ceiling vs torch fp32", *[f"{r['speedup']}x" for r in ok])
    table.add_row("CPU ms per post, best batch", *[f"{r['cpu_best']}" for r in ok])
    table.add_row("CPU per post: torch fp32 / this", *[f"{r['speedup_cpu']}x" for r in ok])
    for set_name in reference["f1"]:
        table.add_row(f"macro-F1 {set_name}", *[f"{r['f1'][set_name]:.4f} ({r['f1_delta'][set_name]:+.4f})" for r in ok])
    table.add_row("labels changed vs fp32 (of %d)" % len(reference["labels"]), *[str(r["labels_changed"]) for r in ok])
    table.add_row("max score change vs fp32", *[f"{r['max_score_change_vs_fp32']:.4f}" for r in ok])
    table.add_row("max score change across batch-mates", *[f"{r['drift']:.1e}" for r in ok])
    table.add_row("RSS peak / after (MB)", *[f"{r['vmhwm_mb']:.0f} / {r['vmrss_mb']:.0f}" for r in ok])
    table.add_row("keeps quality (F1 ±0.005, drift ≤1e-4)", *["yes" if r["keeps_quality"] else "NO" for r in ok])
    if any(r.get("student") for r in ok):
        table.add_row("student within 0.01 of the teacher on every set",
                      *[("yes" if r["within_student_bar"] else "NO") if r.get("student") else "" for r in ok])
    console.print(table)
    for r in rows:
        if "error" in r:
            console.print(f"{r['runtime']}: failed ({r['error']})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtimes", default=None, help="comma-separated; default: torch-fp32 and the default runtime")
    parser.add_argument("--all", action="store_true", help="every installed runtime")
    parser.add_argument("--lengths", default="", help="also measure the default runtime truncated at these token counts")
    parser.add_argument("--speed-posts", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3, help="speed passes per batch size; the fastest counts")
    parser.add_argument("--e2e", action="store_true", help="then run bench/e2e_bench.py with torch-fp32 and the default")
    parser.add_argument("--e2e-args", default="--posts 1500 --level-seconds 20")
    parser.add_argument("--student", type=Path, default=None,
                        help="a distilled student's head folder: also measured on the non-reference runtimes")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--max-length", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--skip-f1", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from classifiers.runtime import REFERENCE_RUNTIME, RUNTIMES, default_runtime, installed

    default = default_runtime()
    if args.all:
        names = [REFERENCE_RUNTIME] + [n for n in RUNTIMES if n != REFERENCE_RUNTIME and installed(n)]
    elif args.runtimes:
        names = [REFERENCE_RUNTIME] + [n for n in args.runtimes.split(",") if n and n != REFERENCE_RUNTIME]
    else:
        names = [REFERENCE_RUNTIME, default]
    cpu = cpu_facts()
    state = {"before": machine_state()}
    print(f"CPU: {cpu['model']}, {cpu['cores']} cores, flags {' '.join(cpu['flags'])}")
    print(f"load before: {state['before']}", flush=True)
    rows = [run_child(n, 256, args.speed_posts, False, args.repeats) for n in names]
    if args.student:
        rows += [run_child(n, 256, args.speed_posts, False, args.repeats, head=args.student) for n in names[1:]]
    for length in [int(x) for x in args.lengths.split(",") if x and int(x) != 256]:
        rows.append(run_child(default, length, args.speed_posts, False, args.repeats))
    state["after"] = machine_state()
    reference = rows[0]
    if "error" in reference:
        raise SystemExit(f"torch fp32 failed: {reference['error']}")
    verdicts(rows, reference)
    print_tables(rows, reference, state, cpu)
    keepers = [r for r in rows if r.get("keeps_quality") and r["max_length"] == 256]
    fastest = max(keepers, key=lambda r: r["ceiling"])["runtime"] if keepers else REFERENCE_RUNTIME
    print(f"fastest runtime that keeps quality: {fastest} (the default is {default})")
    summary = {"cpu": cpu, "state": state, "default": default, "fastest_keeping_quality": fastest,
               "rows": [{k: v for k, v in r.items() if k not in ("labels", "scores")} for r in rows]}
    if args.e2e:
        summary["e2e"] = {}
        for name in (REFERENCE_RUNTIME, default):
            out = args.out / f"e2e-{name}"
            print(f"e2e with POT_E5_RUNTIME={name}", flush=True)
            # e2e_bench starts its workers with the product defaults and no inherited POT_*: the runtime goes as --env
            subprocess.run([sys.executable, str(ROOT / "bench" / "e2e_bench.py"), *args.e2e_args.split(), "--out", str(out),
                            "--env", f"POT_E5_RUNTIME={name}"],
                           cwd=ROOT, env={**os.environ, "POT_E5_RUNTIME": name}, check=False)
            report = out / "e2e_bench.json"
            summary["e2e"][name] = json.loads(report.read_text()) if report.is_file() else None
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runtime_bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out / 'runtime_bench.json'}")


if __name__ == "__main__":
    main()
