"""Human label corrections: validated on the way in, turned into training rows on the way out
(``pot corrections export``, :mod:`streams.cli.corrections`, reads the topic)."""

from __future__ import annotations

from typing import Any

from .records import Correction, isoformat, utcnow
from .vocabulary import LABELS

__all__ = ["InvalidCorrection", "latest_by_post", "parse_correction"]


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
