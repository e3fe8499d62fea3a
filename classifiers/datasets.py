"""The labelled data the head is trained and judged on, with fixed splits.

Sources:

* the project's own multilingual brand posts (``classifiers/data/brand_posts``),
  written to LABELS.md, already split by file into ``*_train`` and ``*_test``
  (the test files use other brands and scenarios; same writer as the training files);
* posts in the styles of the world by several writers
  (``classifiers/data/world/<writer>/<lang>.jsonl``): training only;
* an independent held-out set written from LABELS.md alone by a writer who never
  saw the training files (``classifiers/data/independent/<lang>.jsonl``): never
  trained on, never used to choose a setting;
* a held-out set in languages no training file is written in (``classifiers/data/unseen/<lang>.jsonl``),
  by other writers in the same way: what a post in a language nobody wrote examples for gets;
* the real, publicly labelled posts beside the project (``../shared/data/real``),
  split by a hash of the text: 20 % held out, never trained on. The split does
  not depend on file order or on which other files are present. Labels the guide
  reads differently are overridden by :mod:`classifiers.relabel`.
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
    writer: str = ""


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
        out.append(
            Example(obj["text"], label, obj.get("lang", "?"), source or obj.get("source") or path.stem, obj.get("writer", ""))
        )
    return out


def data_dir(name: str) -> Path:
    """A folder under ``classifiers/data`` (``world``, ``independent``, ``unseen``, ``relabel``)."""
    return Path(str(files("classifiers").joinpath("data", name)))


def _language_files(directory: Path) -> list[Path]:
    """A folder's ``<lang>.jsonl`` files, and the ``<lang>.part*.jsonl`` pieces of languages without one."""
    whole = {p.name.split(".")[0]: p for p in directory.glob("*.jsonl") if p.name.count(".") == 1}
    parts = sorted(p for p in directory.glob("*.part*.jsonl") if p.name.split(".")[0] not in whole)
    return sorted(whole.values()) + parts


def world_set(directory: Path | None = None) -> list[Example]:
    """The posts in the styles of the world, every writer and language (training only).

    A writer's ``<lang>.jsonl`` is read when present, else its ``<lang>.part*.jsonl``
    pieces; the same text twice (within or across writers) is kept once.
    """
    directory = directory or data_dir("world")
    out: list[Example] = []
    seen: set[str] = set()
    if not directory.is_dir():
        return out
    for writer in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for path in _language_files(writer):
            for example in read_jsonl(path, source="world"):
                if example.text not in seen:
                    seen.add(example.text)
                    out.append(Example(example.text, example.label, example.lang, "world", example.writer or writer.name))
    return out


def _language_folder(directory: Path, source: str) -> list[Example]:
    """Every ``<lang>.jsonl`` of a held-out folder as one set (none when the folder is absent)."""
    if not directory.is_dir():
        return []
    return [example for path in _language_files(directory) for example in read_jsonl(path, source=source)]


def independent_set(directory: Path | None = None) -> list[Example]:
    """The independent held-out set (every language); never train on it or choose settings by it."""
    return _language_folder(directory or data_dir("independent"), "independent")


def unseen_languages_set(directory: Path | None = None) -> list[Example]:
    """Held-out posts in languages no training file is written in; never train on them or choose settings by them."""
    return _language_folder(directory or data_dir("unseen"), "unseen_languages")


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
