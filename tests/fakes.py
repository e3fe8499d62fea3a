"""Tiny classifiers for tests that need a second model without loading weights."""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.base import LABELS, Classifier, Prediction


class AlwaysOther(Classifier):
    """Says every post is noise: a shadow that disagrees with every alert the primary raises."""

    name = "always-other"
    version = "1"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        scores = {label: (0.96 if label == "other" else 0.01) for label in LABELS}
        return [Prediction("other", 0.96, dict(scores)) for _ in texts]


class Broken(Classifier):
    """Fails on every batch, as a model with a bug would."""

    name = "broken"
    version = "1"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        raise ValueError("weights are corrupt")


class FailsOnBoom(AlwaysOther):
    """Fails on a batch that contains the word "boom", as a model with an input-dependent bug would."""

    name = "fails-on-boom"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if any("boom" in text for text in texts):
            raise ValueError("tensor shape mismatch on boom")
        return super().predict(texts)


class ByTag(Classifier):
    """Labels a post by the first ``#label`` tag in its text (``other`` without one): desk tests choose labels."""

    name = "by-tag"
    version = "1"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        found = []
        for text in texts:
            label = next((lab for lab in LABELS if f"#{lab}" in text), "other")
            scores = {lab: (0.9 if lab == label else 0.025) for lab in LABELS}
            found.append(Prediction(label, 0.9, scores))
        return found


class SlowByTag(ByTag):
    """:class:`ByTag` at a real model's pace (20 ms a post, ~50 posts/s), so a burst builds a backlog."""

    name = "slow-by-tag"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        import time

        time.sleep(0.02 * len(texts))
        return super().predict(texts)


class VerySlowByTag(ByTag):
    """:class:`ByTag` taking 0.2 s a post, so a stop is sure to catch a batch in the middle."""

    name = "very-slow-by-tag"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        import time

        time.sleep(0.2 * len(texts))
        return super().predict(texts)
