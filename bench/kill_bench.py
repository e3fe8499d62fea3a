"""Three (or --kills) SIGKILLs of the worker mid-stream, real classifier; prints what each receiver lost and got twice.

    .venv/bin/python bench/kill_bench.py --posts 2400 --kills 3

The scenario is tests/kill_scenario.py (the same one tests/test_faults_e2e.py asserts on): counting webhook,
Slack Web API and SMTP receivers on loopback, the broker outliving the worker, the alerts topic as the truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import kill_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2400)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the worker (repeatable)")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="pot-kill-") as tmp:
        result = kill_scenario.run(Path(tmp), args.posts, args.kills, env, args.seed, say=lambda m: print(m, flush=True))
    print(f"posts {result.posts}, alerts raised {result.alerts}, never routed {result.unrouted}, "
          f"{args.kills} kills at {result.kills_at} webhook deliveries, {result.seconds:.0f} s")
    print(f"{'receiver':10} {'lost':>6} {'duplicated':>11} {'extra':>6}")
    for name, counts in result.report.items():
        print(f"{name:10} {counts['lost']:>6} {counts['duplicated']:>11} {counts['extra']:>6}")
    for alert_id, keys in result.webhook_repeats:
        print(f"webhook repeat {alert_id}: Idempotency-Key {json.dumps(keys)}")


if __name__ == "__main__":
    main()
