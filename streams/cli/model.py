"""``pot classify``, ``pot eval`` and ``pot train``: try, score and train a classifier."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from .base import cli, err, load_classifier, settings_or_exit

__all__ = ["classify", "evaluate", "train"]


@cli.command()
def classify(
    file: str = typer.Argument("-", help="JSONL with a `text` field, or plain lines; - for standard input."),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    batch_size: int = typer.Option(32, min=1),
) -> None:
    """Print one JSON prediction per input line: the quickest way to try a model."""

    settings = settings_or_exit(classifier=classifier)
    if file != "-" and not Path(file).is_file():
        err.print(f"[red]no such file:[/red] {file}")
        raise typer.Exit(2)
    source = sys.stdin if file == "-" else open(file, encoding="utf-8")
    texts: list[str] = []
    for line in source:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            texts.append(obj["text"] if isinstance(obj, dict) and isinstance(obj.get("text"), str) else line)
        except json.JSONDecodeError:
            texts.append(line)
    with err.status(f"loading {settings.classifier}"):
        model = load_classifier(settings.classifier, "classifier", in_process=False)
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        for text, p in zip(chunk, model.predict(chunk)):
            out = {"text": text, "label": p.label, "confidence": round(p.confidence, 4),
                   "scores": {label: round(score, 4) for label, score in p.scores.items()},
                   "lang": p.lang, "model": model.name, "version": model.version}
            print(json.dumps(out, ensure_ascii=False), flush=True)


@cli.command("eval")
def evaluate(
    data: Optional[list[Path]] = typer.Argument(None, help="JSONL files (text, label, optional lang); none: the held-out sets."),
    classifier: Optional[str] = typer.Option(None, help="Classifier name (entry point).", envvar="POT_CLASSIFIER"),
    out_json: Path = typer.Option(Path("eval-report.json"), help="Where the JSON report goes."),
    out_png: Path = typer.Option(Path("eval-confusion.png"), help="Where the confusion-matrix picture goes."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts for the default sets (default: ../shared/data/real when present)."),
    limit: Optional[int] = typer.Option(None, min=1, help="At most this many posts per set (a fixed sample, by text hash)."),
    batch_size: int = typer.Option(32, min=1),
) -> None:
    """Score a classifier: per-label and per-language F1, accuracy, calibration; JSON report and confusion PNG."""
    from rich.console import Console

    from classifiers import create
    from classifiers.datasets import default_real_dir
    from classifiers.eval_cli import evaluate_sets, load_sets, plot_confusions, print_report, write_json

    settings = settings_or_exit(classifier=classifier)
    missing = [str(p) for p in data or [] if not p.is_file()]
    if missing:
        err.print(f"[red]no such file:[/red] {', '.join(missing)}")
        raise typer.Exit(2)
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
def train(
    out: Optional[Path] = typer.Option(None, help="Folder for head.npz and the model card (default: the shipped head)."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts (default: ../shared/data/real when present)."),
    extra: list[Path] = typer.Option([], help="More JSONL training files (text, label, lang)."),
    force: bool = typer.Option(False, help="Overwrite the shipped head."),
    int8: bool = typer.Option(False, help="Train on int8-quantised embeddings (faster, but batch-dependent scores)."),
    lora: bool = typer.Option(False, help="Fine-tune a LoRA adapter on the encoder jointly with the head."),
    epochs: int = typer.Option(6, min=1, help="Epochs of LoRA fine-tuning."),
) -> None:
    """Train the classifier head (and optionally a LoRA adapter); writes head.npz, card.json and card.md."""
    from classifiers.datasets import default_real_dir
    from classifiers.e5_head import shipped_head_dir
    from classifiers.train import TrainConfig, train as run_training

    target = out or shipped_head_dir()
    if (target / "head.npz").exists() and target.resolve() == shipped_head_dir().resolve() and not force:
        err.print(f"[red]refusing to overwrite the shipped head at {target}[/red]; pass --out DIR, or --force")
        raise typer.Exit(2)
    real = real_dir or default_real_dir()
    if real is None:
        err.print("[yellow]no real data found (../shared/data/real): training on the project's own posts only[/yellow]")
    if lora:
        from classifiers.finetune import FinetuneConfig, finetune

        finetune(FinetuneConfig(out_dir=target, real_dir=real, extra_train=list(extra), epochs=epochs, quantize=int8), err)
    else:
        run_training(
            TrainConfig(
                out_dir=target, real_dir=real, extra_train=list(extra), quantize=int8, cache_dir=Path(".pot/cache")
            ),
            err,
        )
    from rich.markdown import Markdown

    err.print(Markdown((target / "card.md").read_text()))
    err.print(f"wrote {target}/head.npz, card.json, card.md")
