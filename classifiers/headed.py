"""What every "encoder + linear head" classifier shares: loading the head and its card, and predicting.

Subclasses set ``encoder_`` (anything with ``encode(texts) -> np.ndarray``) in their ``load``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import Classifier, Prediction
from .head import LinearHead
from .predictions import from_probabilities


class HeadClassifier(Classifier):
    """A sentence encoder followed by a :class:`~classifiers.head.LinearHead` shipped with a model card."""

    @property
    def version(self) -> str:  # type: ignore[override]
        return getattr(self, "version_", "unloaded")

    def _load_head(self, head_dir: Path, how_to_build: str) -> dict[str, Any]:
        """Load ``head.npz`` and return the card (``{}`` when there is none); sets ``head_`` and ``version_``."""
        if not (head_dir / "head.npz").is_file():
            raise FileNotFoundError(f"no trained head at {head_dir} ({how_to_build})")
        self.head_ = LinearHead.load(head_dir)
        card_path = head_dir / "card.json"
        card: dict[str, Any] = json.loads(card_path.read_text()) if card_path.is_file() else {}
        self.version_ = str(card.get("version", head_dir.name))
        return card

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.head_.predict_proba(self.encoder_.encode(texts))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        return from_probabilities(texts, self.predict_proba(texts), self.head_.labels)
