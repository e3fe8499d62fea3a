"""How the graph runtimes cut a micro-batch into padded batches, compared side by side in one run.

    .venv/bin/python bench/padding_ab.py [--runtime onnx-fp32] [--posts 384] [--rounds 4]

Posts from every held-out set arrive as the classify agent sees them (micro-batches of 32 in random order) and
are encoded with each batching in turn, ``--rounds`` times interleaved (so a shared machine's drift spreads over
every row): the best posts/s, the least and the median CPU time per post of the process (all its threads), and
the largest change of any embedding against encoding each post alone (the batching must not change a result).
The product's choice is :data:`classifiers.runtime.base.MAX_PADDING` with batches of at most 16.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VARIANTS = [
    ("16, no cap (before)", 16, None), ("8, no cap", 8, None), ("4, no cap", 4, None), ("1", 1, None),
    ("16, pad<=25%", 16, 0.25), ("32, pad<=25%", 32, 0.25), ("32, pad<=10%", 32, 0.10), ("32, pad<=50%", 32, 0.5),
]


def main() -> None:
    from classifiers.corpus import heldout_sets
    from classifiers.datasets import default_real_dir
    from classifiers.e5_head import E5HeadClassifier

    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", default="onnx-fp32")
    parser.add_argument("--posts", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    encoder = E5HeadClassifier(runtime=args.runtime).load().encoder_
    texts = list(dict.fromkeys(e.text for rows in heldout_sets(default_real_dir()).values() for e in rows))
    sample = [texts[i] for i in np.random.default_rng(5).permutation(len(texts))[: args.posts]]
    chunks = [sample[i : i + 32] for i in range(0, len(sample), 32)]
    alone = encoder.encode(sample, batch_size=1)
    results: dict[str, list[tuple[float, float, float]]] = {}
    for round_ in range(args.rounds):
        print(f"round {round_ + 1} of {args.rounds}", file=sys.stderr, flush=True)
        for name, size, padding in VARIANTS:
            start, cpu = time.perf_counter(), time.process_time()
            out = np.concatenate([encoder.encode(chunk, batch_size=size, max_padding=padding) for chunk in chunks])
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            results.setdefault(name, []).append((len(sample) / wall, 1000 * cpu / len(sample), float(np.abs(out - alone).max())))
    lengths = [len(e.ids) for e in encoder.tokenizer_.encode_batch(["query: " + t for t in sample])]
    print(f"{args.runtime}, {len(sample)} posts in micro-batches of 32; tokens mean {np.mean(lengths):.1f}, "
          f"p90 {np.percentile(lengths, 90):.0f}, max {max(lengths)}; load {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, rows in results.items():
        print(f"{name:>20}: best {max(r[0] for r in rows):6.1f} posts/s, CPU {min(r[1] for r in rows):6.2f} ms/post "
              f"(median {np.median([r[1] for r in rows]):6.2f}), max change vs alone {max(r[2] for r in rows):.1e}")


if __name__ == "__main__":
    main()
