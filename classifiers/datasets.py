"""The labelled data the head is trained and judged on, with fixed splits.

Two sources:

* the project's own multilingual brand posts (``classifiers/data/brand_posts``),
  written to LABELS.md, already split by file into ``*_train`` and ``*_test``
  (the test files use other brands and scenarios, to measure generalisation);
* the real, publicly labelled posts beside the project (``../shared/data/real``),
  split by a hash of the text: 20 % held out, never trained on. The split does
  not depend on file order or on which other files are present.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .base import LABELS

REAL_HELDOUT_SHARE = 0.2


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    source: str


def brand_posts_dir() -> Path:
    return Path(str(files("classifiers").joinpath("data", "brand_posts")))


def default_real_dir() -> Path | None:
    """``../shared/data/real`` from the repository root, when this checkout has it."""
    root = Path(__file__).resolve().parent.parent
    candidate = root.parent / "shared" / "data" / "real"
    return candidate if candidate.is_dir() else None


def read_jsonl(path: Path, source: str | None = None) -> list[Example]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        obj = json.loads(line)
        label = obj.get("label")
        if label not in LABELS:
            raise ValueError(f"{path}:{number}: label {label!r} is not one of {LABELS}")
        out.append(Example(obj["text"], label, obj.get("lang", "?"), source or obj.get("source") or path.stem))
    return out


def is_heldout(text: str, share: float = REAL_HELDOUT_SHARE) -> bool:
    """Stable membership of the held-out split, from a hash of the text."""
    digest = hashlib.sha256(text.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def brand_split(split: str, directory: Path | None = None) -> list[Example]:
    """``split`` is ``train`` or ``test``."""
    directory = directory or brand_posts_dir()
    examples: list[Example] = []
    for path in sorted(directory.glob(f"*_{split}.jsonl")):
        examples += read_jsonl(path, source="brand_posts")
    return examples


def real_split(split: str, directory: Path | None) -> list[Example]:
    """The real posts of one split; empty when the shared data is not beside this checkout."""
    if directory is None:
        return []
    examples: list[Example] = []
    for path in sorted(directory.glob("*.jsonl")):
        for example in read_jsonl(path, source=path.stem):
            if is_heldout(example.text) == (split == "test"):
                examples.append(example)
    return examples


def labels_of(examples: Iterable[Example]) -> list[str]:
    present = {e.label for e in examples}
    return [label for label in LABELS if label in present]
