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
