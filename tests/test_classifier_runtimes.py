"""The e5 encoder runtimes (classifiers/runtime): selection, exactness of the compact embedding table,
batch invariance and agreement with torch fp32 (the runtime the head was trained and scored with).

The tests marked ``weights`` load the real encoder and export the graphs once per
module (cached under ``$POT_MODEL_CACHE/runtimes``; about a minute each the first time).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifiers.checks import PROBE_TEXTS, check_batch_invariance
from classifiers.datasets import brand_split
from classifiers.e5_head import E5HeadClassifier, shipped_head_dir
from classifiers.head import LinearHead
from classifiers.runtime import (
    DEFAULT_RUNTIMES,
    REFERENCE_RUNTIME,
    RUNTIMES,
    batch_drift,
    create_runtime,
    default_runtime,
    installed,
    resolve_name,
    usable,
)
from classifiers.runtime.base import width_batches

weights = pytest.mark.weights


def test_auto_picks_the_first_default_this_machine_can_run() -> None:
    expected = next((n for n in DEFAULT_RUNTIMES if usable(n)), REFERENCE_RUNTIME)
    assert resolve_name(None) == resolve_name("auto") == resolve_name(" AUTO ") == default_runtime() == expected
    assert resolve_name("torch-fp32") == "torch-fp32"


def test_unknown_runtime_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="torch-fp32"):
        resolve_name("tensorflow")


def test_every_runtime_names_an_importable_class() -> None:
    from importlib import import_module

    for name, (module, cls, _) in RUNTIMES.items():
        runtime_cls = getattr(import_module(f"classifiers.runtime.{module}"), cls)
        assert runtime_cls.name == name


def test_the_default_runtimes_are_installed_by_the_main_dependencies() -> None:
    assert all(installed(name) for name in DEFAULT_RUNTIMES)
    assert usable(DEFAULT_RUNTIMES[-1]), "the last default must run on any CPU"


@pytest.mark.skipif(not installed("openvino-bf16"), reason="needs OpenVINO")
@pytest.mark.parametrize("has_bf16", [True, False])
def test_auto_takes_bf16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch, has_bf16: bool) -> None:
    from classifiers.runtime import openvino_runtime

    monkeypatch.setattr(openvino_runtime, "cpu_has_bf16", lambda: has_bf16)
    assert resolve_name("auto") == ("openvino-bf16" if has_bf16 else "onnx-fp32")
    if has_bf16:
        assert resolve_name("openvino-bf16") == "openvino-bf16"
    else:
        with pytest.raises(ValueError, match="AVX-512 BF16"):
            resolve_name("openvino-bf16")


@given(st.lists(st.integers(1, 300), max_size=60), st.integers(1, 32), st.sampled_from([1, 8, 16]))
def test_width_batches_pad_each_post_by_its_own_length_alone(lengths: list[int], size: int, multiple: int) -> None:
    batches = width_batches(lengths, size, multiple)
    assert sorted(i for idx, _ in batches for i in idx) == list(range(len(lengths)))
    for idx, width in batches:
        assert 0 < len(idx) <= size
        assert all(width == -(-lengths[i] // multiple) * multiple for i in idx)


# --------------------------------------------------------------------------- real weights

TEXTS = [e.text for e in brand_split("test")][::9] + list(PROBE_TEXTS)


@pytest.fixture(scope="module")
def head() -> LinearHead:
    return LinearHead.load(shipped_head_dir())


@pytest.fixture(scope="module")
def reference(head: LinearHead) -> np.ndarray:
    runtime = create_runtime("torch-fp32", shipped_head_dir(), threads=2).load()
    return runtime.encode(TEXTS)


@pytest.fixture(scope="module")
def auto_runtime():  # type: ignore[no-untyped-def]
    return create_runtime(default_runtime(), shipped_head_dir(), threads=2).load()


@weights
def test_tokenizer_without_transformers_gives_the_ids_of_autotokenizer() -> None:
    from transformers import AutoTokenizer

    from classifiers.provision import resolve_encoder
    from classifiers.runtime.base import E5_PREFIX, load_tokenizer

    folder = resolve_encoder()
    texts = [E5_PREFIX + t for t in TEXTS + ["", "x" * 3000, "emoji 🎉🎉 @user https://t.co/x #tag"]]
    ours = [e.ids for e in load_tokenizer(folder, 256).encode_batch(texts)]
    theirs = AutoTokenizer.from_pretrained(folder)(texts, truncation=True, max_length=256)["input_ids"]
    assert ours == theirs


@weights
def test_compact_embedding_table_is_bit_identical_to_fp32(auto_runtime) -> None:  # type: ignore[no-untyped-def]
    from classifiers.runtime.export import merged_model

    table = getattr(auto_runtime, "table_", None)
    if table is None:
        pytest.skip("the default runtime keeps the embedding in its model")
    assert table.kind == "q4"
    model = merged_model(auto_runtime.folder_, shipped_head_dir())
    ids = np.array([[0, 5, 6, 250000, 1, 2], [17, 17, 99999, 3, 1, 1]])
    expected = model.embeddings.word_embeddings.weight.detach().numpy()[ids]
    assert np.array_equal(table.lookup(ids), expected)


@weights
def test_default_runtime_scores_a_post_the_same_with_any_batch_mates(auto_runtime, head: LinearHead) -> None:  # type: ignore[no-untyped-def]
    assert batch_drift(auto_runtime, TEXTS[:24], mates=15, score=head.predict_proba) <= 1e-4


@weights
def test_onnx_runtime_lets_idle_threads_sleep() -> None:
    options = create_runtime("onnx-fp32", shipped_head_dir(), threads=2).load().session_.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


@weights
def test_default_runtime_agrees_with_torch_fp32(auto_runtime, reference: np.ndarray, head: LinearHead) -> None:  # type: ignore[no-untyped-def]
    ours = auto_runtime.encode(TEXTS)
    cosine = (ours * reference).sum(axis=1)
    p_ours, p_ref = head.predict_proba(ours), head.predict_proba(reference)
    assert cosine.min() > 0.998
    assert np.abs(p_ours - p_ref).max() < 0.05
    assert (p_ours.argmax(1) == p_ref.argmax(1)).mean() >= 0.95


@weights
@pytest.mark.parametrize("name", ["onnx-fp32", "openvino-fp32"])
def test_fp32_graph_runtime_matches_torch_fp32(name: str, reference: np.ndarray) -> None:
    ours = create_runtime(name, shipped_head_dir(), threads=2).load().encode(TEXTS)
    assert np.abs(ours - reference).max() < 1e-4


@weights
def test_e5_head_takes_its_runtime_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POT_E5_RUNTIME", default_runtime())
    clf = E5HeadClassifier().load()
    assert clf.runtime_ == default_runtime()
    check_batch_invariance(clf)
    explicit = E5HeadClassifier(runtime="torch-fp32").load()
    assert explicit.runtime_ == "torch-fp32"
    a, b = clf.predict(TEXTS[:20]), explicit.predict(TEXTS[:20])
    assert sum(x.label == y.label for x, y in zip(a, b)) >= 19


@weights
@pytest.mark.skipif(not usable("openvino-bf16"), reason="openvino-bf16 needs OpenVINO and a CPU with bf16")
def test_bf16_runtime_scores_a_post_the_same_with_any_batch_mates(head: LinearHead, reference: np.ndarray) -> None:
    runtime = create_runtime("openvino-bf16", shipped_head_dir(), threads=2).load()
    assert batch_drift(runtime, TEXTS[:24], mates=15, score=head.predict_proba) <= 1e-4
    p_ours, p_ref = head.predict_proba(runtime.encode(TEXTS)), head.predict_proba(reference)
    assert np.abs(p_ours - p_ref).max() < 0.05
    assert (p_ours.argmax(1) == p_ref.argmax(1)).mean() >= 0.95
