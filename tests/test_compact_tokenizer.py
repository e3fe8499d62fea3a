"""The compact tokenizer gives HF tokenizers' ids on every post the project holds, in far less memory.

The real sources (``../shared/data/real``) are read too where the checkout has them beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.datasets import default_real_dir
from classifiers.runtime.base import E5_PREFIX
from classifiers.runtime.compact_tokenizer import CompactTokenizer

ROOT = Path(__file__).resolve().parents[1]
EDGES = [
    "", " ", "  x  ", "<s>", "a<s>b", "x <mask> y", "x<mask>", "<pad><unk></s>", "</s>x</s>", "<s >", "\n\n", "tab\there",
    "🎉🎉🎉", "emoji 🎉🎉 @user https://t.co/x #tag", "x" * 3000, " ".join(["word"] * 400), "updates....they ask",
    "日本語のテキスト", "ﬁ ligature ①②", "\u200b\u200bzero width", "a\u0301e\u0301", "Ὀδυσσεύς", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\x00\x01ctrl", "ǅ ǈ", "Comanda nr. 4471 nu a ajuns!!! 😡", "ההזמנה לא הגיעה", "Πού είναι η παραγγελία μου;",
]


def project_posts() -> list[str]:
    texts = [json.loads(line).get("text") for f in sorted((ROOT / "classifiers" / "data").rglob("*.jsonl"))
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    real = default_real_dir()
    if real is not None:
        texts += [json.loads(line)["text"] for f in sorted(real.glob("*.jsonl"))
                  for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [t for t in texts if t]


@pytest.fixture(scope="module")
def e5_tokenizer_json() -> Path:
    from classifiers.provision import resolve_encoder

    return Path(resolve_encoder()) / "tokenizer.json"


@pytest.mark.weights
def test_the_ids_are_hf_tokenizers_own_on_every_post_and_edge_case(e5_tokenizer_json: Path) -> None:
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(e5_tokenizer_json))
    hf.no_padding()
    hf.enable_truncation(max_length=256)
    ours = CompactTokenizer.from_file(e5_tokenizer_json, 256)
    posts = project_posts()
    assert len(posts) > 9_000  # the project's own files; the real sources too where this checkout has them
    texts = [E5_PREFIX + t for t in posts] + EDGES + [E5_PREFIX + t for t in EDGES]
    theirs = [e.ids for e in hf.encode_batch(texts)]
    mine = [e.ids for e in ours.encode_batch(texts)]
    assert [t for t, a, b in zip(texts, theirs, mine) if a != b] == []
    assert ours.token_to_id("<pad>") == hf.token_to_id("<pad>") == 1


@pytest.mark.weights
def test_the_runtimes_read_e5_with_it(e5_tokenizer_json: Path) -> None:
    from classifiers.runtime.base import load_tokenizer

    tokenizer = load_tokenizer(e5_tokenizer_json.parent, 256)
    assert isinstance(tokenizer, CompactTokenizer)
    assert len(tokenizer.encode_batch(["x " * 1000])[0].ids) == 256


def test_other_models_are_refused() -> None:
    with pytest.raises(ValueError, match="Unigram"):
        CompactTokenizer({"model": {"type": "BPE", "vocab": {}, "merges": []}}, 16)
