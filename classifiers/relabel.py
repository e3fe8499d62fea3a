"""Labels of real posts, read again by the guide (``../shared/LABELS.md``), stored without the texts.

The real sources label by their own schemes (a mini-bar "feature request" may carry
a grievance, which LABELS.md's tie-break 1 makes a ``complaint``; a tweet-act
"suggestion" may be advice to followers, not a proposal to anyone who could act on
it). Every row of every source was read blind by the guide, and each disagreement with
the source's label was decided by LABELS.md (the folder's README says how and how
many changed).
The decisions live in ``classifiers/data/relabel/<source>.jsonl``, one per line::

    {"sha256": "<sha256 of the UTF-8 text>", "from": "suggestion", "to": "complaint", "reason": "tie-break 1: ..."}

The texts themselves are never copied into the project. Overrides apply to the
training and the held-out split alike; ``pot eval`` scores the held-out split both
with the source's labels and with these.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .base import LABELS
from .datasets import Example, data_dir

__all__ = ["Override", "apply_overrides", "load_overrides", "relabel_dir", "text_key"]


@dataclass(frozen=True)
class Override:
    source: str
    sha256: str
    from_label: str
    to_label: str
    reason: str


def text_key(text: str) -> str:
    """The key an override is stored under: sha256 of the exact UTF-8 text.

    >>> text_key("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def relabel_dir() -> Path:
    return data_dir("relabel")


def load_overrides(directory: Path | None = None) -> dict[tuple[str, str], Override]:
    """``(source, sha256) -> Override`` for every file in ``directory`` (default: the shipped folder)."""
    directory = directory or relabel_dir()
    out: dict[tuple[str, str], Override] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            obj = json.loads(line)
            if obj["to"] not in LABELS or obj["from"] not in LABELS:
                raise ValueError(f"{path}:{number}: labels must be among {LABELS}")
            out[(path.stem, obj["sha256"])] = Override(path.stem, obj["sha256"], obj["from"], obj["to"], obj.get("reason", ""))
    return out


def apply_overrides(
    examples: Iterable[Example], overrides: dict[tuple[str, str], Override] | None = None
) -> tuple[list[Example], dict[str, int]]:
    """The examples with the guide's labels, and how many changed per source.

    An override applies only while the source still gives the label it was decided
    against (``from``); a source that has since changed its label is left alone.
    """
    overrides = load_overrides() if overrides is None else overrides
    out: list[Example] = []
    changed: dict[str, int] = {}
    for e in examples:
        o = overrides.get((e.source, text_key(e.text)))
        if o is not None and o.from_label == e.label and o.to_label != e.label:
            out.append(replace(e, label=o.to_label))
            changed[e.source] = changed.get(e.source, 0) + 1
        else:
            out.append(e)
    return out, changed
