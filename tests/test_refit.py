"""The head refit (classifiers/refit.py): what it fits, and which setting it may choose."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.base import LABELS
from classifiers.datasets import Example
from classifiers.refit import choose_setting, fit_linear_head
from classifiers.tuning import class_table, row_weights


def posts(n: int, labels: list[str], source: str, seed: int) -> tuple[np.ndarray, list[Example]]:
    """Unit vectors clustered by label (one direction per label), with noise."""
    rng = np.random.default_rng(seed)
    rows = [Example(f"{source} {i}", labels[i % len(labels)], "en", source) for i in range(n)]
    x = np.stack([np.eye(8)[LABELS.index(e.label)] + rng.normal(0, 0.3, 8) for e in rows])
    return x / np.linalg.norm(x, axis=1, keepdims=True), rows


def test_the_refitted_head_predicts_its_labels_and_never_an_absent_one():
    x, rows = posts(300, ["praise", "complaint", "question"], "world", 0)
    head = fit_linear_head(x, rows, real_weight=1.0, c=10.0)
    predicted = [head.labels[i] for i in head.predict_proba(x).argmax(1)]
    assert np.mean([p == e.label for p, e in zip(predicted, rows)]) > 0.95
    assert head.labels == LABELS
    assert not {"suggestion", "other"} & set(predicted)


def test_two_labels_make_a_head_that_agrees_with_a_binary_fit():
    x, rows = posts(200, ["praise", "complaint"], "world", 1)
    head = fit_linear_head(x, rows, real_weight=1.0, c=10.0)
    predicted = [head.labels[i] for i in head.predict_proba(x).argmax(1)]
    assert np.mean([p == e.label for p, e in zip(predicted, rows)]) > 0.95


def test_labels_weigh_the_same_within_each_group_and_real_posts_by_their_weight():
    rows = [Example(f"o{i}", "praise" if i < 30 else "complaint", "en", "world") for i in range(40)]
    rows += [Example(f"r{i}", "other" if i < 90 else "complaint", "en", "polemo") for i in range(100)]
    w = np.array(row_weights(rows, class_table(rows, True), 0.5))
    own, real = w[:40], w[40:]
    assert own[:30].sum() == pytest.approx(own[30:].sum())
    assert real[:90].sum() == pytest.approx(real[90:].sum())
    assert real.sum() == pytest.approx(0.5 * 100) and own.sum() == pytest.approx(40)


SEARCH = [
    {"real_weight": 2.0, "C": 3.0, "val_own_f1": 0.9496, "val_real_f1": 0.7024, "val_score": 0.8260},
    {"real_weight": 0.5, "C": 10.0, "val_own_f1": 0.9585, "val_real_f1": 0.6910, "val_score": 0.8247},
    {"real_weight": 0.25, "C": 3.0, "val_own_f1": 0.9661, "val_real_f1": 0.6659, "val_score": 0.8160},
]


def test_without_a_floor_the_best_validation_score_is_chosen():
    assert choose_setting(SEARCH, None)["real_weight"] == 2.0


def test_with_a_floor_no_setting_below_it_is_chosen():
    chosen = choose_setting(SEARCH, 0.9545)
    assert chosen["val_own_f1"] >= 0.9545
    assert chosen["real_weight"] == 0.5  # the best real score of the two eligible


def test_a_floor_nothing_reaches_is_an_error_naming_the_best():
    with pytest.raises(ValueError, match="0.9661"):
        choose_setting(SEARCH, 0.99)

