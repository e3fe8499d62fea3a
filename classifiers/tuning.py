"""What training chooses on validation and how it reports: scores by group, biases, temperature, cards."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .base import LABELS
from .datasets import Example, labels_of
from .evaluate import macro_f1, per_label_scores, report
from .head import LinearHead, fit_temperature

OWN_SOURCES = ("world", "brand_posts")
BIAS_GRID = tuple(np.round(np.arange(-1.0, 3.01, 0.25), 2))


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )


def class_table(rows: Sequence[Example], balanced: bool) -> dict[tuple[bool, str], float]:
    """Per (is-real, label) weights that make each label weigh the same within its group (the project's
    posts, the real ones): without them the real sources' many ``other`` and ``praise`` rows outvote the
    rarer labels a person must answer."""
    if not balanced:
        return {}
    table: dict[tuple[bool, str], float] = {}
    for is_real in (False, True):
        group = [e for e in rows if (e.source not in OWN_SOURCES) == is_real]
        counts = {label: sum(e.label == label for e in group) for label in LABELS}
        present = [label for label in LABELS if counts[label]]
        for label in present:
            table[(is_real, label)] = len(group) / (len(present) * counts[label])
    return table


def row_weights(rows: Sequence[Example], table: dict[tuple[bool, str], float], real_weight: float) -> list[float]:
    """Each row's loss weight: its label's weight within its group, times ``real_weight`` for a real post."""
    return [table.get((e.source not in OWN_SOURCES, e.label), 1.0) * (real_weight if e.source not in OWN_SOURCES else 1.0) for e in rows]


def group_scores(examples: Sequence[Example], predicted: Sequence[str]) -> dict[str, float]:
    """Validation scores: macro-F1 of the project's posts, mean macro-F1 of the real sources, their mean.

    ``val_score`` (the mean) is what epochs and biases are chosen by: both kinds of
    posts matter, and choosing on one alone lets the other's scores drop.
    """
    def f1(idx: list[int]) -> float:
        truth = [examples[i].label for i in idx]
        return macro_f1(truth, [predicted[i] for i in idx], labels_of(examples[i] for i in idx)) if idx else 0.0

    own = [i for i, e in enumerate(examples) if e.source in OWN_SOURCES]
    sources = sorted({e.source for e in examples} - set(OWN_SOURCES))
    real = {s: f1([i for i, e in enumerate(examples) if e.source == s]) for s in sources}
    own_f1 = f1(own)
    real_f1 = float(np.mean(list(real.values()))) if real else own_f1
    truth = [e.label for e in examples]
    p, r, _, _ = per_label_scores(truth, list(predicted), ["complaint"])
    return {
        "val_own_f1": round(own_f1, 4),
        "val_real_f1": round(real_f1, 4),
        "val_complaint_recall": round(float(r[0]), 4),
        "val_complaint_precision": round(float(p[0]), 4),
        "val_score": round((own_f1 + real_f1) / 2, 4),
    }


def choose_biases(
    linear: LinearHead, x_val: np.ndarray, validation: Sequence[Example], own_floor: float | None = None
) -> dict[str, Any]:
    """Pick additive biases on the complaint and other logits by validation score, fold them into the
    intercept, then fit the temperature on the same validation rows. Changes ``linear`` in place.

    With ``own_floor`` only biases that keep the project's posts' validation macro-F1 at or above it are
    eligible (a head chosen for keeping them must not lose them to its biases); no bias at all is always
    a candidate."""
    logits = linear.logits(x_val)
    c, o = LABELS.index("complaint"), LABELS.index("other")
    best: tuple[tuple[float, float, float], float, float, dict[str, float]] | None = None
    for bc in BIAS_GRID:
        for bo in BIAS_GRID:
            shifted = logits.copy()
            shifted[:, c] += bc
            shifted[:, o] += bo
            s = group_scores(validation, [LABELS[i] for i in shifted.argmax(1)])
            if own_floor is not None and s["val_own_f1"] < own_floor and (bc, bo) != (0.0, 0.0):
                continue
            key = (s["val_score"], s["val_complaint_recall"], -abs(bc) - abs(bo))
            if best is None or key > best[0]:
                best = (key, float(bc), float(bo), s)
    assert best is not None
    _, bc, bo, s = best
    linear.intercept = linear.intercept.copy()
    linear.intercept[c] += bc
    linear.intercept[o] += bo
    y = np.array([LABELS.index(e.label) for e in validation])
    linear.temperature = fit_temperature(linear.logits(x_val), y)
    none = group_scores(validation, [LABELS[i] for i in logits.argmax(1)])
    return {"complaint_bias": bc, "other_bias": bo, "temperature": round(linear.temperature, 4),
            "validation_before": none, "validation_after": s, "validation_rows": len(validation)}


def scored_sets(
    linear: LinearHead, embed: Callable[[list[str]], np.ndarray], tests: dict[str, list[Example]], console: Console
) -> dict[str, Any]:
    """Every held-out set scored by ``report`` (texts shared by sets are embedded once)."""
    texts = sorted({e.text for rows in tests.values() for e in rows})
    console.print(f"scoring {len(tests)} held-out sets ({len(texts)} distinct posts)")
    index = {t: i for i, t in enumerate(texts)}
    probs = linear.predict_proba(embed(texts)) if texts else np.zeros((0, len(LABELS)))
    out: dict[str, Any] = {}
    for name, rows in tests.items():
        if not rows:
            continue
        p = probs[[index[e.text] for e in rows]]
        langs = [e.lang for e in rows]
        out[name] = report([e.label for e in rows], [LABELS[i] for i in p.argmax(1)], p.max(1), labels_of(rows),
                           langs if len(set(langs)) > 1 else None)
    return out


def write_card(out_dir: Path, card: dict[str, Any]) -> None:
    from .cards import render_card

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "card.md").write_text(render_card(card))
