"""``pot train --lora``: fine-tune e5-small through a small LoRA adapter, jointly with the linear head.

Why: a linear head over frozen embeddings tops out below the quality targets
(see the model cards); a rank-8 adapter on the attention query and value
projections (~150k parameters, ~600 KB) moves the encoder towards the
distinctions LABELS.md draws, and is cheap enough to train on two CPU cores
and to ship in the repository.

The adapter is merged into the encoder at load time, so inference costs the
same as without it (and is quantised to int8 the same way).
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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .base import LABELS
from .datasets import Example, brand_split, labels_of, read_jsonl, real_split
from .encoder import E5_PREFIX, embed
from .evaluate import report
from .head import LinearHead, fit_temperature
from .train import _validation_mask, render_card, validation_score


@dataclass
class FinetuneConfig:
    out_dir: Path
    real_dir: Path | None
    extra_train: list[Path] = field(default_factory=list)
    rank: int = 8
    alpha: int = 16
    epochs: int = 6
    batch_size: int = 16
    lr: float = 1e-3
    head_lr: float = 1e-2
    real_weight: float = 0.3
    real_per_epoch: int = 500
    max_length: int = 128
    seed: int = 13
    quantize: bool = False
    version: str = "e5-small-lora-v1"


def _logits_for(model: Any, tokenizer: Any, head: Any, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            out.append(head(embed(model, tokenizer, texts[start : start + batch_size], max_length, E5_PREFIX)).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)), np.float32)


def validation_set(real_dir: Path | None, extra_train: list[Path], seed: int) -> tuple[list[Example], list[Example], list[Example]]:
    """(brand posts to fit, real posts to sample from, validation set): fixed by text hashes and the seed."""
    brand = brand_split("train")
    for path in extra_train:
        brand += read_jsonl(path, source="brand_posts")
    real_all = real_split("train", real_dir)
    val_mask = _validation_mask(brand)
    real_val_mask = _validation_mask(real_all)
    real_val = random.Random(seed).sample(
        [e for e, v in zip(real_all, real_val_mask) if v], min(600, int(real_val_mask.sum()))
    )
    fit_brand = [e for e, v in zip(brand, val_mask) if not v]
    real = [e for e, v in zip(real_all, real_val_mask) if not v]
    return fit_brand, real, [e for e, v in zip(brand, val_mask) if v] + real_val


def calibrate_and_score(
    out_dir: Path, linear: LinearHead, val_set: list[Example], real_dir: Path | None, quantize: bool, console: Console
) -> tuple[float, dict[str, Any]]:
    """Score what ships: the adapter merged into the encoder, as E5HeadClassifier loads it.

    Fits the temperature on the validation set, saves the head, and scores every held-out set.
    """
    from .e5_head import E5Encoder

    encoder = E5Encoder(quantize=quantize, adapter_dir=out_dir / "adapter").load()
    val_x = encoder.encode([e.text for e in val_set])
    linear.temperature = fit_temperature(linear.logits(val_x), np.array([LABELS.index(e.label) for e in val_set]))
    linear.save(out_dir)
    tests = {"brand_posts": brand_split("test")}
    real_test = real_split("test", real_dir)
    for source in sorted({e.source for e in real_test}):
        tests[source] = [e for e in real_test if e.source == source]
    scores = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("scoring held-out sets", total=sum(len(v) for v in tests.values()))
        for name, examples in tests.items():
            if not examples:
                continue
            probs = linear.predict_proba(encoder.encode([e.text for e in examples]))
            progress.advance(task, len(examples))
            scores[name] = report(
                [e.label for e in examples],
                [LABELS[i] for i in probs.argmax(1)],
                probs.max(1),
                labels_of(examples),
                [e.lang for e in examples] if name == "brand_posts" else None,
            )
    return linear.temperature, scores


def rescore(out_dir: Path, real_dir: Path | None, quantize: bool, console: Console | None = None) -> dict[str, Any]:
    """Re-calibrate and re-score a trained adapter and head (e.g. with or without int8), updating its card."""
    console = console or Console(stderr=True)
    card = json.loads((out_dir / "card.json").read_text())
    seed = int(card.get("config", {}).get("seed", 13))
    _, _, val_set = validation_set(real_dir, [], seed)
    temperature, scores = calibrate_and_score(out_dir, LinearHead.load(out_dir), val_set, real_dir, quantize, console)
    card.update({"quantize": quantize, "temperature": round(temperature, 4), "scores": scores})
    card.setdefault("config", {})["quantize"] = quantize
    (out_dir / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (out_dir / "card.md").write_text(render_card(card))
    return card


def finetune(config: FinetuneConfig, console: Console | None = None) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    from .encoder import resolve_encoder

    console = console or Console(stderr=True)
    started = time.time()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)

    fit_brand, real, val_set = validation_set(config.real_dir, config.extra_train, config.seed)

    path = resolve_encoder()
    tokenizer = AutoTokenizer.from_pretrained(path)
    base = AutoModel.from_pretrained(path)
    model = get_peft_model(
        base, LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=0.1, target_modules=["query", "value"])
    )
    head = torch.nn.Linear(base.config.hidden_size, len(LABELS))
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    scale = torch.nn.Parameter(torch.tensor(20.0))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [{"params": trainable, "lr": config.lr}, {"params": list(head.parameters()) + [scale], "lr": config.head_lr}],
        weight_decay=0.01,
    )
    adapter_params = sum(p.numel() for p in trainable)
    console.print(f"LoRA rank {config.rank} on query/value: {adapter_params:,} adapter parameters")

    def scaled_head(x: Any) -> Any:
        return head(x) * scale

    best: dict[str, Any] = {"f1": -1.0}
    history = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        for epoch in range(1, config.epochs + 1):
            sample = fit_brand + [e for e in rng.sample(real, min(config.real_per_epoch, len(real)))]
            rng.shuffle(sample)
            task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(sample))
            model.train()
            total_loss = 0.0
            for start in range(0, len(sample), config.batch_size):
                batch = sample[start : start + config.batch_size]
                y = torch.tensor([LABELS.index(e.label) for e in batch])
                w = torch.tensor([1.0 if e.source == "brand_posts" else config.real_weight for e in batch])
                logits = scaled_head(embed(model, tokenizer, [e.text for e in batch], config.max_length, E5_PREFIX))
                loss = (torch.nn.functional.cross_entropy(logits, y, reduction="none") * w).sum() / w.sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total_loss += loss.item() * len(batch)
                progress.advance(task, len(batch))
            model.eval()
            val_logits = _logits_for(model, tokenizer, scaled_head, [e.text for e in val_set], config.max_length)
            score = validation_score(val_set, [LABELS[i] for i in val_logits.argmax(1)])
            val_f1 = score["val_score"]
            history.append({"epoch": epoch, "loss": round(total_loss / len(sample), 4), **score})
            console.print(f"epoch {epoch}: loss {total_loss / len(sample):.4f}, validation {score}")
            if val_f1 > best["f1"]:
                best = {
                    "f1": val_f1,
                    "epoch": epoch,
                    "lora": {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k},
                    "head_w": (head.weight * scale).detach().numpy().copy(),
                    "head_b": (head.bias * scale).detach().numpy().copy(),
                }

    model.load_state_dict(best["lora"], strict=False)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(config.out_dir / "adapter")
    linear = LinearHead(LABELS, best["head_w"].astype(np.float32), best["head_b"].astype(np.float32))

    linear.save(config.out_dir)
    temperature, scores = calibrate_and_score(config.out_dir, linear, val_set, config.real_dir, config.quantize, console)
    card = {
        "version": config.version,
        "encoder": "intfloat/multilingual-e5-small",
        "quantize": config.quantize,
        "head": (
            f"LoRA rank {config.rank} (alpha {config.alpha}) on attention query/value, {adapter_params:,} parameters, "
            "trained jointly with a linear head on L2-normalised mean-pooled embeddings; adapter merged into the "
            "encoder at load; temperature-scaled"
        ),
        "C": None,
        "real_weight": config.real_weight,
        "temperature": round(temperature, 4),
        "best_epoch": best["epoch"],
        "history": history,
        "train": {
            "brand_posts": len(fit_brand),
            "real": f"{config.real_per_epoch} sampled per epoch from {len(real)}",
            "languages": sorted({e.lang for e in fit_brand}),
        },
        "split": (
            "brand_posts: *_train.jsonl trained (minus a fixed 20% by text hash used to pick the epoch and fit the "
            "temperature), *_test.jsonl held out (other brands and scenarios); real: sha256(text) < 20% held out, "
            "never trained"
        ),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in config.__dict__.items() if k != "extra_train"},
        "scores": scores,
        "trained_in_s": round(time.time() - started, 1),
    }
    (config.out_dir / "card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (config.out_dir / "card.md").write_text(render_card(card))
    return card
