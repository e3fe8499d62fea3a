"""Encoder runtimes for the e5 head: one model, several ways to run its forward pass on a CPU.

=====================  =====================================================  ==================
name                   what                                                   needs
=====================  =====================================================  ==================
``torch-fp32``         the reference: what the head was trained and scored on  torch (always)
``torch-bf16``         torch with bfloat16 autocast                            torch
``openvino-bf16``      OpenVINO in bf16, each post padded by its own length    a CPU with bf16
``openvino-int8``      int8 weights, per-token dynamic int8 activations        ``[openvino]`` extra
``openvino-fp32``      OpenVINO, fp32                                          main dependencies
``onnx-int8``          int8 weight blocks, int8 activations per row and block  main dependencies
``onnx-int8-dynamic``  per-tensor dynamic int8 (batch-dependent: not used)     main dependencies
``onnx-fp32``          ONNX Runtime, fp32                                      main dependencies
=====================  =====================================================  ==================

Chosen by ``$POT_E5_RUNTIME`` (or ``E5HeadClassifier(runtime=...)``); ``auto`` (the
default) takes the first of :data:`DEFAULT_RUNTIMES` this machine can run
(:func:`default_runtime`), else ``torch-fp32``. The order was set by
``bench/runtime_bench.py``: the fastest runtime whose macro-F1 is within 0.005 of
torch fp32 on every held-out set and whose scores move by at most 1e-4 when a post's
batch-mates change. On the project's 2-core Xeon (AVX-512 BF16, AMX) that is
``openvino-bf16`` (5x torch fp32's best batch, 2 of 4,183 held-out labels changed,
no set moved by more than 0.002); on a CPU without bf16 it is ``onnx-fp32``
(1.5-1.75x, the same labels as torch). ``onnx-int8`` (2.1x) lost 0.015 macro-F1 on
the 225-post tizard set; ``openvino-int8`` moved scores by 2e-2 with the batch-mates
on the AMX CPU (docs/performance.md).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .base import EncoderRuntime, batch_drift

__all__ = ["DEFAULT_RUNTIMES", "RUNTIMES", "EncoderRuntime", "batch_drift", "create_runtime", "default_runtime", "runtime_class"]

RUNTIMES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "torch-fp32": ("torch_runtime", "TorchRuntime", ("torch",)),
    "torch-bf16": ("torch_runtime", "TorchBf16Runtime", ("torch",)),
    "openvino-int8": ("openvino_runtime", "OpenVINORuntime", ("openvino", "nncf")),
    "openvino-fp32": ("openvino_runtime", "OpenVINOFp32Runtime", ("openvino",)),
    "openvino-bf16": ("openvino_runtime", "OpenVINOBf16Runtime", ("openvino",)),
    "onnx-int8": ("onnx_runtime", "OnnxRuntime", ("onnxruntime", "onnx", "onnx_ir")),
    "onnx-int8-dynamic": ("onnx_runtime", "OnnxDynamicRuntime", ("onnxruntime", "onnx", "onnx_ir")),
    "onnx-fp32": ("onnx_runtime", "OnnxFp32Runtime", ("onnxruntime", "onnx", "onnx_ir")),
}
"""name -> (module, class, packages it needs)."""

REFERENCE_RUNTIME = "torch-fp32"
DEFAULT_RUNTIMES = ("openvino-bf16", "onnx-fp32")
"""What ``auto`` tries, fastest first (measured by bench/runtime_bench.py)."""


def installed(name: str) -> bool:
    """Whether the packages ``name`` needs can be imported."""
    return all(importlib.util.find_spec(p) is not None for p in RUNTIMES[name][2])


def runtime_class(name: str) -> type[EncoderRuntime]:
    """The class behind ``name``, imported only now: most runtimes' packages are heavy."""
    from importlib import import_module

    module, cls, _ = RUNTIMES[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)


def usable(name: str) -> bool:
    """Installed, and this CPU can run it as measured (see ``EncoderRuntime.supported``)."""
    return installed(name) and runtime_class(name).supported()


def default_runtime() -> str:
    """The runtime ``auto`` stands for on this machine."""
    return next((name for name in DEFAULT_RUNTIMES if usable(name)), REFERENCE_RUNTIME)


def resolve_name(name: str | None) -> str:
    """``auto``/empty -> :func:`default_runtime`; unknown names, and runtimes this machine cannot run, raise."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return default_runtime()
    if name not in RUNTIMES:
        raise ValueError(f"unknown e5 runtime {name!r}; known: auto, {', '.join(RUNTIMES)}")
    if not installed(name):
        raise ValueError(f"e5 runtime {name!r} needs {', '.join(RUNTIMES[name][2])}: pip install {' '.join(RUNTIMES[name][2]).replace('_', '-')}")
    if not usable(name):
        raise ValueError(f"e5 runtime {name!r} does not run on this CPU as measured (it needs {runtime_class(name).cpu_needs}); use auto")
    return name


def create_runtime(
    name: str | None, head_dir: Path | None, encoder: str = "intfloat/multilingual-e5-small", max_length: int = 256,
    threads: int | None = None,
) -> EncoderRuntime:
    """An unloaded runtime ``name`` (see :func:`resolve_name`) for the head in ``head_dir``."""
    return runtime_class(resolve_name(name))(head_dir, encoder, max_length, threads)
