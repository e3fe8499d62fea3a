"""Trained encoder changes that a head ships, applied to the base encoder at load time without peft.

A head folder (``classifiers/heads/<name>/``) may carry any of:

* ``adapter/``: a LoRA adapter in peft's format (``adapter_config.json``,
  ``adapter_model.safetensors``). It is merged into the base weights,
  ``W += (alpha / r) * B @ A`` (``alpha / sqrt(r)`` with rsLoRA), so inference
  costs exactly what the base encoder costs;
* ``encoder_delta.safetensors``: differences from the base weights of the
  parameters that were fine-tuned (e.g. the encoder layers, with the embeddings
  frozen), keyed by ``BertModel`` parameter name, added to the base weights;
* ``encoder_layers.json`` (``{"keep": [0, 2, 3, ...]}``): a distilled student
  (:mod:`classifiers.distill`) runs only these encoder layers of the base, in
  this order, with its trained changes as a weight delta keyed by the student's
  own layer numbers.

The order is fixed: adapter merged, layers kept, delta added. Whatever the head
carries, the result is a plain ``BertModel``: :func:`export_merged` writes it as
an ordinary Hugging Face folder, the input for an ONNX or OpenVINO export.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["DELTA_FILE", "LAYERS_FILE", "apply_head_changes", "copy_encoder_changes", "export_merged", "merge_lora",
           "has_encoder_changes", "keep_layers"]

DELTA_FILE = "encoder_delta.safetensors"
LAYERS_FILE = "encoder_layers.json"
_PEFT_PREFIX = "base_model.model."


ADAPTER_DIR = "adapter"


def has_encoder_changes(head_dir: Path) -> bool:
    """True when the head changes the encoder (a LoRA adapter, a weight delta or a subset of its layers)."""
    return any((head_dir / name).is_file() for name in (f"{ADAPTER_DIR}/adapter_config.json", DELTA_FILE, LAYERS_FILE))


def copy_encoder_changes(head_dir: Path, out_dir: Path) -> None:
    """Copy what ``apply_head_changes`` reads from ``head_dir`` (and nothing else) into ``out_dir``."""
    import shutil

    if (head_dir / ADAPTER_DIR).is_dir():
        shutil.copytree(head_dir / ADAPTER_DIR, out_dir / ADAPTER_DIR)
    for name in (DELTA_FILE, LAYERS_FILE):
        if (head_dir / name).is_file():
            shutil.copy2(head_dir / name, out_dir / name)


def lora_scale(config: dict[str, Any]) -> float:
    """The factor peft applies to ``B @ A`` for an adapter config: ``alpha / r``, or ``alpha / sqrt(r)`` with rsLoRA."""
    r, alpha = int(config["r"]), float(config["lora_alpha"])
    return alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r


def merge_lora(model: Any, adapter_dir: Path) -> Any:
    """Merge a peft LoRA adapter into ``model``'s ``nn.Linear`` weights in place; returns ``model``."""
    import torch
    from safetensors.torch import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    unsupported = [k for k in ("use_dora", "fan_in_fan_out", "rank_pattern", "alpha_pattern") if config.get(k)]
    if config.get("peft_type", "LORA") != "LORA" or unsupported:
        raise ValueError(f"{adapter_dir}: only plain LoRA adapters can be merged here (found {unsupported or config.get('peft_type')})")
    scale = lora_scale(config)
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    modules = dict(model.named_modules())
    merged = 0
    with torch.no_grad():
        for key, a in tensors.items():
            if not key.endswith(".lora_A.weight"):
                continue
            name = key[: -len(".lora_A.weight")].removeprefix(_PEFT_PREFIX)
            b = tensors[key.replace(".lora_A.", ".lora_B.")]
            if name not in modules:
                raise ValueError(f"{adapter_dir}: the adapter changes {name!r}, which the encoder does not have")
            weight = modules[name].weight
            weight += (scale * (b.float() @ a.float())).to(weight.dtype)
            merged += 1
    if merged == 0:
        raise ValueError(f"{adapter_dir}: the adapter holds no LoRA weights")
    return model


def apply_delta(model: Any, path: Path) -> Any:
    """Add a saved weight delta (parameter name -> difference) to ``model`` in place; returns ``model``."""
    import torch
    from safetensors.torch import load_file

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, delta in load_file(str(path)).items():
            if name not in params:
                raise ValueError(f"{path}: the delta changes {name!r}, which the encoder does not have")
            params[name] += delta.to(params[name].dtype)
    return model


def save_delta(delta: dict[str, Any], path: Path) -> Path:
    """Write a weight delta (parameter name -> difference) in fp16, the format :func:`apply_delta` reads.

    fp16 rounding of a small difference costs far less than rounding the weights themselves.
    """
    from safetensors.torch import save_file

    save_file({name: d.detach().half().contiguous() for name, d in delta.items()}, str(path))
    path.chmod(0o644)
    return path


def keep_layers(model: Any, keep: list[int]) -> Any:
    """``model`` (a ``BertModel``) running only the encoder layers in ``keep``, in that order, in place; returns it.

    Layer ``j`` of the result is layer ``keep[j]`` of the original, so a student's
    delta is keyed by ``encoder.layer.j``.
    """
    import torch

    layers = model.encoder.layer
    if not keep or any(not 0 <= i < len(layers) for i in keep) or len(set(keep)) != len(keep):
        raise ValueError(f"layers to keep must be distinct indices below {len(layers)}, got {keep}")
    model.encoder.layer = torch.nn.ModuleList([layers[i] for i in keep])
    model.config.num_hidden_layers = len(keep)
    return model


def apply_head_changes(model: Any, head_dir: Path) -> Any:
    """The base encoder with the head's adapter merged, layers kept and delta added (unchanged when it has none)."""
    adapter = head_dir / ADAPTER_DIR
    if (adapter / "adapter_config.json").is_file():
        merge_lora(model, adapter)
    if (head_dir / LAYERS_FILE).is_file():
        keep_layers(model, [int(i) for i in json.loads((head_dir / LAYERS_FILE).read_text())["keep"]])
    if (head_dir / DELTA_FILE).is_file():
        apply_delta(model, head_dir / DELTA_FILE)
    return model


def export_merged(head_dir: Path, out_dir: Path, encoder: str = "intfloat/multilingual-e5-small") -> Path:
    """Write the head's encoder, changes merged, as a plain Hugging Face folder (model and tokenizer).

    The linear head itself stays in ``head.npz``; with mean pooling and L2
    normalisation it is all a runtime needs (ONNX, OpenVINO or torch).
    """
    from transformers import AutoModel, AutoTokenizer

    from .provision import resolve_encoder

    path = resolve_encoder(encoder)
    model = apply_head_changes(AutoModel.from_pretrained(path), head_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(path).save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":  # python -m classifiers.adapters HEAD_DIR OUT_DIR
    import sys

    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m classifiers.adapters HEAD_DIR OUT_DIR  (writes the merged encoder as a HF folder)")
    print(export_merged(Path(sys.argv[1]), Path(sys.argv[2])))
