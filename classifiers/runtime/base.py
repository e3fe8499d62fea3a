"""What every encoder runtime shares: tokenising, sorting by length, batching, pooling.

A runtime turns texts into the L2-normalised, mean-pooled e5 embeddings the head was
trained on. Only the forward pass differs between runtimes (torch fp32, torch bf16,
OpenVINO int8, ONNX Runtime int8); the tokenizer, the ``query:`` prefix, the length
sort and the batching are the same code for all of them, so the runtimes can be
compared on the forward pass alone.

Batch invariance: a post's embedding must not depend on the other posts in its
batch (its label would otherwise change with traffic). Padding is masked out, and a
runtime must not scale anything over the whole batch (per-tensor dynamic int8 does);
:func:`batch_drift` measures it. In fp32, padding to the longest batch-mate moves a
score by about 1e-6; in bf16 the same rounding noise is amplified to about 1e-3,
so a bf16 runtime pads every post to a width set by its own length alone
(:attr:`EncoderRuntime.pad_multiple`, :func:`width_batches`): its batch-mates then
never change the shape of its computation.
"""

from __future__ import annotations

import inspect
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EncoderRuntime", "batch_drift", "length_batches", "width_batches", "load_tokenizer", "E5_PREFIX", "MAX_PADDING"]

E5_PREFIX = "query: "
MAX_PADDING = 0.25
"""A batch is cut rather than padded beyond this share of its real tokens (measured: bench/runtime_bench.py)."""


def load_tokenizer(folder: Path, max_length: int) -> Any:
    """The tokenizer of ``folder`` with truncation set, without importing transformers.

    Gives the same ids as ``AutoTokenizer(...)(texts, truncation=True, max_length=max_length)``
    (tested), without loading transformers (memory); padding is done per batch by the runtime.
    A Unigram vocabulary (e5's) is read by :class:`CompactTokenizer`, the same ids in about
    80 MB where HF ``tokenizers`` holds about 290 MB.
    """
    import json

    from tokenizers import Tokenizer

    from .compact_tokenizer import CompactTokenizer

    spec = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
    if spec.get("model", {}).get("type") == "Unigram" and not spec["model"].get("byte_fallback"):
        return CompactTokenizer(spec, max_length)
    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    return tok


class EncoderRuntime(ABC):
    """Texts in, ``(n, hidden)`` float32 L2-normalised embeddings out, in the texts' order.

    Subclasses implement :meth:`_load` (load the model; ``folder_`` is the encoder's folder) and
    :meth:`_forward` (token ids and mask of one padded batch to pooled, normalised
    embeddings).
    """

    name = "runtime"
    hidden_size = 384
    pad_multiple: int | None = None
    """Pad each post to the next multiple of this many tokens (``None``: to its batch's longest post)."""

    def __init__(self, head_dir: Path | None, encoder: str, max_length: int = 256, threads: int | None = None) -> None:
        self.head_dir = Path(head_dir) if head_dir is not None else None
        self.encoder = encoder
        self.max_length = max_length
        self.threads = threads

    cpu_needs = "nothing beyond its packages"
    """What :meth:`supported` asks of the CPU, for the message that refuses it."""

    @classmethod
    def supported(cls) -> bool:
        """Whether this CPU runs it as measured (its packages installed)."""
        return True

    def load(self) -> "EncoderRuntime":
        from ..provision import resolve_encoder

        self._lock = threading.Lock()
        self.folder_ = resolve_encoder(self.encoder)
        self.tokenizer_ = load_tokenizer(self.folder_, self.max_length)
        pad = self.tokenizer_.token_to_id("<pad>")
        self.pad_id_ = 1 if pad is None else pad  # <pad> is 1 in the XLM-R vocabulary
        self._load()
        return self

    @abstractmethod
    def _load(self) -> None: ...

    @abstractmethod
    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...

    def encode(self, texts: Sequence[str], batch_size: int = 16, max_padding: float | None = MAX_PADDING) -> np.ndarray:
        """Embeddings of ``texts`` in their order, at most ``batch_size`` at a time after sorting by length.

        Sorting (by token count) keeps padding low, and :func:`length_batches` starts a new
        batch rather than pad more than ``max_padding`` of the real tokens: on a CPU a padded
        token costs as much as a real one, and a micro-batch of posts from the wild mixes
        a few long ones into many short ones. The result does not depend on the batching
        (see :func:`batch_drift`), so these are chosen for speed alone. A runtime with a
        :attr:`pad_multiple` batches only posts of one padded width (:func:`width_batches`).
        """
        out = np.zeros((len(texts), self.hidden_size), dtype=np.float32)
        if not len(texts):
            return out
        with self._lock:
            tokens = [e.ids for e in self.tokenizer_.encode_batch([E5_PREFIX + t for t in texts])]
            lengths = [len(t) for t in tokens]
            if self.pad_multiple:
                batches = width_batches(lengths, batch_size, self.pad_multiple)
            else:
                batches = [(idx, max(lengths[i] for i in idx)) for idx in length_batches(lengths, batch_size, max_padding)]
            for idx, width in batches:
                ids = np.full((len(idx), width), self.pad_id_, dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for row, i in enumerate(idx):
                    ids[row, : len(tokens[i])] = tokens[i]
                    mask[row, : len(tokens[i])] = 1
                out[idx] = self._forward(ids, mask)
        return out


def length_batches(lengths: Sequence[int], batch_size: int, max_padding: float | None = MAX_PADDING) -> list[list[int]]:
    """Indices of ``lengths`` sorted by length, cut into batches of at most ``batch_size`` whose padding stays
    within ``max_padding`` × their real tokens (``None``: cut by size alone).

    >>> length_batches([30, 5, 6, 7], 4, 0.25)
    [[1, 2, 3], [0]]
    >>> length_batches([30, 5, 6, 7], 4, None)
    [[1, 2, 3, 0]]
    >>> length_batches([30, 5, 6, 7], 2, None)
    [[1, 2], [3, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        width = lengths[i]  # sorted: the newcomer is the longest
        padded = width * (len(current) + 1) - (real + width)
        if current and (len(current) >= batch_size or (max_padding is not None and padded > max_padding * (real + width))):
            batches.append(current)
            current, real = [], 0
        current.append(i)
        real += width
    if current:
        batches.append(current)
    return batches


def width_batches(lengths: Sequence[int], batch_size: int, multiple: int) -> list[tuple[list[int], int]]:
    """``(indices, width)`` batches of at most ``batch_size`` posts, each post padded to ``multiple`` × ceil(length / ``multiple``).

    A post's width depends on its own length only, so its batch-mates cannot change
    what is computed for it: the batch invariance of a bf16 runtime rests on this.

    >>> width_batches([30, 5, 6, 9], 4, 8)
    [([1, 2], 8), ([3], 16), ([0], 32)]
    >>> width_batches([1, 2, 3], 2, 8)
    [([0, 1], 8), ([2], 8)]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[tuple[list[int], int]] = []
    for i in order:
        width = -(-lengths[i] // multiple) * multiple
        if batches and batches[-1][1] == width and len(batches[-1][0]) < batch_size:
            batches[-1][0].append(i)
        else:
            batches.append(([i], width))
    return batches


def batch_drift(runtime: Any, texts: Sequence[str], mates: int = 15, score: Any = None) -> float:
    """Max |difference| of a post's output alone vs with ``mates`` other posts in one batch.

    ``score`` maps embeddings to what is compared (the head's probabilities); the
    embeddings themselves by default. Each text is compared alone against its place in
    a batch with the ``mates`` texts that follow it (longer and shorter ones alike).
    """
    texts = list(texts)
    score = score or (lambda x: x)
    # one padded batch however long its posts: the padding must be what changes, not the batching
    whole = {"max_padding": None} if "max_padding" in inspect.signature(runtime.encode).parameters else {}
    worst = 0.0
    for i, text in enumerate(texts):
        batch = [text] + [texts[(i + 1 + k) % len(texts)] for k in range(mates)]
        alone = score(runtime.encode([text], batch_size=1))[0]
        together = score(runtime.encode(batch, batch_size=len(batch), **whole))[0]
        worst = max(worst, float(np.abs(alone - together).max()))
    return worst
