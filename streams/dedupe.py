"""Dedupe by post key within a retention window, as a pure decision over plain numbers.

The state (first-seen time per post key) lives in a changelog-backed faust
table; after a crash that table can come back one update short, so a duplicate
may slip through here once. The alert id is stable (derived from the post key)
and the delivery log is keyed by it, which absorbs that case downstream.

>>> is_duplicate(first_seen=None, now=100.0, retention_s=60)
False
>>> is_duplicate(first_seen=90.0, now=100.0, retention_s=60)
True
>>> is_duplicate(first_seen=10.0, now=100.0, retention_s=60)
False
"""

from __future__ import annotations


def is_duplicate(first_seen: float | None, now: float, retention_s: float) -> bool:
    """True when the same post key was first seen less than ``retention_s`` ago."""
    return first_seen is not None and now - first_seen < retention_s

