"""The e5 tokenizer with its Unigram model held as a plain dict: the same ids in a fifth of the memory.

HF ``tokenizers`` keeps a Unigram vocabulary in a trie of per-character hash maps:
for the 250,002 pieces of multilingual-e5 that is about 270 MB, the largest part of
the classifier process (docs/performance.md). The segmentation itself is small: a
Viterbi pass over the pieces that start at each character. This module keeps HF's
normalizer, pre-tokenizer and special-token handling (cheap, and exactly theirs)
and does the Viterbi pass over a dict, with HF's tie-break (a node keeps the first
path that reaches it with the best score, paths tried by ascending start) and its
unknown-piece score (the lowest piece score minus 10), so the ids are HF's own;
``tests/test_compact_tokenizer.py`` checks that on every post the project holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CompactTokenizer", "UNK_PENALTY"]

UNK_PENALTY = 10.0
"""What HF's Unigram subtracts from the lowest piece score to score an unknown character."""


@dataclass(frozen=True)
class _Encoding:
    ids: list[int]


class CompactTokenizer:
    """``encode_batch`` and ``token_to_id`` of a ``tokenizers.Tokenizer`` for a Unigram ``tokenizer.json``."""

    def __init__(self, spec: dict[str, Any], max_length: int) -> None:
        from tokenizers import Tokenizer

        model = spec["model"]
        if model.get("type") != "Unigram" or model.get("byte_fallback"):
            raise ValueError("CompactTokenizer reads Unigram models without byte fallback only")
        vocab = model["vocab"]
        self._ids = {piece: i for i, (piece, _) in enumerate(vocab)}
        self._scores = [float(score) for _, score in vocab]
        self._longest = max(len(piece) for piece, _ in vocab)
        self._unk_id = int(model["unk_id"])
        self._unk_score = min(self._scores) - UNK_PENALTY
        self.max_length = max_length
        added = sorted(spec.get("added_tokens", []), key=lambda t: -len(t["content"]))
        self._added = {t["content"]: int(t["id"]) for t in added}
        self._split = re.compile("|".join(
            (r"\s*" if t.get("lstrip") else "") + re.escape(t["content"]) + (r"\s*" if t.get("rstrip") else "")
            for t in added
        )) if added else None
        single = (spec.get("post_processor") or {}).get("single", [])
        text_at = next((k for k, item in enumerate(single) if "Sequence" in item), len(single))
        self._before = [self._added[i["SpecialToken"]["id"]] for i in single[:text_at] if "SpecialToken" in i]
        self._after = [self._added[i["SpecialToken"]["id"]] for i in single[text_at + 1 :] if "SpecialToken" in i]
        front = dict(spec, model={"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}, added_tokens=[],
                     post_processor=None, truncation=None, padding=None)
        front_tokenizer = Tokenizer.from_str(json.dumps(front))
        self._normalizer, self._pre_tokenizer = front_tokenizer.normalizer, front_tokenizer.pre_tokenizer

    @classmethod
    def from_file(cls, path: Path, max_length: int) -> "CompactTokenizer":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), max_length)

    def token_to_id(self, token: str) -> int | None:
        return self._added.get(token, self._ids.get(token))

    def encode_batch(self, texts: list[str]) -> list[_Encoding]:
        return [_Encoding(self.encode_ids(text)) for text in texts]

    def encode_ids(self, text: str) -> list[int]:
        """``<s>``, the text's piece ids (cut to fit ``max_length``), ``</s>``: what HF's encode gives."""
        ids: list[int] = []
        last = 0
        for match in self._split.finditer(text) if self._split else ():
            ids += self._segment(text[last : match.start()])
            ids.append(self._added[match.group().strip()])
            last = match.end()
        ids += self._segment(text[last:])
        room = self.max_length - len(self._before) - len(self._after)
        return self._before + ids[: max(room, 0)] + self._after

    def _segment(self, text: str) -> list[int]:
        if not text:
            return []
        normalized = self._normalizer.normalize_str(text) if self._normalizer else text
        if not normalized:
            return []
        words = self._pre_tokenizer.pre_tokenize_str(normalized) if self._pre_tokenizer else [(normalized, None)]
        return [i for word, _ in words for i in self._viterbi(word)]

    def _viterbi(self, word: str) -> list[int]:
        n, ids, scores, longest = len(word), self._ids, self._scores, self._longest
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        for s in range(n):
            base = best[s]
            single = False
            for e in range(s + 1, min(n, s + longest) + 1):
                i = ids.get(word[s:e])
                if i is None:
                    continue
                candidate = base + scores[i]
                if start[e] < 0 or candidate > best[e]:
                    best[e], start[e] = candidate, s
                single = single or e == s + 1
            if not single:
                candidate = base + self._unk_score
                if start[s + 1] < 0 or candidate > best[s + 1]:
                    best[s + 1], start[s + 1] = candidate, s
        pieces: list[str] = []
        unknown: list[str] = []
        e = n
        while e > 0:
            piece = word[start[e] : e]
            if piece in ids:
                if unknown:
                    pieces.append("".join(reversed(unknown)))
                    unknown = []
                pieces.append(piece)
            else:
                unknown.append(piece)
            e = start[e]
        if unknown:
            pieces.append("".join(reversed(unknown)))
        return [ids.get(p, self._unk_id) for p in reversed(pieces)]
