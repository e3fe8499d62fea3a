"""The model soup (classifiers/soup.py): the averaged adapter merges into exactly the mean of the runs' updates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from classifiers.adapters import merge_lora
from classifiers.head import LinearHead
from classifiers.soup import average_adapters, average_heads

KEY = "base_model.model.q"


def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Module()
    model.q = torch.nn.Linear(6, 5)
    return model


def adapter(path: Path, r: int, alpha: int, seed: int, rslora: bool = False) -> Path:
    g = torch.Generator().manual_seed(seed)
    path.mkdir(parents=True)
    save_file({f"{KEY}.lora_A.weight": torch.randn(r, 6, generator=g), f"{KEY}.lora_B.weight": torch.randn(5, r, generator=g)},
              str(path / "adapter_model.safetensors"))
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": r, "lora_alpha": alpha, "use_rslora": rslora}))
    return path


def merged_update(adapter_dir: Path) -> torch.Tensor:
    model = tiny()
    before = model.q.weight.detach().clone()
    return merge_lora(model, adapter_dir).q.weight.detach() - before


@pytest.mark.parametrize("rslora", [False, True])
def test_the_averaged_adapter_merges_into_the_mean_of_the_runs_updates(tmp_path, rslora):
    runs = [adapter(tmp_path / "a", 4, 8, 1, rslora), adapter(tmp_path / "b", 4, 8, 2, rslora), adapter(tmp_path / "c", 2, 16, 3)]
    config = average_adapters(runs, tmp_path / "soup")
    assert config["r"] == 10
    expected = torch.stack([merged_update(run) for run in runs]).mean(0)
    torch.testing.assert_close(merged_update(tmp_path / "soup"), expected, rtol=1e-5, atol=1e-5)
    # the soup is not simply one of its runs
    assert not torch.allclose(merged_update(tmp_path / "soup"), merged_update(runs[0]), atol=1e-3)


def test_adapters_of_different_modules_are_refused(tmp_path):
    a = adapter(tmp_path / "a", 4, 8, 1)
    b = tmp_path / "b"
    b.mkdir()
    save_file({"base_model.model.k.lora_A.weight": torch.zeros(4, 6), "base_model.model.k.lora_B.weight": torch.zeros(5, 4)},
              str(b / "adapter_model.safetensors"))
    (b / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8}))
    with pytest.raises(ValueError, match="different modules"):
        average_adapters([a, b], tmp_path / "soup")


def test_the_heads_are_averaged(tmp_path):
    labels = ("praise", "complaint")
    LinearHead(labels, np.ones((2, 3), np.float32), np.array([1.0, 0.0], np.float32), 2.0).save(tmp_path / "a")
    LinearHead(labels, np.zeros((2, 3), np.float32), np.array([0.0, 2.0], np.float32), 1.0).save(tmp_path / "b")
    head = average_heads([tmp_path / "a", tmp_path / "b"])
    np.testing.assert_allclose(head.coef, np.full((2, 3), 0.5))
    np.testing.assert_allclose(head.intercept, [0.5, 1.0])
    assert head.labels == labels and head.temperature == 1.0


def test_a_soups_card_names_its_runs_and_no_missing_epoch():
    from classifiers.cards import render_card

    run = {"run": "r6000", "version": "v", "seed": 7, "real_per_epoch": 6000, "best_epoch": 4, "validation_after": {"val_score": 0.88}}
    card = {"version": "soup", "encoder": "e5", "head": "average", "temperature": 1.5, "soup_of": [run, {**run, "run": "r3500"}],
            "calibration": {"complaint_bias": 1.0, "other_bias": 0.5, "temperature": 1.5}}
    text = render_card(card)
    assert "averaged run r6000 (v): seed 7, 6000 real posts per epoch, best epoch 4" in text and "averaged run r3500" in text
    assert "best epoch None" not in text
