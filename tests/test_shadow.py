"""Shadow mode: only disagreements are reported, with both models' labels."""

from __future__ import annotations

from datetime import datetime, timezone

from classifiers.base import Prediction
from streams.core.steps import disagreements
from streams.core.records import Author, Post


def test_only_disagreements_are_reported():
    posts = [Post(id=str(i), platform="x", text=f"t{i}", created_at="2026-11-23T09:00:00Z", author=Author(id="a")) for i in range(3)]
    primary = [Prediction("complaint", 0.9, {}), Prediction("praise", 0.8, {}), Prediction("question", 0.7, {}, "fr")]
    shadow = [Prediction("complaint", 0.6, {}), Prediction("other", 0.55, {}), Prediction("suggestion", 0.5, {})]
    found = disagreements(posts, primary, shadow, "e5-head", "candidate", datetime(2026, 11, 23, tzinfo=timezone.utc))
    assert [(d.post_key, d.primary_label, d.shadow_label) for d in found] == [("x:1", "praise", "other"), ("x:2", "question", "suggestion")]
    assert found[1].lang == "fr" and found[1].shadow_model == "candidate"
