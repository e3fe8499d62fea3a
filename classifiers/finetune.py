"""``pot train --lora`` / ``--full``: fine-tune e5-small's encoder layers jointly with the linear head.

What can be varied (each run writes its settings into its card):

* ``mode="lora"``: a LoRA adapter of rank ``rank`` on ``targets`` (``qv``: attention
  query and value, as ``e5-small-lora-v1``; ``all``: every linear layer of the
  transformer blocks); ``mode="full"``: the weights themselves. Either way only the
  top ``train_layers`` blocks change and the embeddings stay frozen, so the frozen
  blocks below run without building a graph (the cost of a step falls with
  ``train_layers``);
* class weighting (each label weighs the same within the project's posts and
  within the real posts), the real posts' weight, epochs, learning rates, seed.

Epochs, a complaint bias, an ``other`` bias and the temperature are chosen on the
validation split carved from the training data (:mod:`classifiers.corpus`); the
held-out sets only score the result. Steps run under bfloat16 autocast (the master
weights stay fp32), over batches of posts of similar length.

What ships is inference-neutral: a LoRA adapter merged at load, or a weight delta
(:mod:`classifiers.adapters`), plus ``head.npz``; the biases are folded into the
head's intercept. Same encoder size, same cost per post.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from .base import LABELS
from .corpus import Corpus, build_corpus
from .datasets import Example
from .e5_head import DEFAULT_HEAD
from .embedding import E5_PREFIX, embed, embed_sorted
from .head import LinearHead
from .tuning import OWN_SOURCES, choose_biases, class_table, group_scores, progress_bar, row_weights, scored_sets, write_card

TARGETS = {"qv": ["query", "value"], "all": ["query", "key", "value", "dense"]}


@dataclass
class FinetuneConfig:
    out_dir: Path
    real_dir: Path | None
    extra_train: list[Path] = field(default_factory=list)
    mode: str = "lora"
    rank: int = 8
    alpha: int = 16
    targets: str = "qv"
    train_layers: int = 12
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-3
    head_lr: float = 1e-2
    class_weights: bool = True
    real_weight: float = 0.5
    real_per_epoch: int = 2000
    max_length: int = 128
    seed: int = 13
    bf16: bool = True
    quantize: bool = False
    score: bool = True
    world_root: Path | None = None
    exclude_langs: tuple[str, ...] = ()
    version: str = DEFAULT_HEAD
    encoder: str = "intfloat/multilingual-e5-small"


def _trainable(model: Any, config: FinetuneConfig) -> tuple[Any, list[Any]]:
    """The model to train (wrapped by peft for LoRA) and its trainable parameters."""
    layers = model.config.num_hidden_layers
    first = layers - max(1, min(config.train_layers, layers))
    for p in model.parameters():
        p.requires_grad = False
    if config.mode == "lora":
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as exc:  # pragma: no cover - the message is the point
            raise SystemExit("LoRA training needs the training extra: pip install 'points-of-truth[train]'") from exc
        model = get_peft_model(
            model,
            LoraConfig(
                r=config.rank, lora_alpha=config.alpha, lora_dropout=0.1, target_modules=TARGETS[config.targets],
                layers_to_transform=list(range(first, layers)) if first else None,
            ),
        )
    elif config.mode == "full":
        for name, p in model.named_parameters():
            p.requires_grad = any(name.startswith(f"encoder.layer.{i}.") for i in range(first, layers))
    else:
        raise ValueError(f"mode must be 'lora' or 'full', not {config.mode!r}")
    return model, [p for p in model.parameters() if p.requires_grad]


def _batches(rows: list[Example], tokenizer: Any, batch_size: int, rng: random.Random) -> list[list[Example]]:
    """Shuffled batches of posts of similar length (less padding), in shuffled order."""
    rows = rows[:]
    rng.shuffle(rows)
    lengths = {e.text: len(tokenizer.tokenize(e.text)) for e in rows}
    out: list[list[Example]] = []
    pool = batch_size * 50
    for start in range(0, len(rows), pool):
        chunk = sorted(rows[start : start + pool], key=lambda e: lengths[e.text])
        out += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def embed_all(model: Any, tokenizer: Any, texts: list[str], max_length: int, bf16: bool, batch_size: int = 64) -> np.ndarray:
    """e5 embeddings in order, computed over length-sorted batches (under bfloat16 autocast when ``bf16``)."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return embed_sorted(model, tokenizer, texts, max_length, batch_size, prefix=E5_PREFIX)


def _save_encoder_changes(model: Any, base_state: dict[str, Any] | None, out_dir: Path, mode: str) -> None:
    from .adapters import DELTA_FILE, save_delta

    out_dir.mkdir(parents=True, exist_ok=True)
    if mode == "lora":
        model.save_pretrained(out_dir / "adapter")
        # peft's generated README is an empty template naming this machine's cache path: the card says what it should.
        (out_dir / "adapter" / "README.md").unlink(missing_ok=True)
        return
    assert base_state is not None
    save_delta({n: p.detach() - base_state[n] for n, p in model.named_parameters() if p.requires_grad}, out_dir / DELTA_FILE)


def finetune(config: FinetuneConfig, console: Console | None = None, corpus: Corpus | None = None) -> dict[str, Any]:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from .provision import resolve_encoder

    console = console or Console(stderr=True)
    started = time.time()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    corpus = corpus or build_corpus(config.real_dir, config.world_root, frozenset(config.exclude_langs))
    own = [e for e in corpus.train if e.source in OWN_SOURCES]
    for path in config.extra_train:
        from .datasets import read_jsonl

        own += read_jsonl(path, source="brand_posts")
    real = [e for e in corpus.train if e.source not in OWN_SOURCES]
    console.print(f"corpus: {json.dumps(corpus.summary())}")

    path = resolve_encoder(config.encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModel.from_pretrained(path)
    base_state = {n: p.detach().clone() for n, p in base.named_parameters()} if config.mode == "full" else None
    model, trainable = _trainable(base, config)
    config.max_length = min(config.max_length, base.config.max_position_embeddings)
    head = torch.nn.Linear(base.config.hidden_size, len(LABELS))
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    scale = torch.nn.Parameter(torch.tensor(20.0))
    optimiser = torch.optim.AdamW(
        [{"params": trainable, "lr": config.lr}, {"params": [*head.parameters(), scale], "lr": config.head_lr}], weight_decay=0.01
    )
    n_params = sum(p.numel() for p in trainable)
    per_epoch = len(own) + min(config.real_per_epoch, len(real))
    total_steps = config.epochs * ((per_epoch + config.batch_size - 1) // config.batch_size)
    warmup = max(1, total_steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / total_steps)
    )
    console.print(f"{config.mode} on the top {config.train_layers} layers: {n_params:,} trainable parameters; {per_epoch} posts per epoch")

    val_texts = [e.text for e in corpus.validation]
    best: dict[str, Any] = {"score": -1.0}
    history = []
    for epoch in range(1, config.epochs + 1):
        sample = own + rng.sample(real, min(config.real_per_epoch, len(real)))
        table = class_table(sample, config.class_weights)
        batches = _batches(sample, tokenizer, config.batch_size, rng)
        model.train()
        total, seen, t0 = 0.0, 0, time.time()
        with progress_bar(console) as progress:
            task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(sample))
            for batch in batches:
                y = torch.tensor([LABELS.index(e.label) for e in batch])
                w = torch.tensor(row_weights(batch, table, config.real_weight))
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                    pooled = embed(model, tokenizer, [e.text for e in batch], config.max_length, E5_PREFIX)
                logits = head(pooled) * scale
                loss = (torch.nn.functional.cross_entropy(logits, y, reduction="none") * w).sum() / w.sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += loss.item() * len(batch)
                seen += len(batch)
                progress.advance(task, len(batch))
        model.eval()
        x_val = embed_all(model, tokenizer, val_texts, config.max_length, config.bf16)
        with torch.no_grad():
            val_logits = x_val @ (head.weight * scale).numpy().T + (head.bias * scale).numpy()
        score = group_scores(corpus.validation, [LABELS[i] for i in val_logits.argmax(1)])
        history.append({"epoch": epoch, "loss": round(total / seen, 4), "posts_per_s": round(seen / (time.time() - t0), 1), **score})
        console.print(f"epoch {epoch}: {history[-1]}")
        if score["val_score"] > best["score"]:
            best = {
                "score": score["val_score"], "epoch": epoch,
                "state": {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad},
                "head_w": (head.weight * scale).detach().numpy().copy(), "head_b": (head.bias * scale).detach().numpy().copy(),
            }

    with torch.no_grad():
        params = dict(model.named_parameters())
        for n, value in best["state"].items():
            params[n].copy_(value)
    _save_encoder_changes(model, base_state, config.out_dir, config.mode)
    linear = LinearHead(LABELS, best["head_w"].astype(np.float32), best["head_b"].astype(np.float32))
    # Biases and temperature on the validation split, with the fp32 encoder that ships.
    x_val = embed_all(model, tokenizer, val_texts, config.max_length, bf16=False)
    calibration = choose_biases(linear, x_val, corpus.validation)
    linear.save(config.out_dir)
    card: dict[str, Any] = {
        "version": config.version,
        "encoder": config.encoder,
        "quantize": config.quantize,
        "head": _describe(config, n_params, base.config.num_hidden_layers),
        "best_epoch": best["epoch"],
        "history": history,
        "calibration": calibration,
        "temperature": calibration["temperature"],
        "corpus": corpus.summary(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in config.__dict__.items() if k != "extra_train"},
        "trained_in_s": round(time.time() - started, 1),
    }
    if config.score:
        card["scores"] = scored_sets(linear, lambda texts: embed_all(model, tokenizer, texts, config.max_length, False), corpus.tests, console)
    write_card(config.out_dir, card)
    return card


def _describe(config: FinetuneConfig, n_params: int, layers: int) -> str:
    what = (
        f"LoRA rank {config.rank} (alpha {config.alpha}) on {'+'.join(TARGETS[config.targets])}"
        if config.mode == "lora" else "full fine-tuning"
    )
    return (
        f"{what} of the top {min(config.train_layers, layers)} of {layers} encoder layers (embeddings frozen), {n_params:,} trained "
        "parameters, jointly with a linear head on L2-normalised mean-pooled embeddings; "
        + ("adapter merged into the encoder at load" if config.mode == "lora" else "weight delta added at load")
        + "; complaint and other biases folded into the intercept; temperature-scaled"
    )
