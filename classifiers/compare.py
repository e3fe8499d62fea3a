"""Two ``pot eval`` reports compared post by post: is the new head better, or is it the sample?

The four seeds of one recipe (session 9) spread 0.005-0.009 macro-F1 apart, as much as the differences
that earlier ship decisions rested on. A paired bootstrap (both heads scored on the same resampled posts
of each held-out set, Efron & Tibshirani 1993) says how large a difference the choice of posts alone
could make: when the 95 % interval of ``new - old`` holds 0, that set does not tell the heads apart.
It says nothing of seed noise; that takes several trained seeds.

A ship decision rests on the real sources' mean, not on one set, so the mean over the sources (once with
their own labels, once with the guide's) gets its own interval: each resample draws every source's posts
anew and averages the per-source differences. ``min_support`` leaves out of a set's macro-F1 the labels
with fewer gold posts than that (the guide reads one post of each mini-bar set as ``other``; that label's
F1 is 0 or 1 and moves the set's macro-F1 by a quarter on one post); those posts still count against the
labels they are predicted as.

    pot compare eval-v4.json eval-new.json --min-support 10
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["GROUPS", "compare_reports", "paired_bootstrap", "real_source_groups", "resampled_macro_f1"]

GROUPS = ("real sources, their labels (mean)", "real sources, guide's labels (mean)")


def resampled_macro_f1(
    gold: np.ndarray, predicted: np.ndarray, labels: int | Sequence[int], draws: np.ndarray
) -> np.ndarray:
    """Macro-F1 of each resample (a row of ``draws``, indices into the posts) over ``labels``, given as codes
    (or as their number ``n``, for ``0..n-1``).

    A label absent from a resample's gold and predictions scores 0, as
    :func:`classifiers.evaluate.macro_f1` does for a label it is asked about.

    >>> gold, pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    >>> resampled_macro_f1(gold, pred, 2, np.array([[0, 1, 2, 3], [0, 0, 2, 3]])).round(3).tolist()
    [0.733, 1.0]
    """
    scored = range(labels) if isinstance(labels, int) else labels
    g, p = gold[draws], predicted[draws]
    scores = np.zeros(draws.shape[0])
    for k in scored:
        tp = ((g == k) & (p == k)).sum(1)
        fp = ((g != k) & (p == k)).sum(1)
        fn = ((g == k) & (p != k)).sum(1)
        denominator = 2 * tp + fp + fn
        scores += np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return scores / len(scored)


def _paired(
    gold: Sequence[str], old: Sequence[str], new: Sequence[str], rounds: int, rng: np.random.Generator, min_support: int
) -> tuple[dict[str, Any], np.ndarray]:
    """The row of one set and its per-resample differences (``new - old``)."""
    if not len(gold) == len(old) == len(new) or not gold:
        raise ValueError("gold, old and new must be non-empty and of one length")
    counts = Counter(gold)
    labels = sorted(counts)
    scored_labels = [x for x in labels if counts[x] >= min_support]
    if not scored_labels:
        raise ValueError(f"no label has {min_support} or more gold posts")
    code = {label: i for i, label in enumerate(labels)}
    scored = [code[x] for x in scored_labels]
    g = np.array([code[x] for x in gold])
    a = np.array([code.get(x, -1) for x in old])
    b = np.array([code.get(x, -1) for x in new])
    everything = np.arange(len(g))[None, :]
    draws = rng.integers(0, len(g), size=(rounds, len(g)))
    diffs = resampled_macro_f1(g, b, scored, draws) - resampled_macro_f1(g, a, scored, draws)
    low, high = np.percentile(diffs, [2.5, 97.5])
    f_old = float(resampled_macro_f1(g, a, scored, everything)[0])
    f_new = float(resampled_macro_f1(g, b, scored, everything)[0])
    row = {"n": len(g), "old": f_old, "new": f_new, "diff": f_new - f_old, "low": float(low), "high": float(high),
           "p_new_better": float((diffs > 0).mean()), "changed": int((a != b).sum()),
           "left_out": sorted(set(labels) - set(scored_labels))}
    return row, diffs


def paired_bootstrap(
    gold: Sequence[str], old: Sequence[str], new: Sequence[str], rounds: int = 2000, seed: int = 0, min_support: int = 1
) -> dict[str, Any]:
    """Macro-F1 of ``old`` and ``new`` on the same posts, and the bootstrap interval of the difference.

    Macro-F1 is over the labels the gold standard uses with at least ``min_support`` posts (with the
    default, every one: as ``pot eval`` reports it).
    """
    return _paired(gold, old, new, rounds, np.random.default_rng(seed), min_support)[0]


def real_source_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """The real sources' sets, by label set: a source is a set that also comes as ``<source>@guide``."""
    from .corpus import GUIDE_SUFFIX

    guided = [n for n in names if n.endswith(GUIDE_SUFFIX)]
    own = [n for n in names if n + GUIDE_SUFFIX in names]
    return {group: members for group, members in zip(GROUPS, (own, guided)) if members}


def _verdict(row: dict[str, Any]) -> str:
    return "better" if row["low"] > 0 else "worse" if row["high"] < 0 else "undecided"


def _posts(report: dict[str, Any], name: str) -> dict[str, Any]:
    posts = report["sets"][name].get("posts")
    if not posts:
        raise ValueError(f"set {name!r}: the report has no per-post predictions (made by an older `pot eval`; run it again)")
    return posts


def compare_reports(
    old: dict[str, Any], new: dict[str, Any], rounds: int = 2000, seed: int = 0, min_support: int = 1
) -> dict[str, dict[str, Any]]:
    """Every set both reports scored, paired post by post, then the real sources' means; a verdict for
    each from its 95 % interval."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, Any]] = {}
    diffs: dict[str, np.ndarray] = {}
    for name in [n for n in new["sets"] if n in old["sets"]]:
        a, b = _posts(old, name), _posts(new, name)
        if a["id"] != b["id"] or a["gold"] != b["gold"]:
            raise ValueError(f"set {name!r}: the two reports scored different posts or labels; compare reports of the same sets")
        row, diffs[name] = _paired(b["gold"], a["predicted"], b["predicted"], rounds, rng, min_support)
        row["verdict"] = _verdict(row)
        out[name] = row
    if not out:
        raise ValueError("the two reports share no held-out set")
    for group, members in real_source_groups(list(out)).items():
        mean_diffs = np.mean([diffs[m] for m in members], axis=0)
        low, high = np.percentile(mean_diffs, [2.5, 97.5])
        row = {key: float(np.mean([out[m][key] for m in members])) for key in ("old", "new")}
        row.update(n=sum(out[m]["n"] for m in members), diff=row["new"] - row["old"], low=float(low), high=float(high),
                   p_new_better=float((mean_diffs > 0).mean()), changed=sum(out[m]["changed"] for m in members),
                   left_out=[], sets=members)
        row["verdict"] = _verdict(row)
        out[group] = row
    return out
