"""The training corpus and every held-out set, assembled once with the same rules everywhere.

Held-out sets (never trained on, never used to choose a setting):

* ``brand_posts``: the project's old ``*_test.jsonl`` (same writer as its training files);
* ``independent``: written from LABELS.md by a writer who never saw the training files;
* ``unseen_languages``: written the same way in languages no training file is written in;
* ``<source>``: each real source's hash held-out split with the source's labels, and
  ``<source>@guide`` the same posts with the guide's labels (:mod:`classifiers.relabel`).

Training rows: the world posts, the old brand training posts and the real training
splits (guide's labels), minus every near-duplicate of any held-out post
(:mod:`classifiers.neardup`). A fixed share of the training rows, by text hash, is the
validation split that epochs, biases and the temperature are chosen on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .datasets import Example, brand_split, independent_set, real_split, unseen_languages_set, world_set
from .neardup import near_duplicates
from .relabel import apply_overrides, load_overrides

__all__ = ["Corpus", "GUIDE_SUFFIX", "build_corpus", "heldout_sets", "hash_unit"]

GUIDE_SUFFIX = "@guide"
VALIDATION_SHARE = 0.15


def hash_unit(text: str, salt: str) -> float:
    """A stable number in [0, 1) from the text: splits that do not depend on order or seed."""
    return int.from_bytes(hashlib.sha256((salt + text).encode("utf-8")).digest()[:4], "big") / 2**32


def heldout_sets(
    real_dir: Path | None, world_root: Path | None = None, with_source_labels: bool = True
) -> dict[str, list[Example]]:
    """Every held-out set by name, in the order ``pot eval`` shows them."""
    sets: dict[str, list[Example]] = {"brand_posts": brand_split("test")}
    independent = independent_set(world_root / "independent" if world_root else None)
    if independent:
        sets["independent"] = independent
    unseen = unseen_languages_set(world_root / "unseen" if world_root else None)
    if unseen:
        sets["unseen_languages"] = unseen
    real = real_split("test", real_dir)
    guided, _ = apply_overrides(real, load_overrides())
    for source in sorted({e.source for e in real}):
        if with_source_labels:
            sets[source] = [e for e in real if e.source == source]
        sets[source + GUIDE_SUFFIX] = [e for e in guided if e.source == source]
    return sets


@dataclass
class Corpus:
    train: list[Example]
    validation: list[Example]
    tests: dict[str, list[Example]]
    dropped: dict[str, int] = field(default_factory=dict)
    relabelled: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        count = lambda rows: {s: sum(e.source == s for e in rows) for s in sorted({e.source for e in rows})}  # noqa: E731
        return {
            "train": count(self.train),
            "validation": count(self.validation),
            "tests": {name: len(rows) for name, rows in self.tests.items()},
            "near_duplicates_dropped": self.dropped,
            "relabelled_train_rows": self.relabelled,
        }


def build_corpus(
    real_dir: Path | None,
    world_root: Path | None = None,
    exclude_langs: frozenset[str] = frozenset(),
    use_world: bool = True,
) -> Corpus:
    """Training and validation rows (deduplicated against every held-out set) and the held-out sets.

    ``exclude_langs`` drops those languages from training and validation (a
    leave-one-language-out run); ``world_root`` is the folder holding ``world/`` and
    ``independent/`` (default: the package's data folder).
    """
    tests = heldout_sets(real_dir, world_root)
    world = world_set(world_root / "world" if world_root else None) if use_world else []
    real, relabelled = apply_overrides(real_split("train", real_dir), load_overrides())
    rows = [e for e in world + brand_split("train") + real if e.lang not in exclude_langs]
    unique_tests = {name: [e.text for e in ex] for name, ex in tests.items() if not name.endswith(GUIDE_SUFFIX)}
    matches = near_duplicates([e.text for e in rows], unique_tests)
    drop = {m.train_index for m in matches}
    dropped: dict[str, int] = {}
    for m in matches:
        key = f"{rows[m.train_index].source} vs {m.test_set}"
        dropped[key] = dropped.get(key, 0) + 1
    kept = [e for i, e in enumerate(rows) if i not in drop]
    validation = [e for e in kept if hash_unit(e.text, "val:") < VALIDATION_SHARE]
    train = [e for e in kept if hash_unit(e.text, "val:") >= VALIDATION_SHARE]
    return Corpus(train, validation, tests, dropped, relabelled)
