"""Runtimes that run an exported graph (OpenVINO, ONNX Runtime): export once, cache, look embeddings up outside.

The graph takes word embeddings and the attention mask and returns pooled,
L2-normalised embeddings; the word-embedding table lives beside it in its compact,
exact form (:mod:`.embedding_table`). :func:`export_graph` writes both; it runs in a
child process (torch is needed only there) and its result is cached by
:func:`.export.cached_export`.
"""

from __future__ import annotations

import functools
import sys
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .base import EncoderRuntime
from .embedding_table import EmbeddingTable, write_table
from .export import cache_key, cached_export, example_inputs, merged_model, pooled_encoder


def export_graph(convert: Callable[[Any, tuple[Any, Any], Path], None], encoder_folder: Path, head_dir: Path | None, out: Path) -> None:
    """The merged encoder's embedding table and its graph (written by ``convert(module, example, out)``)."""
    import torch

    model = merged_model(encoder_folder, head_dir, attn="eager")
    write_table(out, model.embeddings.word_embeddings.weight.detach().numpy(), encoder_folder)
    with torch.no_grad():
        convert(pooled_encoder(model, from_embeddings=True), example_inputs(model.config.hidden_size), out)


class GraphRuntime(EncoderRuntime):
    """Subclasses set ``family``, ``settings``, ``packages``; implement :meth:`convert`, :meth:`_open`, :meth:`_run`."""

    family = "graph"
    packages: tuple[str, ...] = ()

    @property
    def settings(self) -> dict[str, Any]:
        return {}

    @staticmethod
    @abstractmethod
    def convert(module: Any, example: tuple[Any, Any], out: Path, **settings: Any) -> None: ...

    @abstractmethod
    def _open(self, folder: Path) -> None: ...

    @abstractmethod
    def _run(self, embeds: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...

    def export(self, out: Path) -> None:
        """Write this runtime's graph and embedding table into ``out`` (imports torch)."""
        export_graph(functools.partial(type(self).convert, **self.settings), self.folder_, self.head_dir, out)

    def _load(self) -> None:
        key = cache_key(self.folder_, self.head_dir, self.name, self.settings, list(self.packages))
        command = [sys.executable, "-m", "classifiers.runtime.build", self.name, self.encoder, str(self.head_dir or "")]
        self.export_dir_ = cached_export(self.name, key, command)
        self.table_ = EmbeddingTable(self.export_dir_)
        self.hidden_size = self.table_.hidden
        self._open(self.export_dir_)

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._run(self.table_.lookup(input_ids), attention_mask)
