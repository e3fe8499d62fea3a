"""Near-duplicate detection between training rows and every test set.

A training post that is a test post with a changed emoji, a dropped accent or an
added word would make the test measure memory. Texts are normalised (case folded,
diacritics stripped, punctuation and symbols removed, whitespace collapsed), cut into
character 5-grams, and two texts are near-duplicates when the Jaccard similarity of
their 5-gram sets is at least :data:`THRESHOLD`. Candidates come from MinHash
locality-sensitive hashing (16 bands of 4 rows: a pair at Jaccard 0.8 becomes a
candidate with probability 0.9998), and every candidate is confirmed on the exact
Jaccard, so there are no false positives.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["THRESHOLD", "Match", "jaccard", "near_duplicates", "normalise", "shingles"]

THRESHOLD = 0.8
_BANDS, _ROWS = 16, 4
_PRIME = (1 << 61) - 1


def normalise(text: str) -> str:
    """Case folded, without diacritics, punctuation or symbols; whitespace collapsed.

    >>> normalise("Mulțumesc!!  Livrarea   a ÎNTÂRZIAT 😡")
    'multumesc livrarea a intarziat'
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = []
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category.startswith("M"):
            continue
        kept.append(" " if category[0] in "PSZC" else ch)
    return " ".join("".join(kept).split())


def shingles(text: str, n: int = 5) -> frozenset[int]:
    """Hashed character ``n``-grams of the normalised text (the whole text when shorter).

    A text with no letters or digits (emoji only, punctuation) is kept as it is,
    whitespace aside, so that different emoji are different texts.

    >>> len(shingles("abcdef")) == 2 and shingles("Ab!") == shingles("ab")
    True
    >>> shingles("😍😍") == shingles("👎👎")
    False
    """
    norm = normalise(text) or "".join(text.split())
    if len(norm) <= n:
        return frozenset([zlib.crc32(norm.encode("utf-8"))])
    return frozenset(zlib.crc32(norm[i : i + n].encode("utf-8")) for i in range(len(norm) - n + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class Match:
    """Training row ``train_index`` is a near-duplicate of row ``test_index`` of set ``test_set``."""

    train_index: int
    test_set: str
    test_index: int
    similarity: float


def _signatures(sets: Sequence[frozenset[int]], seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n_hash = _BANDS * _ROWS
    a = rng.integers(1, _PRIME, n_hash, dtype=np.uint64)
    b = rng.integers(0, _PRIME, n_hash, dtype=np.uint64)
    out = np.empty((len(sets), n_hash), dtype=np.uint64)
    for i, s in enumerate(sets):
        x = np.fromiter(s, dtype=np.uint64, count=len(s))
        # (a*x + b) mod 2^64 is a fine universal-ish hash family for minhash over 32-bit shingle ids
        out[i] = ((x[:, None] * a[None, :]) + b[None, :]).min(axis=0)
    return out


def near_duplicates(
    train: Sequence[str], tests: dict[str, Sequence[str]], threshold: float = THRESHOLD
) -> list[Match]:
    """Every training text that is a near-duplicate of some test text, with its closest test match.

    >>> [m.train_index for m in near_duplicates(["Great app!!", "Totally new"], {"t": ["great app"]})]
    [0]
    """
    train_sets = [shingles(t) for t in train]
    test_rows = [(name, i, shingles(t)) for name, texts in tests.items() for i, t in enumerate(texts)]
    if not train_sets or not test_rows:
        return []
    with np.errstate(over="ignore"):
        sig_train = _signatures(train_sets)
        sig_test = _signatures([s for _, _, s in test_rows])
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    for j in range(len(test_rows)):
        for band in range(_BANDS):
            buckets[(band, sig_test[j, band * _ROWS : (band + 1) * _ROWS].tobytes())].append(j)
    out: list[Match] = []
    for i, s in enumerate(train_sets):
        candidates: set[int] = set()
        for band in range(_BANDS):
            candidates.update(buckets.get((band, sig_train[i, band * _ROWS : (band + 1) * _ROWS].tobytes()), ()))
        best: tuple[float, int] | None = None
        for j in candidates:
            sim = jaccard(s, test_rows[j][2])
            if sim >= threshold and (best is None or sim > best[0]):
                best = (sim, j)
        if best is not None:
            name, index, _ = test_rows[best[1]]
            out.append(Match(i, name, index, round(best[0], 4)))
    return out
