"""Leave-one-language-out, the cheap way: the frozen base encoder and a logistic head (needs the train extra).

``python -m classifiers.lolo ro he el`` embeds the training rows (world and old brand posts, plus 2,000 real
rows) and the independent and old brand test posts once with the base e5 encoder (no adapter: the shipped
one has seen every language), then fits a class-balanced logistic head twice per language, with and without
that language's training posts, and prints macro-F1 on that language's held-out posts both ways. It measures
how far e5's multilingual space carries labels to a language nobody wrote examples for; a fine-tuned run
without the language (``pot train --exclude-lang X``) is the costlier check.
"""

from __future__ import annotations

import json
import random
import sys
import time

import numpy as np


def main(langs: list[str]) -> dict[str, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModel, AutoTokenizer

    from .base import LABELS
    from .corpus import build_corpus
    from .datasets import default_real_dir
    from .evaluate import macro_f1
    from .finetune import embed_all
    from .provision import resolve_encoder
    from .tuning import OWN_SOURCES

    corpus = build_corpus(default_real_dir())
    rows = corpus.train + corpus.validation
    own = [e for e in rows if e.source in OWN_SOURCES]
    real = [e for e in rows if e.source not in OWN_SOURCES]
    random.Random(0).shuffle(real)
    real = real[:2000]
    tests = corpus.tests["independent"] + corpus.tests["brand_posts"]
    path = resolve_encoder()
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    started = time.time()
    x = embed_all(model, tokenizer, [e.text for e in own + real + tests], 128, bf16=True)
    print(f"embedded {len(x)} posts in {time.time() - started:.0f} s", file=sys.stderr)
    x_own, x_real, x_test = x[: len(own)], x[len(own) : len(own) + len(real)], x[len(own) + len(real) :]
    y_own = np.array([LABELS.index(e.label) for e in own])
    y_real = np.array([LABELS.index(e.label) for e in real])
    out: dict[str, dict[str, float]] = {}
    for lang in langs:
        scores: dict[str, float] = {}
        for name, keep in (("with", np.ones(len(own), bool)), ("without", np.array([e.lang != lang for e in own]))):
            fit_x = np.concatenate([x_own[keep], x_real])
            fit_y = np.concatenate([y_own[keep], y_real])
            weight = np.concatenate([np.ones(int(keep.sum())), np.full(len(real), 0.5)])
            head = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(fit_x, fit_y, sample_weight=weight)
            predicted = head.predict(x_test)
            for set_name in ("independent", "brand_posts"):
                idx = [i for i, e in enumerate(tests) if e.lang == lang and e.source == set_name]
                truth = [tests[i].label for i in idx]
                scores[f"{set_name}_{name}"] = round(macro_f1(truth, [LABELS[predicted[i]] for i in idx], LABELS), 4)
        out[lang] = scores
        print(lang, json.dumps(scores), flush=True)
    return out


if __name__ == "__main__":
    main(sys.argv[1:] or ["ro", "he", "el"])
