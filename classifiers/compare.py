"""Two ``pot eval`` reports compared post by post: is the new head better, or is it the sample?

The four seeds of one recipe (session 9) spread 0.005-0.009 macro-F1 apart, as much as the differences
that earlier ship decisions rested on. A paired bootstrap (both heads scored on the same resampled posts
of each held-out set, Efron & Tibshirani 1993) says how large a difference the choice of posts alone
could make: when the 95 % interval of ``new - old`` holds 0, that set does not tell the heads apart.
It says nothing of seed noise; that takes several trained seeds.

    pot compare eval-v4.json eval-new.json
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["compare_reports", "paired_bootstrap", "resampled_macro_f1"]


def resampled_macro_f1(gold: np.ndarray, predicted: np.ndarray, n_labels: int, draws: np.ndarray) -> np.ndarray:
    """Macro-F1 of each resample (a row of ``draws``, indices into the posts), labels coded ``0..n_labels-1``.

    A label absent from a resample's gold and predictions scores 0, as
    :func:`classifiers.evaluate.macro_f1` does for a label it is asked about.

    >>> gold, pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    >>> resampled_macro_f1(gold, pred, 2, np.array([[0, 1, 2, 3], [0, 0, 2, 3]])).round(3).tolist()
    [0.733, 1.0]
    """
    g, p = gold[draws], predicted[draws]
    scores = np.zeros(draws.shape[0])
    for k in range(n_labels):
        tp = ((g == k) & (p == k)).sum(1)
        fp = ((g != k) & (p == k)).sum(1)
        fn = ((g == k) & (p != k)).sum(1)
        denominator = 2 * tp + fp + fn
        scores += np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return scores / n_labels


def paired_bootstrap(
    gold: Sequence[str], old: Sequence[str], new: Sequence[str], rounds: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Macro-F1 of ``old`` and ``new`` on the same posts, and the bootstrap interval of the difference.

    Macro-F1 is over the labels the gold standard uses, as ``pot eval`` reports it.
    """
    if not len(gold) == len(old) == len(new) or not gold:
        raise ValueError("gold, old and new must be non-empty and of one length")
    labels = sorted(set(gold))
    code = {label: i for i, label in enumerate(labels)}
    g = np.array([code[x] for x in gold])
    a = np.array([code.get(x, -1) for x in old])
    b = np.array([code.get(x, -1) for x in new])
    everything = np.arange(len(g))[None, :]
    draws = np.random.default_rng(seed).integers(0, len(g), size=(rounds, len(g)))
    diffs = resampled_macro_f1(g, b, len(labels), draws) - resampled_macro_f1(g, a, len(labels), draws)
    low, high = np.percentile(diffs, [2.5, 97.5])
    f_old = float(resampled_macro_f1(g, a, len(labels), everything)[0])
    f_new = float(resampled_macro_f1(g, b, len(labels), everything)[0])
    return {"n": len(g), "old": f_old, "new": f_new, "diff": f_new - f_old, "low": float(low), "high": float(high),
            "p_new_better": float((diffs > 0).mean()), "changed": int((a != b).sum())}


def _posts(report: dict[str, Any], name: str) -> dict[str, Any]:
    posts = report["sets"][name].get("posts")
    if not posts:
        raise ValueError(f"set {name!r}: the report has no per-post predictions (made by an older `pot eval`; run it again)")
    return posts


def compare_reports(old: dict[str, Any], new: dict[str, Any], rounds: int = 2000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Every set both reports scored, paired post by post; a verdict per set from the 95 % interval."""
    out: dict[str, dict[str, Any]] = {}
    for name in [n for n in new["sets"] if n in old["sets"]]:
        a, b = _posts(old, name), _posts(new, name)
        if a["id"] != b["id"] or a["gold"] != b["gold"]:
            raise ValueError(f"set {name!r}: the two reports scored different posts or labels; compare reports of the same sets")
        row: dict[str, Any] = paired_bootstrap(b["gold"], a["predicted"], b["predicted"], rounds, seed)
        row["verdict"] = "better" if row["low"] > 0 else "worse" if row["high"] < 0 else "undecided"
        out[name] = row
    if not out:
        raise ValueError("the two reports share no held-out set")
    return out
