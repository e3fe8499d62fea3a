"""``pot eval``: score any registered classifier on labelled posts, for people and for machines.

An engineer comparing models wants the same numbers the model card reports
(:func:`classifiers.evaluate.report`), on the same held-out sets, for any
classifier the registry can create: rich tables on the terminal, a JSON
report to diff or plot later, and a confusion-matrix picture that shows
*which* labels get mixed up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .base import LABELS, Classifier
from .datasets import Example, labels_of, read_jsonl
from .evaluate import report


@dataclass(frozen=True)
class EvalSet:
    """A named list of labelled posts; each set gets its own tables and its own entry in the report."""

    name: str
    examples: list[Example]
    origin: str


def default_sets(real_dir: Path | None, data_root: Path | None = None) -> list[EvalSet]:
    """The held-out sets the model cards use (:func:`classifiers.corpus.heldout_sets`): the project's old
    brand-post test split, the independent set, the unseen-languages set, then each real source's held-out
    split twice, with the source's labels and with the guide's (``<source>@guide``); real sets are absent
    without the shared data."""
    from .corpus import GUIDE_SUFFIX, heldout_sets

    origins = {
        "brand_posts": "classifiers/data/brand_posts/*_test.jsonl",
        "independent": "classifiers/data/independent/*.jsonl (never trained on)",
        "unseen_languages": "classifiers/data/unseen/*.jsonl (languages no training file is written in; never trained on)",
    }
    sets = []
    for name, examples in heldout_sets(real_dir, data_root).items():
        source = name.removesuffix(GUIDE_SUFFIX)
        origin = origins.get(name) or f"{real_dir}/{source}.jsonl (held-out split" + (
            ", labels read by the guide: classifiers/data/relabel)" if name.endswith(GUIDE_SUFFIX) else ", source labels)"
        )
        sets.append(EvalSet(name, examples, origin))
    return sets


def file_sets(paths: Sequence[Path]) -> list[EvalSet]:
    """One set per JSONL file (``text``, ``label``, optional ``lang``), named by the file's stem; an empty file is an error."""
    sets: list[EvalSet] = []
    seen: set[str] = set()
    for path in paths:
        name = path.stem
        while name in seen:  # two files with one stem, from different folders
            name += "'"
        seen.add(name)
        examples = read_jsonl(path, source=name)
        if not examples:  # an empty export would otherwise drop out of the report without a word
            raise ValueError(f"{path}: no labelled posts")
        sets.append(EvalSet(name, examples, str(path)))
    return sets


def sample(examples: list[Example], limit: int | None) -> list[Example]:
    """At most ``limit`` examples, chosen by text hash: the same every run, not biased by file order."""
    if limit is None or len(examples) <= limit:
        return examples
    key = lambda e: hashlib.sha256(e.text.encode("utf-8")).digest()  # noqa: E731
    chosen = set(map(id, sorted(examples, key=key)[:limit]))
    return [e for e in examples if id(e) in chosen]


def load_sets(
    paths: Sequence[Path], real_dir: Path | None, limit: int | None = None, data_root: Path | None = None
) -> list[EvalSet]:
    """The given files, or the default held-out sets when there are none; each cut to ``limit``."""
    sets = file_sets(paths) if paths else default_sets(real_dir, data_root)
    return [replace(s, examples=sample(s.examples, limit)) for s in sets]


def evaluate_sets(
    clf: Classifier, sets: Sequence[EvalSet], batch_size: int = 32, console: Console | None = None
) -> dict[str, Any]:
    """Classify every set (with a progress bar) and return the JSON-ready report."""
    console = console or Console(stderr=True)
    out: dict[str, Any] = {
        "classifier": {"name": clf.name, "version": clf.version},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sets": {},
    }
    if getattr(clf, "runtime_", None):  # the e5 head's encoder runtime: bf16 and fp32 differ on a post or two
        out["classifier"]["runtime"] = clf.runtime_
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    seen: dict[str, tuple[str, float]] = {}  # a post in several sets (e.g. source and guide labels) is classified once
    with Progress(*columns, console=console, transient=True) as progress:
        for s in sets:
            if not s.examples:
                continue
            task = progress.add_task(f"classifying {s.name}", total=len(s.examples))
            todo = list(dict.fromkeys(e.text for e in s.examples if e.text not in seen))
            progress.advance(task, len(s.examples) - len(todo))
            for start in range(0, len(todo), batch_size):
                chunk = todo[start : start + batch_size]
                for text, p in zip(chunk, clf.predict(chunk)):
                    seen[text] = (p.label, p.confidence)
                progress.advance(task, len(chunk))
            labels = [seen[e.text][0] for e in s.examples]
            confidence = [seen[e.text][1] for e in s.examples]
            langs = [e.lang for e in s.examples]
            scores = report(
                [e.label for e in s.examples],
                labels,
                np.array(confidence),
                labels_of(s.examples),
                langs if any(lang != "?" for lang in langs) else None,
            )
            # per post, so two reports can be compared post by post (classifiers.compare); a hash, not the text
            posts = {"id": [post_id(e.text) for e in s.examples], "gold": [e.label for e in s.examples], "predicted": labels}
            out["sets"][s.name] = {"origin": s.origin, **scores, "posts": posts}
    return out


def post_id(text: str) -> str:
    """A short stable id for a post, so reports pair posts without carrying what customers wrote."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def print_report(result: dict[str, Any], console: Console) -> None:
    """A summary over all sets, then per-label and per-language tables for each set."""
    clf = result["classifier"]
    if not console.is_terminal:  # a file or a pipe: do not squeeze the summary into 80 columns
        console.width = max(console.width, 170)
    runtime = f" on {clf['runtime']}" if clf.get("runtime") else ""
    summary = Table(title=f"{clf['name']} {clf['version']}{runtime}", title_justify="left")
    columns = ("set", "n", "macro-F1", "accuracy", "complaint P", "complaint R", "non-sugg. → sugg.", "worst language", "ECE")
    for column in columns:
        summary.add_column(column, justify="left" if column in ("set", "worst language") else "right")
    fmt = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
    for name, s in result["sets"].items():
        complaint = s["per_label"].get("complaint", {})
        worst = s.get("min_language")
        summary.add_row(
            name, str(s["n"]), f"{s['macro_f1']:.3f}", f"{s['accuracy']:.3f}", fmt(complaint.get("precision")),
            fmt(complaint.get("recall")), fmt(s.get("non_suggestion_as_suggestion")),
            f"{worst['lang']} {worst['macro_f1']:.3f}" if worst else "", f"{s['ece']:.3f}",
        )
    console.print(summary)
    for name, s in result["sets"].items():
        per_label = Table(title=f"{name}: per label", title_justify="left")
        for column in ("label", "precision", "recall", "F1", "n"):
            per_label.add_column(column, justify="left" if column == "label" else "right")
        for label, m in s["per_label"].items():
            per_label.add_row(label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["n"]))
        console.print(per_label)
        if len(s.get("per_language", {})) > 1:
            per_lang = Table(title=f"{name}: per language", title_justify="left")
            for column in ("language", "n", "macro-F1"):
                per_lang.add_column(column, justify="left" if column == "language" else "right")
            for lang, m in s["per_language"].items():
                per_lang.add_row(lang, str(m["n"]), f"{m['macro_f1']:.3f}")
            console.print(per_lang)


def plot_confusions(result: dict[str, Any], path: Path) -> Path | None:
    """One confusion matrix per set: rows are true labels, cells coloured by the share of the row
    (so small sets and rare labels read the same) and annotated with counts.

    matplotlib comes with the ``train`` extra; without it no picture is drawn and None is returned.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        Console(stderr=True).print("[yellow]no confusion picture: matplotlib is missing (pip install 'points-of-truth[train]')[/yellow]")
        return None

    sets = list(result["sets"].items())
    cols = min(3, max(1, len(sets)))
    rows = (len(sets) + cols - 1) // cols if sets else 1
    fig = Figure(figsize=(max(6.0, 4.6 * cols), 4.4 * rows + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    image = None
    for ax, (name, s) in zip(axes, sets):
        names = s["confusion"]["rows_true_cols_pred"]
        matrix = np.array(s["confusion"]["matrix"])
        # The same columns in every panel (all five labels, in order), rows only for labels true in this set.
        cols_named = list(LABELS) + [n for n in names if n not in LABELS]
        rows_named = [label for label in cols_named if label in s["labels"]]
        counts = np.array([[matrix[names.index(r), names.index(c)] if c in names else 0 for c in cols_named]
                           for r in rows_named])
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        for r in range(counts.shape[0]):
            for c in range(counts.shape[1]):
                ax.text(c, r, str(counts[r, c]), ha="center", va="center", fontsize=9,
                        color="white" if share[r, c] > 0.55 else "black")
        ax.set_xticks(range(len(cols_named)), cols_named, rotation=35, ha="right")
        ax.set_yticks(range(len(rows_named)), rows_named)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}\nn={s['n']}  macro-F1 {s['macro_f1']:.3f}  acc {s['accuracy']:.3f}", fontsize=10)
    for ax in axes[len(sets):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=axes[: len(sets)].tolist(), shrink=0.8, label="share of the true label's posts")
    clf = result["classifier"]
    fig.suptitle(f"{clf['name']} {clf['version']}\nconfusion matrices (rows: true label, columns: predicted)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def write_json(result: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
