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
    proba = head.predict_proba(x)
    predicted = [head.labels[i] for i in proba.argmax(1)]
    assert np.mean([p == e.label for p, e in zip(predicted, rows)]) > 0.95
    assert head.labels == LABELS
    absent = [LABELS.index("suggestion"), LABELS.index("other")]
    assert proba[:, absent].max() < 1e-6
    head.intercept[LABELS.index("other")] += 3.0  # an `other` bias, as choose_biases may add, still finds nothing
    assert "other" not in {head.labels[i] for i in head.predict_proba(x).argmax(1)}


def test_two_labels_make_the_probabilities_of_a_binary_fit():
    from sklearn.linear_model import LogisticRegression

    x, rows = posts(200, ["praise", "complaint", "complaint"], "world", 1)
    head = fit_linear_head(x, rows, real_weight=1.0, c=10.0)
    y = np.array([LABELS.index(e.label) for e in rows])
    weights = np.array(row_weights(rows, class_table(rows, True), 1.0))
    reference = LogisticRegression(C=10.0, max_iter=5000).fit(x, y, sample_weight=weights)
    mine = head.predict_proba(x)[:, reference.classes_]
    np.testing.assert_allclose(mine, reference.predict_proba(x), atol=1e-5)


def test_a_rare_label_is_not_outvoted():
    """90 praise and 10 complaints in overlapping clusters: balanced, the complaints are mostly found."""
    rng = np.random.default_rng(5)
    rows = [Example(f"p{i}", "praise", "en", "world") for i in range(90)] + [Example(f"c{i}", "complaint", "en", "world") for i in range(10)]
    x = np.stack([np.eye(8)[LABELS.index(e.label)] + rng.normal(0, 0.6, 8) for e in rows])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    head = fit_linear_head(x, rows, real_weight=1.0, c=1.0)
    found = head.predict_proba(x[90:]).argmax(1) == LABELS.index("complaint")
    assert found.mean() >= 0.7


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



def test_biases_chosen_under_a_floor_keep_the_own_posts():
    """A complaint bias that rescues the real posts' complaints costs the project's praise: without a floor it is
    taken, with the own posts' floor it is not."""
    from classifiers.head import LinearHead
    from classifiers.tuning import choose_biases

    def row(praise: float, complaint: float) -> np.ndarray:
        v = np.zeros(len(LABELS))
        v[LABELS.index("praise")], v[LABELS.index("complaint")] = praise, complaint
        return v

    own = [(Example(f"o{i}", "praise", "en", "world"), row(1.0, 0.7)) for i in range(10)]
    own += [(Example(f"oc{i}", "complaint", "en", "world"), row(0.0, 1.0)) for i in range(10)]
    real = [(Example(f"r{i}", "complaint", "en", "polemo"), row(1.0, 0.6)) for i in range(20)]
    real += [(Example(f"rp{i}", "praise", "en", "polemo"), row(1.0, 0.0)) for i in range(10)]
    validation = [e for e, _ in own + real]
    x = np.stack([v for _, v in own + real])

    def head() -> LinearHead:
        return LinearHead(LABELS, np.eye(len(LABELS), dtype=np.float32), np.zeros(len(LABELS), np.float32))

    free = choose_biases(head(), x, validation)
    assert free["complaint_bias"] > 0 and free["validation_after"]["val_own_f1"] < 1.0
    kept = choose_biases(head(), x, validation, own_floor=1.0)
    assert kept["validation_after"]["val_own_f1"] == 1.0


def test_a_refit_into_a_folder_with_files_is_refused(tmp_path):
    """Files left in the folder (an older weight delta, say) would load with the new head."""
    import json

    from classifiers.refit import refit

    head, out = tmp_path / "head", tmp_path / "out"
    head.mkdir()
    (head / "card.json").write_text(json.dumps({"encoder": "intfloat/multilingual-e5-small", "config": {}}))
    out.mkdir()
    (out / "encoder_delta.safetensors").write_bytes(b"old")
    with pytest.raises(ValueError, match="not empty"):
        refit(head, out, "v", None)


def test_a_refit_copies_the_encoder_changes_and_nothing_else(tmp_path):
    from classifiers.adapters import DELTA_FILE, LAYERS_FILE, copy_encoder_changes

    head, out = tmp_path / "head", tmp_path / "out"
    (head / "adapter").mkdir(parents=True)
    for name in ("adapter/adapter_config.json", DELTA_FILE, LAYERS_FILE, "head.npz", "card.json", "card.md"):
        (head / name).write_text(name)
    out.mkdir()
    copy_encoder_changes(head, out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(
        ["adapter/adapter_config.json", DELTA_FILE, LAYERS_FILE])
