"""OpenVINO runtimes: the merged encoder as OpenVINO IR, in bf16, fp32 or with int8 weights.

``openvino-bf16``: the fp32 graph run in bfloat16 where the CPU has it (AVX-512
BF16, AMX): fp32 weights and accumulation, bf16 products. On the project's 2-core
AMX Xeon it changed 2 of 4,183 held-out labels against torch fp32 at 4.6-5x its
best batch's speed. Rounding to bf16 turns the 1e-6 that padding to a longer batch-mate moves a
score into 1e-3, so this runtime pads each post to a multiple of ``PAD_MULTIPLE``
tokens set by its own length (:func:`.base.width_batches`): its batch-mates never
change its computation (measured: 1.2e-7).

``openvino-int8``: every weight matrix stored as int8 with a per-output-channel
scale and zero point (NNCF ``compress_weights``, ``INT8_ASYM``), activations
quantised on the fly per token in groups of ``DYNAMIC_QUANTIZATION_GROUP_SIZE``
(32) values. Measured on an AVX2 machine it was batch-invariant; on the AVX-512
VNNI/AMX machine of this project's benchmark it was not (scores moved by up to
2e-2 with the batch-mates), see docs/performance.md.
``openvino-fp32``: the same graph in fp32. ``openvino-int8`` needs the ``[openvino]`` extra (NNCF).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from .graph import GraphRuntime

GROUP_SIZE = 32
PAD_MULTIPLE = 8


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin computes in bf16 here (else a bf16 hint would run emulated or in fp32)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVINORuntime(GraphRuntime):
    name = "openvino-int8"
    packages = ("openvino", "nncf")
    int8 = True
    precision = "f32"

    @property
    def settings(self) -> dict[str, Any]:
        return {"int8": self.int8}

    @staticmethod
    def convert(module: Any, example: tuple[Any, Any], out: Path, int8: bool = True) -> None:
        import openvino as ov

        model = ov.convert_model(
            module,
            example_input=example,
            input=[("tokens", ov.PartialShape([-1, -1, example[0].shape[-1]]), ov.Type.f32),
                   ("attention_mask", ov.PartialShape([-1, -1]), ov.Type.i64)],
        )
        if int8:
            import nncf

            model = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
        ov.save_model(model, out / "model.xml", compress_to_fp16=False)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_PRECISION_HINT": self.precision,
            "DYNAMIC_QUANTIZATION_GROUP_SIZE": str(GROUP_SIZE if self.int8 else 0),
        }
        if self.threads:
            cfg["INFERENCE_NUM_THREADS"] = str(self.threads)
        return cfg

    def _open(self, folder: Path) -> None:
        import openvino as ov

        self.compiled_ = ov.Core().compile_model(str(folder / "model.xml"), "CPU", self.config())
        self.request_ = self.compiled_.create_infer_request()

    def _run(self, embeds: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        self.request_.infer({"tokens": embeds, "attention_mask": attention_mask})
        return np.array(self.request_.get_output_tensor(0).data, dtype=np.float32, copy=True)


class OpenVINOFp32Runtime(OpenVINORuntime):
    name = "openvino-fp32"
    packages = ("openvino",)
    int8 = False


class OpenVINOBf16Runtime(OpenVINOFp32Runtime):
    name = "openvino-bf16"
    precision = "bf16"
    pad_multiple = PAD_MULTIPLE
    cpu_needs = "AVX-512 BF16 or AMX"

    @classmethod
    def supported(cls) -> bool:
        return cpu_has_bf16()
