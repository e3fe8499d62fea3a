"""torch runtimes: fp32 (the reference, what the head was trained with) and bf16 autocast.

bf16 autocast runs the linear layers in bfloat16 (fast where the CPU has AVX-512
BF16 or AMX) and keeps layer norms and softmax in fp32; a bfloat16 mantissa has 8
bits, so scores move by about 1e-3 against fp32 (measured by the runtime bench).
"""

from __future__ import annotations

import numpy as np

from .base import EncoderRuntime
from .export import merged_model, pooled_encoder


class TorchRuntime(EncoderRuntime):
    """The merged encoder in torch, fp32."""

    name = "torch-fp32"
    autocast_dtype = None

    def _load(self) -> None:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        self.model_ = pooled_encoder(merged_model(self.folder_, self.head_dir))
        self.hidden_size = self.model_.bert.config.hidden_size

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            ids, mask = torch.from_numpy(input_ids), torch.from_numpy(attention_mask)
            if self.autocast_dtype is None:
                return self.model_(ids, mask).numpy()
            with torch.autocast("cpu", dtype=self.autocast_dtype):
                return self.model_(ids, mask).float().numpy()


class TorchBf16Runtime(TorchRuntime):
    """The merged encoder in torch with bfloat16 autocast (linear layers in bf16)."""

    name = "torch-bf16"

    def _load(self) -> None:
        import torch

        super()._load()
        self.autocast_dtype = torch.bfloat16
