"""The shipped training posts are what the training code and the docs say they are.

A writer's file that carries the wrong language code, misses a label, or repeats a held-out post would not
fail training; it would quietly skew the per-language figures or leak a test post into training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.base import LABELS
from classifiers.corpus import build_corpus
from classifiers.datasets import brand_split, data_dir, independent_set, read_jsonl, unseen_languages_set, world_set

LANGUAGES = {"cs", "de", "el", "en", "es", "fr", "he", "it", "nl", "pl", "pt", "ro"}
STYLES = {"review", "comment", "tweet", "forum", "other-style"}
WRITERS = sorted(p for p in data_dir("world").iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_there_are_several_writers() -> None:
    assert len(WRITERS) >= 4


@pytest.mark.parametrize("writer", WRITERS, ids=lambda p: p.name)
def test_each_writer_covers_every_language_and_label(writer: Path) -> None:
    files = {p.name.split(".")[0] for p in writer.glob("*.jsonl")}
    assert files == LANGUAGES
    for path in writer.glob("*.jsonl"):
        rows = _rows(path)
        lang = path.name.split(".")[0]
        assert {r["lang"] for r in rows} == {lang}, path
        assert {r.get("writer", writer.name) for r in rows} == {writer.name}, path
        assert {r["style"] for r in rows} <= STYLES, path
        assert {r["label"] for r in rows} == set(LABELS), path


def test_no_world_post_reaches_training_as_a_held_out_post() -> None:
    """Short posts ("Fatal.", "Pessimo.") are written by several hands; training must still drop them."""
    held_out = {e.text.strip().casefold() for e in independent_set()}
    world = {e.text.strip().casefold() for e in world_set()}
    assert held_out & world, "no shared post left: this test no longer shows the drop"
    corpus = build_corpus(real_dir=None)
    trained = {e.text.strip().casefold() for e in corpus.train + corpus.validation}
    assert not held_out & trained


def test_the_unseen_languages_set_is_in_languages_no_training_row_is_written_in() -> None:
    """Its figure stands for "a language nobody wrote examples for" only while no training row shares a language."""
    for path in sorted(data_dir("unseen").glob("*.jsonl")):
        assert {e.lang for e in read_jsonl(path)} == {path.stem}, path
    unseen = unseen_languages_set()
    languages = {e.lang for e in unseen}
    assert len(languages) >= 6 and not languages & LANGUAGES
    for lang in languages:
        assert {e.label for e in unseen if e.lang == lang} == set(LABELS), lang
    assert not languages & {e.lang for e in world_set() + brand_split("train")}
    assert build_corpus(real_dir=None).tests["unseen_languages"] == unseen
