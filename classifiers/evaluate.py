"""Scores a model card reports: macro-F1, per-label and per-language scores, confusion, calibration.

Plain numpy, so that ``pot eval`` and the runtime need no training library. Besides
the usual scores, two that the monitor's users feel directly: complaint precision and
recall (who gets woken up), and the share of posts that are not suggestions but are
called one (``non_suggestion_as_suggestion``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy − confidence| over equal-width confidence bins, weighted by bin size.

    >>> round(expected_calibration_error(np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 1, 1, 0])), 3)
    0.1
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def confusion(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Counts, rows true and columns predicted, over ``labels`` (pairs outside them are not counted).

    >>> confusion(["a", "a", "b"], ["a", "b", "b"], ["a", "b"]).tolist()
    [[1, 1], [0, 1]]
    """
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            matrix[index[t], index[p]] += 1
    return matrix


def per_label_scores(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support of each of ``labels`` (0 where undefined).

    Predictions outside ``labels`` count against recall, as in scikit-learn.

    >>> p, r, f, n = per_label_scores(["a", "a", "b"], ["a", "c", "b"], ["a", "b"])
    >>> p.tolist(), r.tolist(), n.tolist()
    ([1.0, 1.0], [0.5, 1.0], [2, 1])
    """
    t = np.asarray(list(y_true), dtype=object)
    p = np.asarray(list(y_pred), dtype=object)
    out = np.zeros((4, len(labels)))
    for i, label in enumerate(labels):
        tp = float(np.sum((t == label) & (p == label)))
        predicted = float(np.sum(p == label))
        support = float(np.sum(t == label))
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[:, i] = precision, recall, f1, support
    return out[0], out[1], out[2], out[3].astype(np.int64)


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of the F1 of each of ``labels``.

    >>> round(macro_f1(["a", "a", "b"], ["a", "b", "b"], ["a", "b"]), 4)
    0.6667
    """
    return float(np.mean(per_label_scores(y_true, y_pred, labels)[2])) if len(labels) else 0.0


def report(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    confidence: np.ndarray,
    labels: Sequence[str],
    langs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Scores over ``labels`` (the labels this data set has); predictions outside them count as errors."""
    labels = list(labels)
    y_true, y_pred = list(y_true), list(y_pred)
    p, r, f, n = per_label_scores(y_true, y_pred, labels)
    truth, pred = np.array(y_true, dtype=object), np.array(y_pred, dtype=object)
    out: dict[str, Any] = {
        "n": len(y_true),
        "labels": labels,
        "macro_f1": round(float(np.mean(f)) if labels else 0.0, 4),
        "accuracy": round(float(np.mean(truth == pred)) if y_true else 0.0, 4),
        "per_label": {
            label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4), "n": int(n[i])}
            for i, label in enumerate(labels)
        },
        "ece": round(expected_calibration_error(np.asarray(confidence), truth == pred), 4),
    }
    not_suggestion = truth != "suggestion"
    out["non_suggestion_as_suggestion"] = (
        round(float(np.mean(pred[not_suggestion] == "suggestion")), 4) if not_suggestion.any() else None
    )
    all_labels = labels + sorted(set(y_pred) - set(labels))
    out["confusion"] = {"rows_true_cols_pred": all_labels, "matrix": confusion(y_true, y_pred, all_labels).tolist()}
    if langs is not None:
        per_lang = {}
        for lang in sorted(set(langs)):
            idx = [i for i, l in enumerate(langs) if l == lang]
            yt = [y_true[i] for i in idx]
            yp = [y_pred[i] for i in idx]
            per_lang[lang] = {"n": len(idx), "macro_f1": round(macro_f1(yt, yp, labels), 4)}
        out["per_language"] = per_lang
        if len(per_lang) > 1:
            worst = min(per_lang, key=lambda lang: per_lang[lang]["macro_f1"])
            out["min_language"] = {"lang": worst, "macro_f1": per_lang[worst]["macro_f1"]}
    return out
