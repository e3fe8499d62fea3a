"""The classifier contract as an executable check, like scikit-learn's ``check_estimator``.

The monitor trusts every classifier it loads through the registry: it routes on
``label``, shows ``confidence`` to people and batches posts as traffic allows.
A plugin author runs :func:`check_classifier` in their own tests to learn,
before the monitor does, whether their model keeps that contract::

    from classifiers.checks import check_classifier

    def test_my_model_keeps_the_contract():
        check_classifier(MyClassifier())

A broken promise raises :class:`ContractViolation` (an ``AssertionError``, so
pytest shows it as a failure) naming the check and the offending text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .base import LABELS, Classifier, Prediction

TOLERANCE = 1e-4
"""How far batched and one-at-a-time scores may differ (padding changes float sums a little)."""

SUM_TOLERANCE = 1e-3
"""How far the five scores may sum from 1 (classifiers may round each score to 4 decimals)."""

PROBE_TEXTS: tuple[str, ...] = (
    "My order arrived broken and nobody answers my emails.",
    "Thank you so much, the new update is fantastic!",
    "Do you ship to Canada?",
    "It would be great if the app had a dark mode.",
    "Zásilka dorazila se zpožděním a krabice byla poškozená.",
    "המשלוח הגיע באיחור של יומיים",
    "Η παράδοση έφτασε με δύο μέρες καθυστέρηση",
    "这个产品非常好，我很喜欢",
    "Доставка опоздала на неделю",
    "🔥🔥🔥 😍",
    "",
    " ",
    "ok",
    "a" * 3000,
)
"""Texts the monitor meets: several scripts, emoji, empty and whitespace-only posts, a very long one."""


class ContractViolation(AssertionError):
    """A classifier broke a promise of :class:`classifiers.base.Classifier`."""


def _require(condition: bool, check: str, detail: str) -> None:
    if not condition:
        raise ContractViolation(f"{check}: {detail}")


def check_load(clf: Classifier) -> Classifier:
    """``load()`` returns the instance itself (the registry and the CLI chain ``create(name).load()``)."""
    loaded = clf.load()
    _require(loaded is clf, "load_returns_self", f"load() returned {loaded!r}, not the classifier itself")
    return clf


def check_prediction(prediction: object, text: str) -> None:
    """One prediction is well formed: a known label, five scores summing to 1, confidence the top score."""
    where = f"for text {text[:40]!r}"
    _require(isinstance(prediction, Prediction), "prediction_type", f"got {type(prediction).__name__} {where}")
    assert isinstance(prediction, Prediction)
    _require(prediction.label in LABELS, "label_known", f"label {prediction.label!r} is not one of {LABELS} {where}")
    scores = prediction.scores
    _require(set(scores) == set(LABELS), "scores_cover_labels", f"score keys {sorted(scores)} {where}")
    values = [float(v) for v in scores.values()]
    _require(all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values), "scores_are_probabilities", f"{scores} {where}")
    _require(abs(sum(values) - 1.0) <= SUM_TOLERANCE, "scores_sum_to_one", f"they sum to {sum(values):.6f} {where}")
    top = max(values)
    _require(
        abs(prediction.confidence - top) <= TOLERANCE,
        "confidence_is_top_score",
        f"confidence {prediction.confidence} but the top score is {top} {where}",
    )
    _require(
        abs(scores[prediction.label] - top) <= TOLERANCE,
        "label_has_top_score",
        f"label {prediction.label!r} scores {scores[prediction.label]} but the top score is {top} {where}",
    )


def check_predict(clf: Classifier, texts: Sequence[str] = PROBE_TEXTS) -> list[Prediction]:
    """``predict`` on a loaded classifier: empty in, empty out; one well-formed prediction per text,
    none of the probe texts crashes it. Returns the predictions."""
    empty = clf.predict([])
    _require(empty == [], "empty_batch", f"predict([]) returned {empty!r}")
    texts = list(texts)
    try:
        batch = clf.predict(texts)
    except Exception as exc:  # noqa: BLE001 - the report names the failure, the traceback stays attached
        raise ContractViolation(f"batch_does_not_crash: predict raised {exc!r} on the probe texts") from exc
    _require(isinstance(batch, list), "returns_list", f"predict returned {type(batch).__name__}")
    _require(len(batch) == len(texts), "one_per_text", f"{len(batch)} predictions for {len(texts)} texts")
    for text, prediction in zip(texts, batch):
        check_prediction(prediction, text)
    return batch


def check_batch_invariance(clf: Classifier, texts: Sequence[str] = PROBE_TEXTS) -> None:
    """Each text scores the same in a batch as alone, so predictions come back in order and do not
    depend on which other posts the monitor's micro-batching put beside them."""
    texts = list(texts)
    batch = clf.predict(texts)
    _require(len(batch) == len(texts), "one_per_text", f"{len(batch)} predictions for {len(texts)} texts")
    for text, in_batch in zip(texts, batch):
        try:
            alone = clf.predict([text])
        except Exception as exc:  # noqa: BLE001
            raise ContractViolation(f"single_does_not_crash: predict raised {exc!r} on {text[:40]!r}") from exc
        _require(len(alone) == 1, "one_per_text", f"{len(alone)} predictions for one text {text[:40]!r}")
        worst = max(abs(float(in_batch.scores[k]) - float(alone[0].scores[k])) for k in LABELS)
        _require(
            worst <= TOLERANCE,
            "batch_equals_single",
            f"scores of {text[:40]!r} differ by {worst:.2e} between a batch and alone (labels: "
            f"{in_batch.label} in the batch, {alone[0].label} alone)",
        )


def check_identity(clf: Classifier) -> None:
    """``name`` and ``version`` are non-empty strings: alerts and metrics are labelled with them."""
    for attr in ("name", "version"):
        value = getattr(clf, attr, None)
        _require(isinstance(value, str) and bool(value.strip()), f"{attr}_is_set", f"{attr} is {value!r}")


def check_classifier(clf: Classifier, *, load: bool = True, texts: Sequence[str] = PROBE_TEXTS) -> None:
    """Run every check on ``clf``; pass ``load=False`` for an instance that is already loaded
    (then :func:`check_load` is the caller's to run, e.g. where a module-scoped fixture loads it once)."""
    _require(isinstance(clf, Classifier), "is_classifier", f"{type(clf).__name__} does not subclass Classifier")
    if load:
        check_load(clf)
    check_identity(clf)
    check_predict(clf, texts)
    check_batch_invariance(clf, texts)
