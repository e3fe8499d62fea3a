"""Human label corrections: validated on the way in, exported as training data on the way out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import LABELS, Settings
from .records import Correction, isoformat, utcnow
from .topic_reader import read_topic


class InvalidCorrection(ValueError):
    """A correction that names no text or no known label."""


def parse_correction(obj: Any, actor: str) -> Correction:
    """Validate a correction sent to ``POST /corrections``.

    >>> parse_correction({"text": "could you add Apple Pay?", "right_label": "suggestion"}, "ana").right_label
    'suggestion'
    """
    if not isinstance(obj, dict):
        raise InvalidCorrection("a correction must be a JSON object")
    text, label = obj.get("text"), obj.get("right_label")
    if not isinstance(text, str) or not text.strip():
        raise InvalidCorrection("text is required")
    if label not in LABELS:
        raise InvalidCorrection(f"right_label must be one of {', '.join(LABELS)}")
    optional = {k: obj.get(k) for k in ("post_key", "alert_id", "wrong_label", "lang")}
    if any(v is not None and not isinstance(v, str) for v in optional.values()):
        raise InvalidCorrection("post_key, alert_id, wrong_label and lang must be strings")
    return Correction(text=text, right_label=label, actor=str(obj.get("actor") or actor)[:200], at=isoformat(utcnow()), **optional)


def latest_by_post(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Training rows from corrections, one per post (the latest wins), in first-seen order.

    >>> latest_by_post([{"text": "a", "right_label": "praise", "post_key": "k"},
    ...                 {"text": "a", "right_label": "complaint", "post_key": "k", "lang": "en"}])
    [{'text': 'a', 'label': 'complaint', 'lang': 'en'}]
    """
    rows: dict[str, dict[str, str]] = {}
    for record in records:
        key = record.get("post_key") or record["text"]
        rows[key] = {"text": record["text"], "label": record["right_label"], "lang": record.get("lang") or "?"}
    return list(rows.values())


def export_corrections(settings: Settings, out: Path, timeout_s: float = 5.0) -> int:
    rows = latest_by_post(read_topic(settings.bootstrap_servers, settings.topic("corrections"), timeout_s))
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)
