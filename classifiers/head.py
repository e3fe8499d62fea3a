"""A linear softmax head over sentence embeddings, with temperature scaling.

Kept as plain numpy arrays (``head.npz``) so inference needs no training
library and the parameters are small enough to ship in the repository.
Temperature is fitted on held-out data after training so that ``confidence``
means what it says (see :mod:`classifiers.evaluate` for the calibration error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclass
class LinearHead:
    """``softmax((x @ coef.T + intercept) / temperature)`` over ``labels``."""

    labels: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float = 1.0

    def logits(self, embeddings: np.ndarray) -> np.ndarray:
        return embeddings @ self.coef.T + self.intercept

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        return softmax(self.logits(embeddings) / self.temperature)

    @classmethod
    def from_logistic(cls, model: Any, labels: tuple[str, ...], width: int) -> "LinearHead":
        """The head of a fitted scikit-learn ``LogisticRegression`` whose classes are indices into ``labels``.

        A label the model never saw gets logit -1e4, so it is never predicted. With two classes scikit-learn
        keeps one row of coefficients (the second class's log-odds); it is split as -w/2, +w/2 so that the
        softmax over the two logits is the model's sigmoid.
        """
        coef = np.zeros((len(labels), width), np.float32)
        intercept = np.full(len(labels), -1e4, np.float32)
        if len(model.classes_) == 2:
            coef[model.classes_] = np.vstack([-model.coef_, model.coef_]) / 2
            intercept[model.classes_] = np.array([-1.0, 1.0]) * model.intercept_ / 2
        else:
            coef[model.classes_] = model.coef_
            intercept[model.classes_] = model.intercept_
        return cls(tuple(labels), coef, intercept)

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "head.npz"
        np.savez(
            path,
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            temperature=np.float32(self.temperature),
            labels=np.array(json.dumps(list(self.labels))),
        )
        return path

    @classmethod
    def load(cls, directory: Path) -> "LinearHead":
        with np.load(directory / "head.npz", allow_pickle=False) as data:
            return cls(
                labels=tuple(json.loads(str(data["labels"]))),
                coef=data["coef"].astype(np.float32),
                intercept=data["intercept"].astype(np.float32),
                temperature=float(data["temperature"]),
            )


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises held-out negative log-likelihood (grid + refine)."""

    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 200))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return float(min(fine, key=nll))
