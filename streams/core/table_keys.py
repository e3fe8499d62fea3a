"""Reading the dedupe and author tables across the alias folding: canonical key first, then the keys the same
post or author had before platform names were folded.

Posts are keyed ``platform:id`` and authors ``platform:author_id`` with the canonical platform name
(:func:`streams.core.vocabulary.canonical_platform`). Entries written before the folding (``twitter:123``)
are not rewritten: rewriting a compacted, partitioned changelog in place is riskier than reading old keys. So
a lookup that misses the canonical key tries the aliases of its platform, as they were written then (lower
case, as most producers spell them, and capitalised); a value found there is used as if it had been stored
under the canonical key, and what routing writes next goes under the canonical key. The legacy entry expires
with its retention like any other.

>>> table = {"twitter:42": {"posts": [[1.0, "complaint"]]}}
>>> read_through(table, "x:42")
{'posts': [[1.0, 'complaint']]}
>>> read_through(table, "x:43") is None, read_through({"x:42": 1, "twitter:42": 2}, "x:42")
(True, 1)
"""

from __future__ import annotations

from typing import Any, Protocol

from .vocabulary import PLATFORM_ALIASES

__all__ = ["legacy_keys", "read_through"]


class Readable(Protocol):
    """A faust table or a dict: only ``get`` is used."""

    def get(self, key: str, default: Any = None) -> Any: ...


def legacy_keys(key: str) -> list[str]:
    """The keys an entry for the canonical ``key`` may have been written under before aliases were folded.

    >>> legacy_keys("x:123")[:4]
    ['twitter:123', 'Twitter:123', 'tweet:123', 'Tweet:123']
    >>> legacy_keys("google:r1")[:2], legacy_keys("tiktok:1"), legacy_keys("no-colon")
    (['gbp:r1', 'Gbp:r1'], [], [])
    """
    platform, colon, rest = key.partition(":")
    if not colon:
        return []
    names = [alias for alias, canonical in PLATFORM_ALIASES.items() if canonical == platform]
    if names:
        names.append(platform)
    spelled = dict.fromkeys(form for name in names for form in (name, name.capitalize()))
    return [f"{name}:{rest}" for name in spelled if name != platform]


def read_through(table: Readable, key: str) -> Any:
    """The value under ``key``, else the first found under one of its :func:`legacy_keys`, else ``None``."""
    value = table.get(key)
    if value is not None:
        return value
    for old in legacy_keys(key):
        value = table.get(old)
        if value is not None:
            return value
    return None
