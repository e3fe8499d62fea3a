"""Inference: texts to L2-normalised mean-pooled e5 embeddings (prefix, batching, pooling).

Where the encoder's folder comes from is :mod:`classifiers.provision`'s job; this
module only runs a loaded model. e5 conventions: inputs are prefixed with
``"query: "`` for symmetric tasks (classification, similarity), token states are
mean-pooled over the attention mask, and the result is L2-normalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["E5_PREFIX", "embed", "embed_sorted", "mean_pool"]

E5_PREFIX = "query: "
"""e5's input convention for texts to embed symmetrically (classification, similarity)."""


def mean_pool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token states of each sequence over its real (unpadded) tokens.

    e5 models were trained with mean pooling over the attention mask, special tokens
    included; padding must not dilute the mean, hence the mask. Returns
    ``(batch, hidden)``; L2-normalise the result before comparing with cosine/dot.
    """
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    summed = (last_hidden_state * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return summed / counts


def embed(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, prefix: str = "") -> torch.Tensor:
    """One forward pass: L2-normalised mean-pooled embeddings of ``texts`` (with gradients if enabled).

    ``prefix`` is the model's input convention (``"query: "`` for e5, nothing for MiniLM).
    Pooling runs in float32 even under bfloat16 autocast (training), so the result is float32.
    """
    import torch

    batch = tokenizer([prefix + t for t in texts], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**batch).last_hidden_state.float()
    return torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)


def embed_sorted(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int, prefix: str = ""
) -> np.ndarray:
    """Embeddings of ``texts`` in their order, computed ``batch_size`` at a time after sorting by length.

    Sorting keeps padding (wasted compute) low; the result does not depend on the
    batching, so callers may pick the batch size for speed alone.
    """
    import torch

    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = embed(model, tokenizer, [texts[i] for i in idx], max_length, prefix).numpy()
    return out
