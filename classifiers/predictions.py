"""Turning a probability matrix into :class:`~classifiers.base.Prediction` objects.

Shared by the classifiers that end in a softmax, so that every one of them
fills ``scores`` over all five labels and sets ``confidence`` to the top score
the same way (the contract that :mod:`classifiers.checks` verifies).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import LABELS, Prediction
from .language import detect


def from_probabilities(texts: Sequence[str], probs: np.ndarray, labels: Sequence[str] = LABELS) -> list[Prediction]:
    """One prediction per row of ``probs`` (columns in the order of ``labels``); ties go to the earlier label.

    Labels of :data:`LABELS` missing from ``labels`` get a score of 0, so
    ``scores`` always has the five keys.
    """
    out = []
    for text, row in zip(texts, probs):
        scores = {label: 0.0 for label in LABELS}
        for label, p in zip(labels, row):
            scores[label] += float(p)
        best = max(LABELS, key=lambda label: scores[label])
        out.append(Prediction(label=best, confidence=scores[best], scores=scores, lang=detect(text)))
    return out
