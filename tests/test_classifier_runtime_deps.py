"""The monitor's runtime imports without the training extra (peft, scikit-learn, matplotlib)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

TRAINING_ONLY = ("peft", "sklearn", "matplotlib")

RUNTIME_MODULES = (
    "classifiers",
    "classifiers.adapters",
    "classifiers.e5_head",
    "classifiers.embedding",
    "classifiers.encoder",
    "classifiers.eval_cli",
    "classifiers.evaluate",
    "classifiers.minilm_head",
    "classifiers.provision",
    "classifiers.relabel",
    "classifiers.corpus",
    "streams.agents",
    "streams.runtime",
    "streams.cli",
)


def test_runtime_imports_without_the_training_extra() -> None:
    script = textwrap.dedent(
        f"""
        import importlib, importlib.abc, sys
        blocked = {TRAINING_ONLY!r}

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in blocked:
                    raise ImportError(f"{{name}} is a training dependency")
                return None

        sys.meta_path.insert(0, Block())
        for module in {RUNTIME_MODULES!r}:
            importlib.import_module(module)
        import numpy as np
        from classifiers.evaluate import report
        report(["praise", "complaint"], ["praise", "praise"], np.array([0.9, 0.6]), ["praise", "complaint"], ["en", "fr"])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
        assert not loaded, loaded
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
