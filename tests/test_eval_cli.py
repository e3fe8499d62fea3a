"""``pot eval``: the numbers it reports are the right ones, for files and for the default held-out sets,
and the JSON report and confusion picture land where asked. Models here are tiny (no real weights)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from classifiers import LABELS, Classifier, Prediction
from classifiers.datasets import brand_split, independent_set, is_heldout, unseen_languages_set
from classifiers.eval_cli import evaluate_sets, file_sets, load_sets, plot_confusions, print_report, sample
from streams.cli import cli

from .tiny_hf import build_tiny_model

TINY_MAP = {"NEG": "complaint", "POS": "praise", "ASK": "question", "IDEA": "suggestion"}


class LookupClassifier(Classifier):
    """Answers from a table, so that every score of the report is known in advance."""

    name = "lookup"
    version = "t1"

    def __init__(self, answers: dict[str, tuple[str, float]]) -> None:
        self.answers = answers

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            label, confidence = self.answers[text]
            rest = (1 - confidence) / (len(LABELS) - 1)
            out.append(Prediction(label, confidence, {k: confidence if k == label else rest for k in LABELS}))
        return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [  # text, true label, lang, predicted label, confidence
    ("parcel lost again", "complaint", "en", "complaint", 0.85),
    ("app crashes", "complaint", "en", "question", 0.65),
    ("do you open sundays?", "question", "en", "question", 0.75),
    ("merci beaucoup !", "praise", "fr", "praise", 0.95),
    ("où est ma commande ?", "question", "fr", "complaint", 0.45),
    ("super service", "praise", "fr", "praise", 0.55),
]


def test_the_report_has_the_scores_of_the_predictions(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mixed.jsonl", [{"text": t, "label": y, "lang": l} for t, y, l, _, _ in ROWS])
    clf = LookupClassifier({t: (p, c) for t, _, _, p, c in ROWS})
    result = evaluate_sets(clf, file_sets([data]))
    s = result["sets"]["mixed"]
    assert result["classifier"] == {"name": "lookup", "version": "t1"}
    assert s["n"] == 6 and s["labels"] == ["praise", "complaint", "question"]
    assert s["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert s["per_label"]["complaint"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "n": 2}
    assert s["per_label"]["praise"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "n": 2}
    assert s["macro_f1"] == pytest.approx((1.0 + 0.5 + 0.5) / 3, abs=1e-4)
    assert s["per_language"] == {"en": {"n": 3, "macro_f1": pytest.approx((2 / 3 + 2 / 3) / 3, abs=1e-4)},
                                 "fr": {"n": 3, "macro_f1": pytest.approx((1.0 + 0 + 0) / 3, abs=1e-4)}}
    # ECE over 10 bins: each prediction falls in its own bin here, so it is the mean |correct - confidence|.
    correct = np.array([1, 0, 1, 1, 0, 1])
    confidence = np.array([c for *_, c in ROWS])
    assert s["ece"] == pytest.approx(float(np.mean(np.abs(correct - confidence))), abs=1e-4)
    matrix = dict(zip(s["confusion"]["rows_true_cols_pred"], s["confusion"]["matrix"]))
    assert matrix["complaint"] == [0, 1, 1] and matrix["question"] == [0, 1, 1]


def test_files_without_languages_get_no_language_table(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "plain.jsonl", [{"text": t, "label": y} for t, y, *_ in ROWS])
    result = evaluate_sets(LookupClassifier({t: (p, c) for t, _, _, p, c in ROWS}), file_sets([data]))
    assert "per_language" not in result["sets"]["plain"]


def test_the_report_names_the_encoder_runtime_it_ran_on(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "plain.jsonl", [{"text": t, "label": y} for t, y, *_ in ROWS])
    clf = LookupClassifier({t: (p, c) for t, _, _, p, c in ROWS})
    clf.runtime_ = "openvino-bf16"  # what E5HeadClassifier.load() sets: bf16 and fp32 may differ on a post
    result = evaluate_sets(clf, file_sets([data]))
    assert result["classifier"] == {"name": "lookup", "version": "t1", "runtime": "openvino-bf16"}
    console = Console(record=True, width=200)
    print_report(result, console)
    assert "lookup t1 on openvino-bf16" in console.export_text()


def own_set_names() -> list[str]:
    """The project's own held-out sets, in the order `pot eval` shows them (the data folders may be absent)."""
    return ["brand_posts"] + (["independent"] if independent_set() else []) + (["unseen_languages"] if unseen_languages_set() else [])


def test_default_sets_are_the_held_out_splits_one_per_source(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    rows = [{"text": f"post number {i} about the app", "label": LABELS[i % 5], "lang": "en"} for i in range(200)]
    write_jsonl(real / "forum_en.jsonl", rows[:100])
    write_jsonl(real / "reviews_en.jsonl", rows[100:])
    sets = load_sets([], real)
    own = own_set_names()
    assert [s.name for s in sets] == own + ["forum_en", "forum_en@guide", "reviews_en", "reviews_en@guide"]
    assert [e.text for e in sets[0].examples] == [e.text for e in brand_split("test")]
    real_sets = sets[len(own):]
    for s, source_rows in zip(real_sets, (rows[:100], rows[:100], rows[100:], rows[100:])):
        expected = [r["text"] for r in source_rows if is_heldout(r["text"])]
        assert 0 < len(expected) < len(source_rows)
        assert [e.text for e in s.examples] == expected
    assert [s.name for s in load_sets([], None)] == own


def test_limit_takes_the_same_sample_whatever_the_file_order() -> None:
    examples = brand_split("test")
    first = sample(examples, 25)
    assert len(first) == 25
    assert {e.text for e in first} == {e.text for e in sample(examples[::-1], 25)}
    assert len({e.lang for e in first}) > 3  # not the first file's posts (the files go language by language)
    assert sample(examples, 10_000) == examples


def test_the_confusion_picture_has_a_panel_per_set(tmp_path: Path) -> None:
    from PIL import Image

    data = write_jsonl(tmp_path / "a.jsonl", [{"text": t, "label": y} for t, y, *_ in ROWS])
    clf = LookupClassifier({t: (p, c) for t, _, _, p, c in ROWS})
    one = evaluate_sets(clf, file_sets([data]))
    four = {**one, "sets": {f"set{i}": one["sets"]["a"] for i in range(4)}}
    small = Image.open(plot_confusions(one, tmp_path / "one.png"))
    big = Image.open(plot_confusions(four, tmp_path / "four.png"))
    assert small.format == big.format == "PNG"
    assert big.width > 2 * small.width and big.height > 1.5 * small.height  # 3 columns, 2 rows
    assert np.asarray(small.convert("L")).std() > 10  # not a blank canvas


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


def run_pot(args: list[str], model: Path) -> tuple[int, str]:
    env = {"POT_HF_MODEL": str(model), "POT_HF_LABEL_MAP": json.dumps(TINY_MAP)}
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.output


def test_pot_eval_runs_a_registered_classifier_on_files(tmp_path: Path, tiny_model: Path) -> None:
    en = write_jsonl(tmp_path / "en.jsonl", [{"text": t, "label": y, "lang": l} for t, y, l, *_ in ROWS])
    other = write_jsonl(tmp_path / "more.jsonl", [{"text": "please add dark mode", "label": "suggestion"}] * 3)
    out_json, out_png = tmp_path / "out" / "report.json", tmp_path / "out" / "confusion.png"
    code, output = run_pot(["eval", str(en), str(other), "--classifier", "hf-sequence",
                            "--out-json", str(out_json), "--out-png", str(out_png)], tiny_model)
    assert code == 0, output
    report = json.loads(out_json.read_text())
    assert report["classifier"] == {"name": "hf-sequence", "version": str(tiny_model)}
    assert list(report["sets"]) == ["en", "more"]
    assert [report["sets"][k]["n"] for k in ("en", "more")] == [6, 3]
    for s in report["sets"].values():
        assert sum(map(sum, s["confusion"]["matrix"])) == s["n"]
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for heading in ("en: per label", "en: per language", "more: per label", "macro-F1"):
        assert heading in output


def test_pot_eval_defaults_to_the_held_out_sets(tmp_path: Path, tiny_model: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    write_jsonl(real / "tweets_en.jsonl", [{"text": f"tweet {i} about news", "label": "other", "lang": "en"} for i in range(60)])
    out_json = tmp_path / "r.json"
    code, output = run_pot(["eval", "--classifier", "hf-sequence", "--real-dir", str(real), "--limit", "8",
                            "--out-json", str(out_json), "--out-png", str(tmp_path / "c.png")], tiny_model)
    assert code == 0, output
    sets = json.loads(out_json.read_text())["sets"]
    assert list(sets) == own_set_names() + ["tweets_en", "tweets_en@guide"]
    assert sets["brand_posts"]["n"] == 8 and 0 < sets["tweets_en"]["n"] <= 8


def test_pot_eval_names_the_bad_line(tmp_path: Path, tiny_model: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "fine", "label": "praise"}, {"text": "meh", "label": "angry"}])
    code, output = run_pot(["eval", str(bad), "--classifier", "hf-sequence", "--out-json", str(tmp_path / "r.json")], tiny_model)
    assert code == 2
    flat = "".join(output.split())  # the terminal may wrap a long path
    assert "bad.jsonl:2" in flat and "angry" in flat
    assert not (tmp_path / "r.json").exists()


def test_pot_eval_refuses_a_file_without_posts_instead_of_an_empty_report(tmp_path: Path, tiny_model: Path) -> None:
    """A wrongly exported (empty) file used to give a report with no sets and exit 0: nothing said it scored nothing."""
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": "fine", "label": "praise"}])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    code, output = run_pot(["eval", str(good), str(empty), "--classifier", "hf-sequence", "--out-json", str(tmp_path / "r.json")], tiny_model)
    assert code == 2
    flat = "".join(output.split())
    assert "empty.jsonl" in flat and "nolabelledposts" in flat
    assert not (tmp_path / "r.json").exists()


def test_pot_eval_refuses_missing_files_and_unknown_classifiers(tmp_path: Path, tiny_model: Path) -> None:
    code, output = run_pot(["eval", str(tmp_path / "nope.jsonl")], tiny_model)
    assert code == 2 and "no such file" in output
    data = write_jsonl(tmp_path / "ok.jsonl", [{"text": "fine", "label": "praise"}])
    code, output = run_pot(["eval", str(data), "--classifier", "no-such-model"], tiny_model)
    assert code == 2 and "no-such-model" in output


def test_pot_classify_refuses_a_json_object_without_text_instead_of_labelling_its_raw_json(tmp_path: Path, monkeypatch) -> None:
    """A JSONL file whose posts carry ``body`` instead of ``text`` must not print a label for every line's JSON."""
    seen: list[str] = []

    class Recording(LookupClassifier):
        def predict(self, texts: Sequence[str]) -> list[Prediction]:
            seen.extend(texts)
            return [Prediction("other", 1.0, {k: float(k == "other") for k in LABELS}) for _ in texts]

    monkeypatch.setattr("streams.cli.model.load_classifier", lambda *args, **kwargs: Recording({}))
    data = tmp_path / "posts.jsonl"
    data.write_text(
        "\n".join([json.dumps({"text": "parcel late again"}), json.dumps({"body": "wrong field", "id": 7}), "a plain line",
                   "", json.dumps({"text": None}), "[1, 2]"]) + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["classify", str(data)])
    assert result.exit_code == 1
    assert seen == ["parcel late again", "a plain line", "[1, 2]"]
    assert [json.loads(line)["text"] for line in result.stdout.splitlines() if line.startswith("{")] == seen
    assert "line 2" in result.output and '"body"' in result.output and "line 5" in result.output
