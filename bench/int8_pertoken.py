"""Does int8 arithmetic pay on this CPU once a post's result must not depend on its batch-mates?

    .venv/bin/python bench/int8_pertoken.py [--posts 256] [--rounds 3]

Issue 17 allows int8 only where a post's scores do not depend on the other posts in its batch, so the
activation scales must come from the post itself. This bench takes the default runtime's graph (onnx-fp32:
the fused fp32 export of the shipped head) and builds, in memory, the int8 schemes that keep that rule:

- ``w8a8 per token``: each layer's attention-output, FFN-in and FFN-out MatMul as int8 weights (one scale per
  output channel) times activations quantised to int8 with one scale per token (the token's own largest
  value), through ONNX Runtime's ``MatMulInteger`` (VNNI/AMX kernels). Integer sums are exact and each token
  has its own scale, so batch-mates cannot move a result. Q/K/V live inside the fused Attention kernel and
  stay fp32.
- ``w8a8 per token, 4 outlier channels fp32``: the same, with the four input channels of largest magnitude per
  MatMul (chosen on 512 training posts, never on held-out ones) multiplied in fp32 beside the int8 product, as
  LLM.int8 does: the LayerNorm outputs of this encoder have two or three channels 10x the rest, which
  otherwise set every token's scale.
- ``nbits 8-bit, blocks of 16``: ONNX Runtime's ``MatMulNBits`` with accuracy level 4 (activations quantised
  per row and block of 16: the scheme of the ``onnx-int8`` runtime) on the same fused graph.

Printed in one run, rounds interleaved: posts/s (the best round; sorted length batches of at most 64), labels
changed against fp32 on the validation rows and on every held-out set, the worst held-out macro-F1 change,
the largest score change, and batch drift. Results: ``bench/out/int8_pertoken.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OUTLIERS = 4


def weight_matmuls(model: Any) -> list[Any]:
    """The MatMul nodes whose right-hand side is a 2-D weight (the ones worth quantising)."""
    from onnx import numpy_helper

    weights = {i.name: i for i in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights
            and numpy_helper.to_array(weights[n.input[1]]).ndim == 2]


def calibrate(model: Any, feed: Any, texts: list[str]) -> dict[str, np.ndarray]:
    """Largest |value| of each input channel of every weight MatMul, over ``texts`` (each run alone)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = sorted({n.input[0] for n in weight_matmuls(model)})
    for name in names:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    amax: dict[str, np.ndarray] = {}
    for text in texts:
        for name, x in zip(names, session.run(names, feed(text))):
            seen = np.abs(x.reshape(-1, x.shape[-1])).max(0)
            amax[name] = np.maximum(amax[name], seen) if name in amax else seen
    return amax


def per_token_int8(model: Any, amax: dict[str, np.ndarray] | None = None, outliers: int = 0) -> Any:
    """``model`` with every weight MatMul as int8 weights per channel x int8 activations per token."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    weights = {i.name: i for i in graph.initializer}
    targets = {n.name for n in weight_matmuls(out)}
    added = [helper.make_tensor("pt_zp", TensorProto.UINT8, [], [128]),
             numpy_helper.from_array(np.array(127.0, np.float32), "pt_127"),
             numpy_helper.from_array(np.array(128.0, np.float32), "pt_128"),
             numpy_helper.from_array(np.array(1e-12, np.float32), "pt_eps")]
    nodes = []
    for k, node in enumerate(graph.node):
        if node.name not in targets:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        x, p = node.input[0], f"pt{k}"
        product = node.output[0]
        if outliers:
            keep = np.sort(np.argsort(-amax[x])[:outliers])
            mask = np.ones(w.shape[0], np.float32)
            mask[keep] = 0
            added += [numpy_helper.from_array(keep.astype(np.int64), p + "_oi"), numpy_helper.from_array(w[keep], p + "_ow"),
                      numpy_helper.from_array(mask, p + "_mask")]
            nodes += [helper.make_node("Gather", [x, p + "_oi"], [p + "_xo"], axis=-1),
                      helper.make_node("MatMul", [p + "_xo", p + "_ow"], [p + "_yo"]),
                      helper.make_node("Mul", [x, p + "_mask"], [p + "_xn"])]
            x, w, product = p + "_xn", w * mask[:, None], p + "_yn"
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        added += [numpy_helper.from_array(np.clip(np.round(w / w_scale), -127, 127).astype(np.int8), p + "_wq"),
                  numpy_helper.from_array(w_scale.astype(np.float32), p + "_ws")]
        nodes += [
            helper.make_node("Abs", [x], [p + "_abs"]),
            helper.make_node("ReduceMax", [p + "_abs"], [p + "_max"], axes=[-1], keepdims=1),
            helper.make_node("Max", [p + "_max", "pt_eps"], [p + "_maxe"]),
            helper.make_node("Div", [p + "_maxe", "pt_127"], [p + "_xs"]),
            helper.make_node("Div", [x, p + "_xs"], [p + "_xd"]),
            helper.make_node("Round", [p + "_xd"], [p + "_xr"]),
            helper.make_node("Add", [p + "_xr", "pt_128"], [p + "_xu"]),
            helper.make_node("Cast", [p + "_xu"], [p + "_xq"], to=TensorProto.UINT8),
            helper.make_node("MatMulInteger", [p + "_xq", p + "_wq", "pt_zp"], [p + "_y32"]),
            helper.make_node("Cast", [p + "_y32"], [p + "_yf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [p + "_xs", p + "_ws"], [p + "_s"]),
            helper.make_node("Mul", [p + "_yf", p + "_s"], [product]),
        ]
        if outliers:
            nodes.append(helper.make_node("Add", [product, p + "_yo"], [node.output[0]]))
    used = {i for n in nodes for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    return out


def nbits(model: Any) -> Any:
    """A copy of ``model`` through the ``onnx-int8`` runtime's quantiser (which rewrites what it is given in place)."""
    import logging

    import onnx

    from classifiers.runtime.onnx_runtime import quantize_nbits

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)  # a line per node
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return quantize_nbits(copy).model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=256, help="Held-out posts timed each round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()

    import onnx
    import onnxruntime as ort
    from rich.console import Console
    from rich.table import Table

    from classifiers.corpus import build_corpus, heldout_sets
    from classifiers.datasets import default_real_dir
    from classifiers.e5_head import E5HeadClassifier
    from classifiers.evaluate import macro_f1
    from classifiers.runtime import batch_drift
    from classifiers.runtime.base import E5_PREFIX

    console = Console(stderr=True)
    clf = E5HeadClassifier(runtime="onnx-fp32").load()
    encoder, head = clf.encoder_, clf.head_
    corpus = build_corpus(default_real_dir())
    sets = heldout_sets(default_real_dir())
    heldout = list(dict.fromkeys(e.text for rows in sets.values() for e in rows))
    validation = sorted({e.text for e in corpus.validation})
    train = sorted({e.text for e in corpus.train})
    rng = np.random.default_rng(17)
    timed = [heldout[i] for i in rng.permutation(len(heldout))[: args.posts]]
    calibration = [train[i] for i in np.random.default_rng(3).permutation(len(train))[:512]]

    def feed(text: str) -> dict[str, np.ndarray]:
        ids = np.array([encoder.tokenizer_.encode_batch([E5_PREFIX + text])[0].ids], np.int64)
        return {"tokens": encoder.table_.lookup(ids), "attention_mask": np.ones_like(ids)}

    fp32 = onnx.load(str(encoder.export_dir_ / "model.onnx"))
    console.print(f"calibrating outlier channels on {len(calibration)} training posts")
    amax = calibrate(fp32, feed, calibration)
    variants = {
        "fp32 (onnx-fp32, default)": fp32,
        "w8a8 per token": per_token_int8(fp32),
        f"w8a8 per token, {OUTLIERS} outlier channels fp32": per_token_int8(fp32, amax, OUTLIERS),
        "nbits 8-bit, blocks of 16": nbits(fp32),
    }
    sessions = {name: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) for name, m in variants.items()}

    def use(name: str) -> None:
        encoder.session_ = sessions[name]

    speed: dict[str, float] = {name: 0.0 for name in sessions}
    for r in range(args.rounds):
        for name in sessions:
            use(name)
            encoder.encode(timed[:32])
            start = time.perf_counter()
            head.predict_proba(encoder.encode(timed, batch_size=64))
            speed[name] = max(speed[name], len(timed) / (time.perf_counter() - start))
        console.print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n.split(' (')[0]} {s:.0f}/s" for n, s in speed.items()))
    rows: dict[str, dict[str, Any]] = {}
    reference: dict[str, np.ndarray] = {}
    for name in sessions:
        use(name)
        console.print(f"scoring {name}")
        probs = {"validation": head.predict_proba(encoder.encode(validation, batch_size=64)),
                 "heldout": head.predict_proba(encoder.encode(heldout, batch_size=64))}
        reference = reference or probs
        labels = dict(zip(heldout, (head.labels[i] for i in probs["heldout"].argmax(1))))
        ref_labels = dict(zip(heldout, (head.labels[i] for i in reference["heldout"].argmax(1))))
        change = {}
        for set_name, examples in sets.items():
            gold, names = [e.label for e in examples], sorted({e.label for e in examples})
            change[set_name] = macro_f1(gold, [labels[e.text] for e in examples], names) - macro_f1(gold, [ref_labels[e.text] for e in examples], names)
        worst = max(change, key=lambda k: abs(change[k]))
        rows[name] = {
            "posts_per_s": round(speed[name], 1),
            "validation_changed": int((probs["validation"].argmax(1) != reference["validation"].argmax(1)).sum()),
            "heldout_changed": int((probs["heldout"].argmax(1) != reference["heldout"].argmax(1)).sum()),
            "max_score_change": float(np.abs(probs["heldout"] - reference["heldout"]).max()),
            "largest_f1_change": round(change[worst], 4), "largest_f1_change_set": worst,
            "drift": batch_drift(encoder, timed[:48], mates=15, score=head.predict_proba),
        }
    base = rows["fp32 (onnx-fp32, default)"]["posts_per_s"]
    table = Table(title=f"int8 with per-post scales against fp32, one run ({len(validation)} validation rows, {len(heldout)} held-out posts)")
    for column in ("scheme", "posts/s", "vs fp32", "labels changed: validation / held-out", "largest macro-F1 change (set)",
                   "max score change", "drift across batch-mates"):
        table.add_column(column)
    for name, row in rows.items():
        table.add_row(name, f"{row['posts_per_s']:.1f}", f"{row['posts_per_s'] / base:.2f}x",
                      f"{row['validation_changed']} / {row['heldout_changed']}",
                      f"{row['largest_f1_change']:+.4f} ({row['largest_f1_change_set']})", f"{row['max_score_change']:.3f}", f"{row['drift']:.1e}")
    Console(width=200).print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "int8_pertoken.json").write_text(json.dumps({"posts": len(timed), "rounds": args.rounds, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
