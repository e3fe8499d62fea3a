"""``hf-sequence``: any Hugging Face sequence-classification model, its labels mapped onto ours.

Many fine-tuned models already exist (sentiment, intent, speech acts); this
adapter lets the monitor try one without writing a plugin. The model's own
labels (``config.id2label``) are mapped onto :data:`~classifiers.base.LABELS`
by ``label_map``; a model label that is not mapped folds into ``other`` (it
needs no answer), and when several model labels map to one of ours their
probabilities are added, so ``scores`` still sum to 1. Without a map, model
labels that already are our label names (any case) keep them.

From the command line, configure it with the environment::

    POT_HF_MODEL=path/or/hub-id POT_HF_LABEL_MAP='{"NEG": "complaint", "POS": "praise"}' \\
        pot classify --classifier hf-sequence

Scores are the softmax over the model's logits, whatever ``problem_type`` it was trained with.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence

import numpy as np

from .base import LABELS, Classifier, Prediction
from .predictions import from_probabilities

ENV_MODEL = "POT_HF_MODEL"
ENV_LABEL_MAP = "POT_HF_LABEL_MAP"


def _label_map_from_env() -> dict[str, str] | None:
    raw = os.environ.get(ENV_LABEL_MAP, "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{ENV_LABEL_MAP} is not JSON: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{ENV_LABEL_MAP} must be a JSON object of model label -> our label")
    return value


def fold_matrix(model_labels: Sequence[str], label_map: dict[str, str] | None) -> np.ndarray:
    """``(len(model_labels), len(LABELS))`` 0/1 matrix: model probabilities @ it = our probabilities.

    Raises ``ValueError`` for a map that names a label the model lacks or a target outside LABELS,
    since a typo there would silently send everything to ``other``.
    """
    if label_map is None:
        by_lower = {label.lower(): label for label in LABELS}
        label_map = {m: by_lower[m.lower()] for m in model_labels if m.lower() in by_lower}
    unknown_targets = sorted(set(label_map.values()) - set(LABELS))
    if unknown_targets:
        raise ValueError(f"label map targets {unknown_targets} are not among {LABELS}")
    unknown_sources = sorted(set(label_map) - set(model_labels))
    if unknown_sources:
        raise ValueError(f"label map names {unknown_sources}, which the model does not have; it has {list(model_labels)}")
    fold = np.zeros((len(model_labels), len(LABELS)), dtype=np.float64)
    for i, model_label in enumerate(model_labels):
        fold[i, LABELS.index(label_map.get(model_label, "other"))] = 1.0
    return fold


class HFSequenceClassifier(Classifier):
    """A transformers ``AutoModelForSequenceClassification`` (hub id or local folder) behind the contract."""

    name = "hf-sequence"

    def __init__(
        self,
        model: str | None = None,
        label_map: dict[str, str] | None = None,
        max_length: int = 256,
        batch_size: int = 32,
    ) -> None:
        self.model = model
        self.label_map = label_map
        self.max_length = max_length
        self.batch_size = batch_size

    @property
    def version(self) -> str:  # type: ignore[override]
        """The model id or folder it was loaded from: two versions differ exactly when the weights may."""
        return getattr(self, "model_id_", "unloaded")

    def load(self) -> "HFSequenceClassifier":
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model_id = self.model or os.environ.get(ENV_MODEL, "").strip()
        if not model_id:
            raise ValueError(f"hf-sequence needs a model: pass model=... or set {ENV_MODEL} (hub id or local folder)")
        label_map = self.label_map if self.label_map is not None else _label_map_from_env()
        self.tokenizer_ = AutoTokenizer.from_pretrained(model_id)
        network = AutoModelForSequenceClassification.from_pretrained(model_id)
        network.eval()
        self.model_ = network
        id2label = network.config.id2label
        self.model_labels_ = tuple(str(id2label[i]) for i in range(network.config.num_labels))
        self.fold_ = fold_matrix(self.model_labels_, label_map)
        self.model_id_ = model_id
        self._torch = torch
        self._lock = threading.Lock()
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Our five labels' probabilities, one row per text (columns in the order of LABELS)."""
        torch = self._torch
        limit = min(self.max_length, self.tokenizer_.model_max_length)
        out = np.zeros((len(texts), len(self.model_labels_)), dtype=np.float64)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer_(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=limit, return_tensors="pt"
                )
                logits = self.model_(**batch).logits.float()
                out[idx] = torch.softmax(logits, dim=-1).numpy()
        return out @ self.fold_

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        return from_probabilities(texts, self.predict_proba(texts))
