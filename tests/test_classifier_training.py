"""Training end to end on a tiny BERT: the corpus, both fine-tuning modes, the card, and a head that loads.

Also the pieces training relies on: near-duplicate detection, the guide's label overrides, bias choice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from classifiers.base import LABELS
from classifiers.corpus import GUIDE_SUFFIX, build_corpus
from classifiers.datasets import Example, default_real_dir, is_heldout, read_jsonl
from classifiers.head import LinearHead
from classifiers.neardup import near_duplicates, normalise
from classifiers.relabel import apply_overrides, load_overrides, text_key
from classifiers.tuning import choose_biases

from .tiny_hf import build_tiny_model

POSTS = {
    "complaint": ["my order arrived broken", "why is my order late again", "terrible support never help"],
    "praise": ["great app love it", "awesome support thanks", "love it great"],
    "question": ["do you ship to where", "how do you refund", "where is support"],
    "suggestion": ["would be nice if dark mode", "please add dark mode", "please add refund"],
    "other": ["the news this", "that was an this", "a an and this"],
}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for writer, suffix in (("ana", ""), ("bo", " !")):
        for lang in ("en", "ro"):
            rows = [{"text": f"{t} {lang}{suffix} {i}", "label": label, "lang": lang, "writer": writer}
                    for label, texts in POSTS.items() for i, t in enumerate(texts)]
            write_jsonl(root / "world" / writer / f"{lang}.jsonl", rows)
    write_jsonl(root / "independent" / "en.jsonl",
                [{"text": f"{t} held", "label": label, "lang": "en"} for label, texts in POSTS.items() for t in texts[:1]])
    return root


@pytest.fixture
def real_dir(tmp_path: Path) -> Path:
    rows = [{"text": f"{t} real {i}", "label": label, "lang": "en"}
            for label, texts in POSTS.items() for t in texts for i in range(4)]
    return write_jsonl(tmp_path / "real" / "forum_en.jsonl", rows).parent


def test_normalise_and_near_duplicates() -> None:
    assert normalise("Ça  marche PAS!!!") == "ca marche pas"
    train = ["The parcel never arrived, help!", "the parcel never arrived help", "Completely different words here"]
    found = near_duplicates(train, {"test": ["THE PARCEL NEVER ARRIVED — help"]})
    assert sorted(m.train_index for m in found) == [0, 1]
    assert all(m.test_set == "test" and m.similarity >= 0.8 for m in found)


def test_overrides_apply_only_against_the_label_they_were_decided_on(tmp_path: Path) -> None:
    text = "please add dark mode, the app crashes"
    write_jsonl(tmp_path / "forum_en.jsonl", [{"sha256": text_key(text), "from": "suggestion", "to": "complaint", "reason": "tie-break 1"}])
    overrides = load_overrides(tmp_path)
    rows = [Example(text, "suggestion", "en", "forum_en"), Example(text, "question", "en", "forum_en"),
            Example(text, "suggestion", "en", "other_source")]
    out, changed = apply_overrides(rows, overrides)
    assert [e.label for e in out] == ["complaint", "question", "suggestion"]
    assert changed == {"forum_en": 1}


def test_every_shipped_override_names_a_real_post_with_the_label_it_was_decided_against() -> None:
    """An override that matches no post (a text edited upstream, a wrong hash) would silently change nothing."""
    real = default_real_dir()
    if real is None:
        pytest.skip("../shared/data/real is not beside this checkout")
    overrides = load_overrides()
    posts = [e for path in sorted(real.glob("*.jsonl")) for e in read_jsonl(path, source=path.stem)]
    _, changed = apply_overrides(posts, overrides)
    assert changed == dict(Counter(source for source, _ in overrides))


def test_corpus_keeps_held_out_sets_apart_and_drops_their_near_duplicates(data_root: Path, real_dir: Path) -> None:
    corpus = build_corpus(real_dir, data_root)
    assert {"brand_posts", "independent", "forum_en", "forum_en" + GUIDE_SUFFIX} <= set(corpus.tests)
    held = {e.text for rows in corpus.tests.values() for e in rows}
    kept = corpus.train + corpus.validation
    assert not held & {e.text for e in kept}
    assert sum(corpus.dropped.values()) > 0  # world posts differing from independent ones by a word suffix or "!"
    assert all(not is_heldout(e.text) for e in kept if e.source == "forum_en")
    loo = build_corpus(real_dir, data_root, exclude_langs=frozenset({"ro"}))
    assert all(e.lang != "ro" for e in loo.train + loo.validation)


def test_biases_are_folded_into_the_intercept() -> None:
    rng = np.random.default_rng(0)
    labels = [LABELS[i % 5] for i in range(200)]
    x = np.eye(5)[[LABELS.index(label) for label in labels]] + rng.normal(0, 0.3, (200, 5))
    x[:40, 1] -= 0.6  # complaints under-scored: a positive complaint bias should help
    head = LinearHead(LABELS, np.eye(5, dtype=np.float32) * 4, np.zeros(5, np.float32))
    validation = [Example(f"t{i}", label, "en", "world") for i, label in enumerate(labels)]
    found = choose_biases(head, x, validation)
    assert found["validation_after"]["val_score"] >= found["validation_before"]["val_score"]
    assert head.intercept[LABELS.index("complaint")] == pytest.approx(found["complaint_bias"])
    assert head.temperature == pytest.approx(found["temperature"], abs=1e-3)


@pytest.mark.parametrize("mode", ["full", "lora"])
def test_finetune_writes_a_head_that_loads_and_keeps_the_contract(
    mode: str, tmp_path: Path, data_root: Path, real_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "lora":
        pytest.importorskip("peft")
    import classifiers.corpus
    from classifiers.datasets import brand_split

    few = {split: brand_split(split)[::40] for split in ("train", "test")}  # the project's posts, thinned for speed
    monkeypatch.setattr(classifiers.corpus, "brand_split", lambda split: few[split])
    from classifiers.checks import check_classifier
    from classifiers.e5_head import E5HeadClassifier
    from classifiers.finetune import FinetuneConfig, finetune

    model = build_tiny_model(tmp_path / "tiny")
    out = tmp_path / "head"
    config = FinetuneConfig(out_dir=out, real_dir=real_dir, mode=mode, rank=2, alpha=4, targets="all", train_layers=1,
                            epochs=2, batch_size=8, real_per_epoch=20, world_root=data_root, encoder=str(model),
                            version=f"tiny-{mode}", bf16=False, lr=1e-3 if mode == "lora" else 1e-4)
    card = finetune(config)
    assert (out / ("adapter" if mode == "lora" else "encoder_delta.safetensors")).exists()
    assert card["version"] == f"tiny-{mode}" and card["best_epoch"] in (1, 2)
    assert {"independent", "forum_en", "forum_en" + GUIDE_SUFFIX} <= set(card["scores"])
    assert "## Held-out scores" in (out / "card.md").read_text()
    clf = E5HeadClassifier(head_dir=out, encoder=str(model)).load()
    assert clf.version == f"tiny-{mode}"
    check_classifier(clf, load=False)
