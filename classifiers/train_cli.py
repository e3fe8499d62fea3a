"""``pot train``: the command line of the classifier's training (registered on ``pot`` by ``register``).

Without ``--lora``/``--full`` it fits the logistic head over frozen embeddings
(:mod:`classifiers.train`); with either it fine-tunes the encoder's top layers jointly
with the head (:mod:`classifiers.finetune`). Needs the ``train`` extra.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Optional

import typer


def register(cli: typer.Typer) -> None:
    """Add (or replace) the ``train`` command on ``cli``."""
    cli.command("train")(train)


def train(
    out: Optional[Path] = typer.Option(None, help="Folder for the head, its encoder changes and the model card (default: the shipped head)."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts (default: ../shared/data/real when present)."),
    extra: list[Path] = typer.Option([], help="More JSONL training files (text, label, lang)."),
    force: bool = typer.Option(False, help="Overwrite the shipped head."),
    int8: bool = typer.Option(False, help="Train on int8-quantised embeddings (logistic head only)."),
    lora: bool = typer.Option(False, help="Fine-tune a LoRA adapter on the encoder jointly with the head."),
    full: bool = typer.Option(False, help="Fine-tune the encoder layers' weights (embeddings frozen) jointly with the head."),
    rank: int = typer.Option(8, min=1, help="LoRA rank."),
    alpha: Optional[int] = typer.Option(None, help="LoRA alpha (default: twice the rank)."),
    targets: str = typer.Option("qv", help="LoRA targets: qv (attention query, value) or all (every linear layer)."),
    train_layers: int = typer.Option(12, min=1, max=12, help="How many of the top encoder layers are trained."),
    epochs: int = typer.Option(3, min=1, help="Epochs; the best by validation is kept."),
    batch_size: int = typer.Option(32, min=1, help="Posts per training step (sorted by length within a bucket)."),
    lr: Optional[float] = typer.Option(None, help="Encoder learning rate (default: 1e-3 LoRA, 5e-5 full)."),
    class_weights: bool = typer.Option(True, help="Weigh each label the same within the project's and within the real posts."),
    real_weight: float = typer.Option(0.5, help="Weight of a real post relative to a project post."),
    real_per_epoch: int = typer.Option(2000, help="Real training posts sampled per epoch."),
    max_length: int = typer.Option(128, help="Tokens per post in training."),
    seed: int = typer.Option(13, help="Seed for the split shuffles, initialisation and sampling; the card records it."),
    bf16: bool = typer.Option(True, help="bfloat16 autocast in training steps (fp32 master weights)."),
    score: bool = typer.Option(True, help="Score every held-out set at the end (off for a settings sweep)."),
    data_root: Optional[Path] = typer.Option(None, help="Folder holding world/, independent/ and unseen/ (default: classifiers/data)."),
    exclude_lang: list[str] = typer.Option([], help="Leave this language out of training (leave-one-language-out check)."),
    version: Optional[str] = typer.Option(None, help="Version written into the card (default: the folder's name)."),
) -> None:
    """Train the classifier head (optionally with the encoder); writes the head, the card and its Markdown."""
    from rich.console import Console
    from rich.markdown import Markdown

    from classifiers.datasets import default_real_dir
    from classifiers.e5_head import shipped_head_dir

    err = Console(stderr=True)
    target = out or shipped_head_dir()
    if (target / "head.npz").exists() and target.resolve() == shipped_head_dir().resolve() and not force:
        err.print(f"[red]refusing to overwrite the shipped head at {target}[/red]; pass --out DIR, or --force")
        raise typer.Exit(2)
    if lora and full:
        err.print("[red]--lora and --full exclude each other[/red]")
        raise typer.Exit(2)
    if targets not in ("qv", "all"):
        err.print("[red]--targets is qv or all[/red]")
        raise typer.Exit(2)
    real = real_dir or default_real_dir()
    if real is None:
        err.print("[yellow]no real data found (../shared/data/real): training on the project's own posts only[/yellow]")
    command = "pot train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if sys.argv[1:2] == ["train"] else None
    if lora or full:
        from classifiers.finetune import FinetuneConfig, finetune

        config = FinetuneConfig(
            out_dir=target, real_dir=real, extra_train=list(extra), mode="lora" if lora else "full", rank=rank,
            alpha=alpha or 2 * rank, targets=targets, train_layers=train_layers, epochs=epochs, batch_size=batch_size,
            lr=lr if lr is not None else (1e-3 if lora else 5e-5), class_weights=class_weights, real_weight=real_weight,
            real_per_epoch=real_per_epoch, max_length=max_length, seed=seed, bf16=bf16, quantize=int8, score=score,
            world_root=data_root, exclude_langs=tuple(exclude_lang), version=version or target.name,
        )
        card: dict[str, Any] = finetune(config, err)
    else:
        from classifiers.train import TrainConfig, train as run_training

        card = run_training(
            TrainConfig(out_dir=target, real_dir=real, extra_train=list(extra), quantize=int8, cache_dir=Path(".pot/cache")), err
        )
    if command:
        from classifiers.tuning import write_card

        card.setdefault("commands", {})["trained with"] = command
        write_card(target, card)
    err.print(Markdown((target / "card.md").read_text()))
    err.print(f"wrote {target}: head.npz, card.json, card.md")
