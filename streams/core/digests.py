"""Digests: low-urgency alerts batched into one message per receiver per interval.

A route with ``digest: 1h`` does not send its alerts one by one; each goes
into its receiver's buffer (a faust table on a one-partition topic, so one
worker owns each digest) and the buffer is sent as a single message once the
interval has passed since the last one. Pure functions over plain dicts.

>>> buf = add(None, {"alert_id": "a1", "label": "suggestion", "text": "add dark mode"}, every_s=3600, now=0.0)
>>> buf = add(buf, {"alert_id": "a2", "label": "praise", "text": "love it"}, every_s=3600, now=60.0)
>>> is_due(buf, now=3000.0), is_due(buf, now=3600.0)
(False, True)
>>> headline(buf["entries"])
'2 alerts in this digest: 1 suggestion, 1 praise'
"""

from __future__ import annotations

from collections import Counter
from typing import Any

MAX_ENTRIES = 200
"""Beyond this a digest keeps counting but stops listing, so one message stays readable and small."""


def add(buffer: dict[str, Any] | None, entry: dict[str, Any], every_s: int, now: float) -> dict[str, Any]:
    """A new buffer with the entry; the interval starts at the first entry after a send. Duplicates are ignored."""
    buffer = buffer or {"entries": [], "since": None, "every_s": every_s, "dropped": 0}
    if any(e["alert_id"] == entry["alert_id"] for e in buffer["entries"]):
        return buffer
    entries = list(buffer["entries"])
    dropped = buffer.get("dropped", 0)
    if len(entries) < MAX_ENTRIES:
        entries.append(entry)
    else:
        dropped += 1
    return {
        "entries": entries,
        "since": buffer["since"] if buffer["since"] is not None else now,
        "every_s": every_s,
        "dropped": dropped,
    }


def is_due(buffer: dict[str, Any] | None, now: float) -> bool:
    return bool(buffer and buffer["entries"] and now - buffer["since"] >= buffer["every_s"])


def headline(entries: list[dict[str, Any]], dropped: int = 0) -> str:
    """The first line of a digest: how many, of what."""
    counts = Counter(e["label"] for e in entries)
    total = len(entries) + dropped
    parts = ", ".join(f"{n} {label}" for label, n in counts.most_common())
    return f"{total} alert{'s' if total != 1 else ''} in this digest: {parts}" + (
        f" (and {dropped} more not listed)" if dropped else ""
    )
