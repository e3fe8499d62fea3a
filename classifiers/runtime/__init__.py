"""Encoder runtimes for the e5 head: one model, several ways to run its forward pass on a CPU.

=====================  =====================================================  ==================
name                   what                                                   needs
=====================  =====================================================  ==================
``torch-fp32``         the reference: what the head was trained and scored on  torch (always)
``torch-bf16``         torch with bfloat16 autocast                            torch
``openvino-int8``      int8 weights, per-token dynamic int8 activations        ``[fast]`` extra
``openvino-fp32``      OpenVINO, fp32                                          ``[fast]`` extra
``onnx-int8``          int8 weight blocks, int8 activations per row and block  ``[onnx]`` extra
``onnx-int8-dynamic``  per-tensor dynamic int8 (batch-dependent: not used)     ``[onnx]`` extra
``onnx-fp32``          ONNX Runtime, fp32                                      ``[onnx]`` extra
=====================  =====================================================  ==================

Chosen by ``$POT_E5_RUNTIME`` (or ``E5HeadClassifier(runtime=...)``); ``auto`` (the
default) takes :data:`DEFAULT_RUNTIME` when its packages are installed, else
``torch-fp32``. The choice was made by ``bench/runtime_bench.py``: the fastest
runtime whose macro-F1 is within 0.005 of torch fp32 on every held-out set and whose
scores move by at most 1e-4 when a post's batch-mates change. In the run recorded in
the README (2 cores with AVX-512 VNNI and AMX, loaded by other work) that was
``onnx-fp32``: 0 of 4,183 held-out labels changed; ``onnx-int8`` (batch-invariant, 2.1x
torch in that run) changed 16 and lost 0.015 macro-F1 on the 225-post tizard set,
``openvino-int8`` moved scores by 2e-2 with the batch-mates on this CPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .base import EncoderRuntime, batch_drift

__all__ = ["DEFAULT_RUNTIME", "RUNTIMES", "EncoderRuntime", "batch_drift", "create_runtime"]

RUNTIMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "torch-fp32": ("torch_runtime", "TorchRuntime", ("torch",)),
    "torch-bf16": ("torch_runtime", "TorchBf16Runtime", ("torch",)),
    "openvino-int8": ("openvino_runtime", "OpenVINORuntime", ("openvino", "nncf")),
    "openvino-fp32": ("openvino_runtime", "OpenVINOFp32Runtime", ("openvino",)),
    "onnx-int8": ("onnx_runtime", "OnnxRuntime", ("onnxruntime", "onnx", "onnx_ir")),
    "onnx-int8-dynamic": ("onnx_runtime", "OnnxDynamicRuntime", ("onnxruntime", "onnx", "onnx_ir")),
    "onnx-fp32": ("onnx_runtime", "OnnxFp32Runtime", ("onnxruntime", "onnx", "onnx_ir")),
}
"""name -> (module, class, packages it needs)."""

REFERENCE_RUNTIME = "torch-fp32"
DEFAULT_RUNTIME = "onnx-fp32"


def installed(name: str) -> bool:
    """Whether the packages ``name`` needs can be imported."""
    return all(importlib.util.find_spec(p) is not None for p in RUNTIMES[name][2])


def resolve_name(name: str | None) -> str:
    """``auto``/empty -> the default when installed, else the reference; unknown names raise."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return DEFAULT_RUNTIME if installed(DEFAULT_RUNTIME) else REFERENCE_RUNTIME
    if name not in RUNTIMES:
        raise ValueError(f"unknown e5 runtime {name!r}; known: auto, {', '.join(RUNTIMES)}")
    if not installed(name):
        raise ValueError(f"e5 runtime {name!r} needs {', '.join(RUNTIMES[name][2])}: pip install {' '.join(RUNTIMES[name][2]).replace('_', '-')}")
    return name


def create_runtime(
    name: str | None, head_dir: Path | None, encoder: str = "intfloat/multilingual-e5-small", max_length: int = 256,
    threads: int | None = None,
) -> EncoderRuntime:
    """An unloaded runtime ``name`` (see :func:`resolve_name`) for the head in ``head_dir``."""
    from importlib import import_module

    module, cls, _ = RUNTIMES[resolve_name(name)]
    return getattr(import_module(f"{__name__}.{module}"), cls)(head_dir, encoder, max_length, threads)
