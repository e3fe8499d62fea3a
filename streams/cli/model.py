"""``pot classify``, ``pot eval``, ``pot compare`` and ``pot train``: try, score, compare and train a classifier.

``train`` lives with the training code (:mod:`classifiers.train_cli`); it is registered here so that
``pot --help`` lists it beside ``classify`` and ``eval``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from classifiers.train_cli import register as _register_train

from .base import cli, err, exit_unless_readable, load_classifier, settings_or_exit

__all__ = ["classify", "compare", "evaluate", "read_texts"]


@cli.command()
def classify(
    file: str = typer.Argument(
        "-", help="JSONL with a `text` field, or plain lines; - for standard input. A JSON object without a string `text` is refused (exit 1)."
    ),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    batch_size: int = typer.Option(32, min=1, help="Posts per classifier call."),
) -> None:
    """Print one JSON prediction per input line: the quickest way to try a model."""

    settings = settings_or_exit(classifier=classifier)
    if file != "-":
        exit_unless_readable(Path(file))
    source = sys.stdin if file == "-" else open(file, encoding="utf-8")
    texts, refused = read_texts(source)
    for message in refused:
        err.print(f"[red]{escape(message)}[/red]")
    with err.status(f"loading {settings.classifier}"):
        model = load_classifier(settings.classifier, "classifier", in_process=False)
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        for text, p in zip(chunk, model.predict(chunk)):
            out = {"text": text, "label": p.label, "confidence": round(p.confidence, 4),
                   "scores": {label: round(score, 4) for label, score in p.scores.items()},
                   "lang": p.lang, "model": model.name, "version": model.version}
            print(json.dumps(out, ensure_ascii=False), flush=True)
    if refused:
        raise typer.Exit(1)


def read_texts(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """The texts to classify, and one message per line refused.

    A JSON object without a string ``text`` (a field named ``body``, a null) is refused, not classified as its
    raw JSON: that would print a confident label for words nobody wrote. Any other line, JSON or not, is a post.
    """
    texts: list[str] = []
    refused: list[str] = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            texts.append(line)
            continue
        if not isinstance(obj, dict):
            texts.append(line)
        elif isinstance(obj.get("text"), str):
            texts.append(obj["text"])
        else:
            keys = ", ".join(json.dumps(key) for key in sorted(obj)[:8]) or "none"
            refused.append(f"line {number}: a JSON object needs a string `text` field (its fields: {keys}); not classified")
    return texts, refused


@cli.command("eval")
def evaluate(
    data: Optional[list[Path]] = typer.Argument(None, help="JSONL files (text, label, optional lang); none: the held-out sets."),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    out_json: Path = typer.Option(Path("eval-report.json"), help="Where the JSON report goes."),
    out_png: Path = typer.Option(Path("eval-confusion.png"), help="Where the confusion-matrix picture goes."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts for the default sets (default: ../shared/data/real when present)."),
    limit: Optional[int] = typer.Option(None, min=1, help="At most this many posts per set (a fixed sample, by text hash)."),
    batch_size: int = typer.Option(32, min=1, help="Posts per classifier call."),
) -> None:
    """Score a classifier: per-label and per-language F1, accuracy, calibration; JSON report and confusion PNG."""
    from rich.console import Console

    from classifiers import create
    from classifiers.datasets import default_real_dir
    from classifiers.eval_cli import evaluate_sets, load_sets, plot_confusions, print_report, write_json

    settings = settings_or_exit(classifier=classifier)
    exit_unless_readable(*(data or []))
    try:
        sets = load_sets(data or [], real_dir or default_real_dir(), limit)
    except (ValueError, KeyError) as exc:  # a bad label, a line that is not JSON or has no text
        from rich.markup import escape

        reason = str(exc) if isinstance(exc, ValueError) else f"a line has no {exc} field"
        err.print(f"[red]cannot read the data:[/red] {escape(reason)}")
        raise typer.Exit(2) from None
    with err.status(f"loading classifier {settings.classifier}"):
        try:
            model = create(settings.classifier).load()
        except Exception as exc:
            err.print(f"[red]cannot load classifier {settings.classifier!r}:[/red] {exc}")
            raise typer.Exit(2) from None
    result = evaluate_sets(model, sets, batch_size, err)
    print_report(result, Console(highlight=False))
    write_json(result, out_json)
    plot_confusions(result, out_png)
    err.print(f"wrote {out_json} and {out_png}")



@cli.command()
def compare(
    old: Path = typer.Argument(..., help="`pot eval --out-json` report of the head in use."),
    new: Path = typer.Argument(..., help="Report of the candidate, on the same sets."),
    rounds: int = typer.Option(2000, min=100, help="Bootstrap resamples per set."),
    seed: int = typer.Option(0, help="Seed of the resampling, for a repeatable table."),
    min_support: int = typer.Option(
        1, min=1, help="Leave out of a set's macro-F1 the labels with fewer gold posts than this (1: every label, as `pot eval`)."
    ),
) -> None:
    """Per held-out set, then the real sources' means: macro-F1 of both, the difference and its 95% paired-bootstrap interval."""
    from rich.console import Console
    from rich.table import Table

    from classifiers.compare import GROUPS, compare_reports

    try:
        reports = [json.loads(path.read_text(encoding="utf-8")) for path in (old, new)]
        rows = compare_reports(*reports, rounds=rounds, seed=seed, min_support=min_support)
    except (OSError, ValueError, KeyError) as exc:
        err.print(f"[red]cannot compare:[/red] {exc}")
        raise typer.Exit(2) from None
    names = [f"{r['classifier']['name']} {r['classifier']['version']}" for r in reports]
    support = f", labels with {min_support}+ gold posts" if min_support > 1 else ""
    table = Table(title=f"{names[1]} against {names[0]}: macro-F1{support}, paired bootstrap ({rounds} resamples)")
    for column in ("set", "posts", "old", "new", "new - old", "95% interval", "P(new better)", "labels changed", "verdict"):
        table.add_column(column, justify="left" if column in ("set", "verdict") else "right")
    last_set = [name for name in rows if name not in GROUPS][-1]
    for name, r in rows.items():
        shown = name + (f" (without {', '.join(r['left_out'])})" if r["left_out"] else "")
        table.add_row(shown, str(r["n"]), f"{r['old']:.4f}", f"{r['new']:.4f}", f"{r['diff']:+.4f}",
                      f"{r['low']:+.4f} .. {r['high']:+.4f}", f"{r['p_new_better']:.2f}", str(r["changed"]), r["verdict"],
                      end_section=name == last_set)
    # a pipe or a file gets the whole table, not rich's 80 columns
    Console(highlight=False, width=None if sys.stdout.isatty() else 170).print(table)
    sets = [r for name, r in rows.items() if name not in GROUPS]
    counts = {v: sum(r["verdict"] == v for r in sets) for v in ("better", "worse", "undecided")}
    print(f"better on {counts['better']} sets, worse on {counts['worse']}, undecided on {counts['undecided']} (95% intervals)")
    for group in (g for g in GROUPS if g in rows):
        r = rows[group]
        print(f"{group}: {r['old']:.4f} -> {r['new']:.4f} ({r['diff']:+.4f}, 95% {r['low']:+.4f} .. {r['high']:+.4f}): {r['verdict']}")


_register_train(cli)
