"""Dedupe by post key within a retention window, as a pure decision over plain data.

The state (first-seen time and the Kafka position it was first seen at, per
post key) lives in a changelog-backed faust table. Remembering the position
makes the decision idempotent under replay: after a crash the same record is
read again and must be processed again (its alert may not have been sent),
while a second record with the same post key is a true duplicate. The alert
id is stable (derived from the post key) and the delivery log is keyed by it,
which absorbs a replayed alert downstream.

>>> is_duplicate(None, origin="0:5", now=100.0, retention_s=60)
False
>>> is_duplicate({"at": 90.0, "origin": "0:5"}, origin="0:9", now=100.0, retention_s=60)
True
>>> is_duplicate({"at": 90.0, "origin": "0:5"}, origin="0:5", now=100.0, retention_s=60)
False
>>> is_duplicate({"at": 10.0, "origin": "0:5"}, origin="0:9", now=100.0, retention_s=60)
False
"""

from __future__ import annotations

from typing import Any


def is_duplicate(seen: dict[str, Any] | None, origin: str, now: float, retention_s: float) -> bool:
    """True when another record with the same post key was first seen less than ``retention_s`` ago."""
    if not seen:
        return False
    return seen.get("origin") != origin and now - float(seen["at"]) < retention_s


def remember(origin: str, now: float) -> dict[str, Any]:
    """The table value stored for a post key the first time it is seen."""
    return {"at": now, "origin": origin}
