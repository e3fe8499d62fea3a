"""``python -m classifiers.soup``: one head from the uniform weight average of fine-tuned runs ("model soup").

Why: runs that differ only in their seed end in different places near the same
pre-trained weights, and their average often generalises better than either
(Wortsman et al., 2022, "Model soups") while it costs nothing at inference: the
averaged LoRA updates merge into the one encoder just as a single run's do.

The encoder updates are averaged exactly: each run's LoRA pair is kept, side by
side, in one adapter of the summed rank whose ``B`` is scaled so that the merged
update is the mean of the runs' merged updates (``Σ sᵢ·Bᵢ·Aᵢ / n``). The linear
heads are averaged, then the complaint and other biases and the temperature are
chosen again on the validation split, as ``pot train`` does (never on a
held-out set). Every run must be a LoRA run of the same base encoder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from rich.console import Console

__all__ = ["average_adapters", "average_heads", "make_soup"]

ADAPTER_FILE, CONFIG_FILE = "adapter_model.safetensors", "adapter_config.json"


def average_adapters(adapter_dirs: list[Path], out_dir: Path) -> dict[str, Any]:
    """Write to ``out_dir`` one LoRA adapter whose merged update is the mean of the adapters' merged updates;
    returns its config."""
    import torch
    from safetensors.torch import load_file, save_file

    from .adapters import lora_scale

    configs = [json.loads((d / CONFIG_FILE).read_text()) for d in adapter_dirs]
    tensors = [load_file(str(d / ADAPTER_FILE)) for d in adapter_dirs]
    if any(set(t) != set(tensors[0]) for t in tensors):
        raise ValueError("the adapters change different modules; only runs of the same settings can be averaged")
    rank = sum(int(c["r"]) for c in configs)
    config = {**configs[0], "r": rank, "lora_alpha": rank, "use_rslora": False, "rank_pattern": {}, "alpha_pattern": {}}
    n, out = len(adapter_dirs), {}
    for key in tensors[0]:
        if key.endswith(".lora_A.weight"):
            out[key] = torch.cat([t[key].float() for t in tensors], dim=0).contiguous()
        elif key.endswith(".lora_B.weight"):
            out[key] = torch.cat([t[key].float() * (lora_scale(c) / n) for t, c in zip(tensors, configs)], dim=1).contiguous()
        else:
            raise ValueError(f"{key}: only plain LoRA weights can be averaged")
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(out, str(out_dir / ADAPTER_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return config


def average_heads(head_dirs: list[Path]) -> Any:
    """The mean of the runs' linear heads (coefficients and intercepts, their folded biases included)."""
    from .head import LinearHead

    heads = [LinearHead.load(d) for d in head_dirs]
    if any(h.labels != heads[0].labels for h in heads):
        raise ValueError("the heads have different labels")
    return LinearHead(
        heads[0].labels, np.mean([h.coef for h in heads], axis=0), np.mean([h.intercept for h in heads], axis=0)
    )


def make_soup(runs: list[Path], out_dir: Path, version: str, real_dir: Path | None, console: Console | None = None,
              score: bool = False) -> dict[str, Any]:
    """Average ``runs`` (``pot train --lora`` output folders) into a head folder with its card."""
    from transformers import AutoModel, AutoTokenizer

    from .adapters import apply_head_changes
    from .corpus import build_corpus
    from .finetune import embed_all
    from .provision import resolve_encoder
    from .tuning import choose_biases, scored_sets, write_card

    console = console or Console(stderr=True)
    started = time.time()
    cards = [json.loads((run / "card.json").read_text()) for run in runs]
    encoders = {card["encoder"] for card in cards}
    if len(encoders) != 1 or any(card["config"].get("mode") != "lora" for card in cards):
        raise ValueError("every run must be a LoRA run of one encoder")
    average_adapters([run / "adapter" for run in runs], out_dir / "adapter")
    linear = average_heads(runs)
    encoder = encoders.pop()
    path = resolve_encoder(encoder)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = apply_head_changes(AutoModel.from_pretrained(path), out_dir).eval()
    max_length = int(cards[0]["config"].get("max_length", 128))
    corpus = build_corpus(real_dir)
    console.print(f"embedding {len(corpus.validation)} validation rows with the averaged encoder")
    x_val = embed_all(model, tokenizer, [e.text for e in corpus.validation], max_length, bf16=False)
    calibration = choose_biases(linear, x_val, corpus.validation)
    linear.save(out_dir)
    card: dict[str, Any] = {
        "version": version,
        "encoder": encoder,
        "quantize": False,
        "head": f"uniform weight average of {len(runs)} runs ({cards[0]['head']})",
        "soup_of": [{"run": run.name, "version": c["version"], "seed": c["config"].get("seed"),
                     "real_per_epoch": c["config"].get("real_per_epoch"), "best_epoch": c.get("best_epoch"),
                     "validation_after": c["calibration"]["validation_after"]}
                    for run, c in zip(runs, cards)],
        "calibration": calibration,
        "temperature": calibration["temperature"],
        "corpus": corpus.summary(),
        "config": {**cards[0]["config"], "seed": [c["config"].get("seed") for c in cards], "out_dir": str(out_dir)},
        "trained_in_s": round(sum(c.get("trained_in_s", 0.0) for c in cards) + time.time() - started, 1),
    }
    if score:
        card["scores"] = scored_sets(linear, lambda texts: embed_all(model, tokenizer, texts, max_length, False), corpus.tests, console)
    write_card(out_dir, card)
    return card


def main(
    runs: list[Path] = typer.Argument(..., help="`pot train --lora` output folders of the same settings."),
    out: Path = typer.Option(..., help="Folder for the averaged head (adapter, head.npz, card)."),
    version: str = typer.Option(..., help="The head's name, written into its card."),
    real_dir: Optional[Path] = typer.Option(None, help="Real labelled posts (default: ../shared/data/real when present)."),
    score: bool = typer.Option(False, help="Also score every held-out set into the card (`pot eval` does the same)."),
) -> None:
    from .datasets import default_real_dir

    card = make_soup(runs, out, version, real_dir or default_real_dir())
    print(json.dumps({"out": str(out), "calibration": card["calibration"]}, indent=2))


if __name__ == "__main__":
    typer.run(main)
