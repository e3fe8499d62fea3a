"""ONNX Runtime: the merged encoder exported to ONNX, fp32 or with int8 weights.

``onnx-int8``: every weight matrix as 8-bit blocks of 16 along the input dimension
(``MatMulNBits``, a scale and zero point per block and output channel) with
``accuracy_level`` 4, under which ONNX Runtime quantises activations to int8 per
row and block: a post's arithmetic depends on its own tokens only (batch-invariant).

``onnx-int8-dynamic``: ONNX Runtime's classic ``quantize_dynamic`` (int8 weights per
channel, activations per *tensor*): measured to show why it is not used, the
activation scale comes from the whole batch.

``onnx-fp32``: the graph in fp32, each layer's attention, bias+GELU and residual+LayerNorm
fused into single kernels by ONNX Runtime's transformer optimiser (:func:`fuse_transformer_ops`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .graph import GraphRuntime

BLOCK = 16


class OnnxRuntime(GraphRuntime):
    name = "onnx-int8"
    packages = ("onnxruntime", "onnx", "onnx_ir")
    mode = "nbits"

    @property
    def settings(self) -> dict[str, Any]:
        return {"mode": self.mode, "block": BLOCK}

    @staticmethod
    def convert(module: Any, example: tuple[Any, Any], out: Path, mode: str = "nbits", block: int = BLOCK) -> None:
        import onnx
        import torch

        fp32 = out / "model.fp32.onnx"
        torch.onnx.export(
            module, example, str(fp32), input_names=["tokens", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"tokens": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"}, "embedding": {0: "b"}},
            opset_version=17, dynamo=False,
        )
        target = out / "model.onnx"
        if mode == "fp32":
            fuse_transformer_ops(fp32, target, module.bert.config)
            fp32.unlink()
            return
        if mode == "dynamic":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
        else:
            quantize_nbits(onnx.load(str(fp32)), block).save_model_to_file(str(target), use_external_data_format=False)
        fp32.unlink()

    def _open(self, folder: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle pool threads sleep instead of spinning: in the pipeline the classifier shares the cores with the
        # worker and the broker, and spinning burnt 15 % of its CPU per post (docs/performance.md, "No spinning").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session_ = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def _run(self, embeds: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self.session_.run(None, {"tokens": embeds, "attention_mask": attention_mask})[0]
        return np.asarray(out, dtype=np.float32)


def quantize_nbits(model: Any, block: int = BLOCK) -> Any:
    """``model`` with every MatMul as 8-bit blocks of ``block`` at accuracy level 4 (the ``onnx-int8`` scheme).

    Rewrites ``model`` in place (ONNX Runtime's quantiser does) and returns the quantiser's ``ONNXModel``
    wrapper (``.model`` is the graph, ``.save_model_to_file`` writes it).
    """
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(
        block_size=block, is_symmetric=False, accuracy_level=4, bits=8, op_types_to_quantize=("MatMul",),
        quant_axes=(("MatMul", 0),),
    )
    quantizer = MatMulNBitsQuantizer(model, algo_config=config)
    quantizer.process()
    return quantizer.model


def fuse_transformer_ops(source: Path, target: Path, config: Any) -> None:
    """``source`` with each layer's attention, bias+GELU and residual+LayerNorm fused into one ONNX Runtime kernel.

    The session's own optimiser does not find the attention pattern of an export from torch; the transformer
    optimiser shipped with ONNX Runtime does. Same arithmetic in fewer passes over memory: measured to give the
    same embeddings to 2e-7 and about 10-15% less CPU per post (bench/runtime_bench.py).
    """
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(
        str(source), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size, opt_level=1,
    )
    model.save_model_to_file(str(target))


class OnnxDynamicRuntime(OnnxRuntime):
    name = "onnx-int8-dynamic"
    mode = "dynamic"


class OnnxFp32Runtime(OnnxRuntime):
    name = "onnx-fp32"
    mode = "fp32"
