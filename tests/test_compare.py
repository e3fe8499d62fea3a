"""`pot compare`: two eval reports paired post by post, a difference the sample of posts cannot explain is called."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from classifiers.base import LABELS, Classifier, Prediction
from classifiers.compare import compare_reports, paired_bootstrap
from classifiers.datasets import Example
from classifiers.eval_cli import EvalSet, evaluate_sets, write_json
from classifiers.evaluate import macro_f1
from streams.cli import cli


class Scripted(Classifier):
    """Says, for each post, what it was told to say: two of these are two heads with known mistakes."""

    name = "scripted"

    def __init__(self, version: str, answers: dict[str, str]) -> None:
        self.version, self.answers = version, answers

    def load(self) -> "Scripted":
        return self

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [Prediction(self.answers[t], 0.9, {label: 0.9 if label == self.answers[t] else 0.025 for label in LABELS}) for t in texts]


def noisy(gold: list[str], error_rate: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice([x for x in LABELS if x != g]) if rng.random() < error_rate else g for g in gold]


def gold_labels(n: int = 400) -> list[str]:
    rng = random.Random(1)
    return [rng.choice(LABELS) for _ in range(n)]


def test_the_full_sample_figure_is_pot_evals_macro_f1() -> None:
    gold = gold_labels()
    old, new = noisy(gold, 0.3, 2), noisy(gold, 0.25, 3)
    row = paired_bootstrap(gold, old, new, rounds=200)
    labels = sorted(set(gold))
    assert row["old"] == pytest.approx(macro_f1(gold, old, labels))
    assert row["new"] == pytest.approx(macro_f1(gold, new, labels))
    assert row["changed"] == sum(a != b for a, b in zip(old, new))


def test_a_clear_gain_is_called_better_and_a_coin_flip_is_not() -> None:
    gold = gold_labels()
    clear = paired_bootstrap(gold, noisy(gold, 0.30, 2), noisy(gold, 0.10, 3))
    assert clear["low"] > 0 and clear["p_new_better"] > 0.99
    # the same error rate, different mistakes: the interval must hold 0
    same = paired_bootstrap(gold, noisy(gold, 0.2, 4), noisy(gold, 0.2, 5))
    assert same["low"] < 0 < same["high"]
    alike = paired_bootstrap(gold, gold, gold)
    assert alike["diff"] == alike["low"] == alike["high"] == 0.0


def test_pot_compare_reads_two_eval_reports(tmp_path: Path) -> None:
    gold = gold_labels(300)
    texts = [f"post {i}" for i in range(len(gold))]
    sets = [EvalSet("independent", [Example(t, g, "en", "test") for t, g in zip(texts, gold)], "test")]
    reports = []
    for version, rate, seed in (("old", 0.35, 2), ("new", 0.10, 3), ("peer", 0.35, 9)):
        head = Scripted(version, dict(zip(texts, noisy(gold, rate, seed))))
        reports.append(write_json(evaluate_sets(head, sets), tmp_path / f"{version}.json"))
    report = json.loads(reports[0].read_text())
    assert "post 0" not in reports[0].read_text()  # posts are paired by a hash, their text is not in the report
    assert len(report["sets"]["independent"]["posts"]["id"]) == 300

    result = CliRunner().invoke(cli, ["compare", str(reports[0]), str(reports[1]), "--rounds", "500"])
    assert result.exit_code == 0, result.output
    assert "better on 1 sets, worse on 0, undecided on 0" in result.output
    rows = compare_reports(*[json.loads(p.read_text()) for p in reports[:2]], rounds=500)
    assert rows["independent"]["old"] == pytest.approx(report["sets"]["independent"]["macro_f1"], abs=1e-4)

    backwards = CliRunner().invoke(cli, ["compare", str(reports[1]), str(reports[0]), "--rounds", "500"])
    assert "better on 0 sets, worse on 1" in backwards.output
    # as good, other mistakes: a small difference either way is the sample's, not the head's
    peer = CliRunner().invoke(cli, ["compare", str(reports[0]), str(reports[2]), "--rounds", "500"])
    assert "better on 0 sets, worse on 0, undecided on 1" in peer.output


def test_reports_of_different_posts_are_refused(tmp_path: Path) -> None:
    gold = gold_labels(50)
    reports = []
    for version, offset in (("a", 0), ("b", 1)):
        texts = [f"post {i + offset}" for i in range(len(gold))]
        sets = [EvalSet("independent", [Example(t, g, "en", "test") for t, g in zip(texts, gold)], "test")]
        reports.append(write_json(evaluate_sets(Scripted(version, dict(zip(texts, gold))), sets), tmp_path / f"{version}.json"))
    result = CliRunner().invoke(cli, ["compare", *map(str, reports)])
    assert result.exit_code == 2
    assert "scored different posts" in result.output


def test_resampled_macro_f1_matches_the_plain_figure_on_every_resample() -> None:
    from classifiers.compare import resampled_macro_f1

    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    draws = rng.integers(0, 60, size=(20, 60))
    fast = resampled_macro_f1(gold, pred, 4, draws)
    for row, draw in zip(fast, draws):
        assert row == pytest.approx(macro_f1(gold[draw].tolist(), pred[draw].tolist(), [0, 1, 2, 3]))


def test_a_label_of_one_post_can_be_left_out_of_the_macro_f1() -> None:
    """One `other` post among 300 (as the guide reads the mini-bar sets) decides a quarter of the set's macro-F1."""
    gold = ["praise"] * 100 + ["complaint"] * 100 + ["suggestion"] * 99 + ["other"]
    old = list(gold)
    new = gold[:-1] + ["complaint"]
    every_label = paired_bootstrap(gold, old, new, rounds=200)
    assert every_label["diff"] < -0.2 and every_label["left_out"] == []
    supported = paired_bootstrap(gold, old, new, rounds=200, min_support=10)
    assert supported["left_out"] == ["other"]
    # the post still counts against the label it was called: complaint's precision falls by one post
    assert -0.01 < supported["diff"] < 0
    assert supported["old"] == pytest.approx(1.0)


def reports_for(tmp_path: Path, sets: dict[str, list[str]], mistakes: dict[str, dict[str, float]]) -> list[Path]:
    """Two eval reports (old, new) of scripted heads with the given error rate per set."""
    paths = []
    for k, version in enumerate(("old", "new")):
        eval_sets, answers = [], {}
        for s, (name, gold) in enumerate(sets.items()):
            texts = [f"{name} post {i}" for i in range(len(gold))]
            eval_sets.append(EvalSet(name, [Example(t, g, "en", "test") for t, g in zip(texts, gold)], "test"))
            answers.update(zip(texts, noisy(gold, mistakes[version][name], seed=10 * s + k)))
        paths.append(write_json(evaluate_sets(Scripted(version, answers), eval_sets), tmp_path / f"{version}.json"))
    return paths


def test_the_real_sources_mean_gets_its_own_interval(tmp_path: Path) -> None:
    """The ship rule reads the mean over the real sources, under their labels and the guide's: each gets a row."""
    gold = gold_labels(300)
    names = ["independent", "src_a", "src_a@guide", "src_b", "src_b@guide"]
    rates = {"old": {n: 0.3 for n in names}, "new": {**{n: 0.15 for n in names}, "independent": 0.3}}
    old, new = reports_for(tmp_path, {n: gold for n in names}, rates)
    rows = compare_reports(json.loads(old.read_text()), json.loads(new.read_text()), rounds=500)
    own, guided = rows["real sources, their labels (mean)"], rows["real sources, guide's labels (mean)"]
    assert own["sets"] == ["src_a", "src_b"] and guided["sets"] == ["src_a@guide", "src_b@guide"]
    assert own["old"] == pytest.approx((rows["src_a"]["old"] + rows["src_b"]["old"]) / 2)
    assert own["new"] == pytest.approx((rows["src_a"]["new"] + rows["src_b"]["new"]) / 2)
    assert own["verdict"] == guided["verdict"] == "better"
    # the mean of two sets is surer than either set alone
    assert own["high"] - own["low"] < min(rows[n]["high"] - rows[n]["low"] for n in ("src_a", "src_b"))

    result = CliRunner().invoke(cli, ["compare", str(old), str(new), "--rounds", "500"])
    assert result.exit_code == 0, result.output
    assert "better on 4 sets" in result.output
    assert "real sources, guide's labels (mean):" in result.output and ": better" in result.output
