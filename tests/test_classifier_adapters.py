"""Head changes to the encoder are applied without peft, exactly as peft would merge them."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from classifiers.adapters import DELTA_FILE, apply_head_changes, has_encoder_changes, merge_lora  # noqa: E402


def tiny_bert() -> "transformers.BertModel":
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32
    )
    return transformers.BertModel(config).eval()


@pytest.mark.parametrize("targets", [["query", "value"], ["query", "key", "value", "dense"]])
def test_lora_merge_equals_peft(tmp_path: Path, targets: list[str]) -> None:
    peft = pytest.importorskip("peft")
    base = tiny_bert()
    lora = peft.get_peft_model(
        tiny_bert(), peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets, layers_to_transform=[1])
    )
    with torch.no_grad():
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_()
    lora.save_pretrained(tmp_path / "adapter")
    expected = lora.merge_and_unload().state_dict()
    merged = merge_lora(base, tmp_path / "adapter").state_dict()
    assert set(expected) == set(merged)
    for name, value in expected.items():
        assert torch.allclose(merged[name], value, atol=1e-6), name
    assert has_encoder_changes(tmp_path)


def test_weight_delta_is_added(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = tiny_bert()
    name = "encoder.layer.1.output.dense.weight"
    before = dict(model.named_parameters())[name].detach().clone()
    delta = torch.full_like(before, 0.5)
    save_file({name: delta}, str(tmp_path / DELTA_FILE))
    assert has_encoder_changes(tmp_path)
    apply_head_changes(model, tmp_path)
    assert torch.allclose(dict(model.named_parameters())[name], before + 0.5)


def test_a_delta_for_a_missing_parameter_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"encoder.layer.9.output.dense.weight": torch.zeros(2, 2)}, str(tmp_path / DELTA_FILE))
    with pytest.raises(ValueError, match="does not have"):
        apply_head_changes(tiny_bert(), tmp_path)
