"""Scores a model card reports: macro-F1, per-label and per-language scores, confusion, calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support


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


def report(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    confidence: np.ndarray,
    labels: Sequence[str],
    langs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Scores over ``labels`` (the labels this data set has); predictions outside them count as errors."""
    labels = list(labels)
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict[str, Any] = {
        "n": len(y_true),
        "labels": labels,
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "accuracy": round(float(np.mean(np.array(y_true) == np.array(y_pred))), 4),
        "per_label": {
            label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4), "n": int(n[i])}
            for i, label in enumerate(labels)
        },
        "ece": round(expected_calibration_error(confidence, np.array(y_true) == np.array(y_pred)), 4),
    }
    all_labels = labels + sorted(set(y_pred) - set(labels))
    out["confusion"] = {
        "rows_true_cols_pred": all_labels,
        "matrix": confusion_matrix(y_true, y_pred, labels=all_labels).tolist(),
    }
    if langs is not None:
        per_lang = {}
        for lang in sorted(set(langs)):
            idx = [i for i, l in enumerate(langs) if l == lang]
            yt = [y_true[i] for i in idx]
            yp = [y_pred[i] for i in idx]
            per_lang[lang] = {
                "n": len(idx),
                "macro_f1": round(float(f1_score(yt, yp, labels=labels, average="macro", zero_division=0)), 4),
            }
        out["per_language"] = per_lang
    return out
