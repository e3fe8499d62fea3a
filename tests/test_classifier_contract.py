"""Every registered classifier keeps the contract the monitor relies on (``classifiers.checks``).

The check itself is tested first, on small classifiers that each break one
promise: a check that cannot fail would prove nothing about the real models.
Then it runs on the ``hf-sequence`` adapter (a tiny checkpoint built here), on
an in-test plugin, and on the two classifiers that ship trained weights; those
load real encoders (~15 s each), once per module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from classifiers import LABELS, Classifier, Prediction, available, create
from classifiers.checks import (
    ContractViolation,
    check_batch_invariance,
    check_classifier,
    check_identity,
    check_load,
    check_predict,
)
from classifiers.datasets import brand_split
from classifiers.evaluate import report
from classifiers.hf_sequence import HFSequenceClassifier, fold_matrix

from .tiny_hf import TINY_LABELS, build_tiny_model

TINY_MAP = {"NEG": "complaint", "POS": "praise", "ASK": "question", "IDEA": "suggestion"}


class KeywordClassifier(Classifier):
    """A plugin as small as they come: keyword counts, smoothed into probabilities."""

    name = "keywords"
    version = "1"
    KEYWORDS = {
        "praise": ("thanks", "great", "love"),
        "complaint": ("broken", "late", "never"),
        "question": ("?", "how", "where"),
        "suggestion": ("please add", "would be nice"),
    }

    def scores(self, text: str) -> dict[str, float]:
        lower = text.lower()
        raw = {label: 1.0 + 3.0 * sum(k in lower for k in self.KEYWORDS.get(label, ())) for label in LABELS}
        total = sum(raw.values())
        return {label: v / total for label, v in raw.items()}

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            scores = self.scores(text)
            label = max(LABELS, key=scores.__getitem__)
            out.append(Prediction(label, scores[label], scores))
        return out


def test_keyword_plugin_keeps_the_contract() -> None:
    check_classifier(KeywordClassifier())


# --------------------------------------------------------------------------- the check can fail


class LoadReturnsNone(KeywordClassifier):
    def load(self):  # type: ignore[override]
        return None


class NoVersion(KeywordClassifier):
    version = ""


class EmptyInSomethingOut(KeywordClassifier):
    def predict(self, texts):  # type: ignore[override]
        return super().predict(list(texts) or ["placeholder"])


class SkipsBlankPosts(KeywordClassifier):
    def predict(self, texts):  # type: ignore[override]
        return super().predict([t for t in texts if t.strip()])


class CrashesOnEmoji(KeywordClassifier):
    """Like a tokenizer that assumes ASCII."""

    def predict(self, texts):  # type: ignore[override]
        return super().predict([t.encode("ascii").decode() for t in texts])


class InventsALabel(KeywordClassifier):
    def predict(self, texts):  # type: ignore[override]
        return [Prediction("angry" if p.label == "complaint" else p.label, p.confidence, p.scores) for p in super().predict(texts)]


class FourScores(KeywordClassifier):
    def predict(self, texts):  # type: ignore[override]
        return [Prediction(p.label, p.confidence, {k: v for k, v in p.scores.items() if k != "other"})
                for p in super().predict(texts)]


class HalvedScores(KeywordClassifier):
    """Scores that do not add up to 1, as sigmoid outputs or a forgotten normalisation give."""

    def predict(self, texts):  # type: ignore[override]
        return [Prediction(p.label, p.confidence / 2, {k: v / 2 for k, v in p.scores.items()}) for p in super().predict(texts)]


class OverConfident(KeywordClassifier):
    def predict(self, texts):  # type: ignore[override]
        return [Prediction(p.label, 1.0, p.scores) for p in super().predict(texts)]


class ReversedOrder(KeywordClassifier):
    def predict(self, texts):  # type: ignore[override]
        return super().predict(list(texts))[::-1]


class BatchDependent(KeywordClassifier):
    """Mixes in the batch mean, as a model normalising over the batch would."""

    def predict(self, texts):  # type: ignore[override]
        if not texts:
            return []
        single = super().predict(texts)
        mean = {k: float(np.mean([p.scores[k] for p in single])) for k in LABELS}
        out = []
        for p in single:
            scores = {k: 0.5 * p.scores[k] + 0.5 * mean[k] for k in LABELS}
            label = max(LABELS, key=scores.__getitem__)
            out.append(Prediction(label, scores[label], scores))
        return out


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (LoadReturnsNone, "load_returns_self"),
        (NoVersion, "version_is_set"),
        (EmptyInSomethingOut, "empty_batch"),
        (SkipsBlankPosts, "one_per_text"),
        (CrashesOnEmoji, "batch_does_not_crash"),
        (InventsALabel, "label_known"),
        (FourScores, "scores_cover_labels"),
        (HalvedScores, "scores_sum_to_one"),
        (OverConfident, "confidence_is_top_score"),
        (ReversedOrder, "batch_equals_single"),
        (BatchDependent, "batch_equals_single"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else v,
)
def test_the_check_names_the_broken_promise(broken: Callable[[], Classifier], check: str) -> None:
    with pytest.raises(ContractViolation, match=check):
        check_classifier(broken())


# --------------------------------------------------------------------------- hf-sequence


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


def raw_probabilities(folder: Path, texts: list[str]) -> np.ndarray:
    """The tiny model's own softmax, one text at a time, straight from transformers."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.inference_mode():
        return np.stack([torch.softmax(model(**tok(t, return_tensors="pt")).logits[0], -1).numpy() for t in texts])


def test_hf_sequence_keeps_the_contract(tiny_model: Path) -> None:
    check_classifier(HFSequenceClassifier(str(tiny_model), TINY_MAP, max_length=32, batch_size=4))


def test_hf_sequence_sums_mapped_labels_and_folds_the_rest_into_other(tiny_model: Path) -> None:
    texts = ["my order arrived broken", "thanks great love it", "do you ship to canada", "please add dark mode"]
    raw = raw_probabilities(tiny_model, texts)
    neg, pos, ask, idea, neutral = (TINY_LABELS.index(n) for n in ("NEG", "POS", "ASK", "IDEA", "NEUTRAL"))
    clf = HFSequenceClassifier(str(tiny_model), {"NEG": "complaint", "IDEA": "complaint", "POS": "praise"}).load()
    for p, row in zip(clf.predict(texts), raw):
        assert p.scores["complaint"] == pytest.approx(row[neg] + row[idea], abs=1e-5)
        assert p.scores["praise"] == pytest.approx(row[pos], abs=1e-5)
        assert p.scores["other"] == pytest.approx(row[ask] + row[neutral], abs=1e-5)  # unmapped
        assert p.scores["question"] == p.scores["suggestion"] == 0.0
        assert p.label == max(LABELS, key=p.scores.__getitem__)


def test_hf_sequence_is_configured_from_the_environment(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POT_HF_MODEL", str(tiny_model))
    monkeypatch.setenv("POT_HF_LABEL_MAP", json.dumps(TINY_MAP))
    assert "hf-sequence" in available()
    clf = check_load(create("hf-sequence"))
    assert clf.version == str(tiny_model)
    texts = ["why is my refund late again", "would be nice if the app had dark mode"]
    raw = raw_probabilities(tiny_model, texts)
    for p, row in zip(clf.predict(texts), raw):
        expected = {ours: float(row[TINY_LABELS.index(theirs)]) for theirs, ours in TINY_MAP.items()}
        assert p.scores == pytest.approx({**expected, "other": float(row[TINY_LABELS.index("NEUTRAL")])}, abs=1e-5)


def test_hf_sequence_without_a_map_keeps_labels_named_like_ours() -> None:
    fold = fold_matrix(["Praise", "COMPLAINT", "LABEL_2", "question"], None)
    assert [LABELS[j] for j in fold.argmax(1)] == ["praise", "complaint", "other", "question"]


@pytest.mark.parametrize(
    ("label_map", "message"),
    [({"NGE": "complaint"}, "NGE"), ({"NEG": "angry"}, "angry")],
)
def test_hf_sequence_rejects_a_label_map_that_does_not_fit(tiny_model: Path, label_map: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HFSequenceClassifier(str(tiny_model), label_map).load()


def test_hf_sequence_says_how_to_name_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POT_HF_MODEL", raising=False)
    with pytest.raises(ValueError, match="POT_HF_MODEL"):
        create("hf-sequence").load()


def test_hf_sequence_rejects_a_label_map_that_is_not_json(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POT_HF_LABEL_MAP", "NEG=complaint")
    with pytest.raises(ValueError, match="POT_HF_LABEL_MAP"):
        HFSequenceClassifier(str(tiny_model)).load()


# --------------------------------------------------------------------------- shipped weights

weights = pytest.mark.weights


@pytest.fixture(scope="module")
def e5_head() -> Classifier:
    return check_load(create("e5-head"))


@pytest.fixture(scope="module")
def minilm_head() -> Classifier:
    return check_load(create("minilm-head"))


@weights
def test_e5_head_predictions_keep_the_contract(e5_head: Classifier) -> None:
    check_identity(e5_head)
    check_predict(e5_head)


@weights
def test_e5_head_scores_a_post_the_same_in_any_batch(e5_head: Classifier) -> None:
    check_batch_invariance(e5_head)


@weights
def test_minilm_head_keeps_the_contract(minilm_head: Classifier) -> None:
    assert minilm_head.version == "minilm-v1"
    check_classifier(minilm_head, load=False)


@weights
def test_minilm_head_reads_the_held_out_english_posts(minilm_head: Classifier) -> None:
    """The shipped head, on the 40 English held-out brand posts it never saw (chance is 0.2 macro-F1)."""
    examples = [e for e in brand_split("test") if e.lang == "en"]
    predictions = minilm_head.predict([e.text for e in examples])
    scores = report([e.label for e in examples], [p.label for p in predictions],
                    np.array([p.confidence for p in predictions]), LABELS)
    assert scores["macro_f1"] >= 0.65, scores


@weights
def test_train_minilm_head_writes_a_head_the_classifier_loads(tmp_path: Path) -> None:
    from classifiers.minilm_head import MiniLMHeadClassifier, train_minilm_head

    no_real = tmp_path / "no-real-data"
    no_real.mkdir()
    card = train_minilm_head(tmp_path / "head", real_dir=no_real, version="minilm-test")
    assert card["train"]["brand_posts_en"] == 100 and card["train"]["real_en"] == {}
    assert json.loads((tmp_path / "head" / "card.json").read_text()) == card
    clf = MiniLMHeadClassifier(head_dir=tmp_path / "head").load()
    assert clf.version == "minilm-test"
    assert [p.label for p in clf.predict(["Do you deliver on Sundays?"])] == ["question"]
