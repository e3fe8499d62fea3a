"""int8 on CPU, two ways, against fp32: torch's ``quantize_dynamic`` and ONNX Runtime's dynamic int8.

    .venv/bin/pip install onnx onnxruntime onnxscript   # measurement only, not a project dependency
    .venv/bin/python bench/int8_compare.py

Same encoder (shipped adapter merged), same head, same held-out brand posts. Prints, per engine: posts/s
at batch 32, macro-F1 on the held-out brand posts, and how far a post's scores move when its
batch-mates change (max |Δp| between scoring it alone and inside a batch).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sklearn.metrics import f1_score

    from classifiers.base import LABELS
    from classifiers.datasets import brand_split
    from classifiers.e5_head import E5Encoder, shipped_head_dir
    from classifiers.embedding import E5_PREFIX, mean_pool
    from classifiers.head import LinearHead

    head_dir = shipped_head_dir()
    head = LinearHead.load(head_dir)
    test = brand_split("test")
    texts = [e.text for e in test]
    truth = [e.label for e in test]

    fp32 = E5Encoder(quantize=False, adapter_dir=head_dir / "adapter").load()
    tq = E5Encoder(quantize=True, adapter_dir=head_dir / "adapter").load()
    tokenizer = fp32.tokenizer_

    def measure(name: str, encode) -> str:  # type: ignore[no-untyped-def]
        encode(texts[:16])
        start = time.perf_counter()
        x = np.concatenate([encode(texts[i:i + 32], batch_size=32) for i in range(0, len(texts), 32)])
        speed = len(texts) / (time.perf_counter() - start)
        probs = head.predict_proba(x)
        f1 = f1_score(truth, [LABELS[i] for i in probs.argmax(1)], average="macro")
        alone = head.predict_proba(np.concatenate([encode([t], batch_size=1) for t in texts[:40]]))
        drift = float(np.abs(alone - probs[:40]).max())
        return f"{name:12} {speed:8.1f} {f1:9.3f} {drift:18.3f}"

    # torch first: exporting to ONNX leaves the torch model changed (scores move afterwards).
    measured = [("torch fp32", measure("torch fp32", fp32.encode)), ("torch int8", measure("torch int8", tq.encode))]
    tmp = Path(tempfile.mkdtemp())
    sample = tokenizer(["query: hello there"], return_tensors="pt")

    class Hidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    torch.onnx.export(
        Hidden(fp32.model_), (sample["input_ids"], sample["attention_mask"]), str(tmp / "model.onnx"),
        input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"}, "last_hidden_state": {0: "b", 1: "t"}},
        opset_version=17, dynamo=False,
    )
    quantize_dynamic(str(tmp / "model.onnx"), str(tmp / "model.int8.onnx"), weight_type=QuantType.QInt8)
    sessions = {name: ort.InferenceSession(str(tmp / f), providers=["CPUExecutionProvider"])
                for name, f in (("onnx fp32", "model.onnx"), ("onnx int8", "model.int8.onnx"))}

    def onnx_encode(session):
        def encode(batch: list[str], batch_size: int = 8) -> np.ndarray:
            out = []
            for i in range(0, len(batch), batch_size):
                enc = tokenizer([E5_PREFIX + t for t in batch[i:i + batch_size]], padding=True, truncation=True,
                                max_length=256, return_tensors="np")
                hidden = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                            "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
                pooled = mean_pool(torch.from_numpy(hidden), torch.from_numpy(enc["attention_mask"])).numpy()
                out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
            return np.concatenate(out)
        return encode

    engines = {name: onnx_encode(s) for name, s in sessions.items()}
    print(f"{'engine':12} {'posts/s':>8} {'macro-F1':>9} {'max |Δp| by batch':>18}")
    for _, line in measured:
        print(line, flush=True)
    for name, encode in engines.items():
        print(measure(name, encode), flush=True)


if __name__ == "__main__":
    main()
