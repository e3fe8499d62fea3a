"""Silences: matchers with an expiry, as in Alertmanager. A silenced alert is recorded, not sent.

Silences are shared by every worker: each one is a record on the compacted
``silences`` topic (keyed by its id; expiring one writes it again with an end
in the past), and every worker reads the whole topic. Matching is pure.

>>> s = Silence(id="s1", matchers={"label": ["praise"]}, starts_at=0, ends_at=100, created_by="ana")
>>> silenced_by([s], {"label": "praise"}, now=50) is s, silenced_by([s], {"label": "praise"}, now=150)
(True, None)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .policy import MATCH_KEYS
from .routing import matches


class Silence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: "si-" + secrets.token_hex(6))
    matchers: dict[str, list[str]] = Field(min_length=1)
    starts_at: float
    ends_at: float
    created_by: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=2000)

    @field_validator("matchers")
    @classmethod
    def _known(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(MATCH_KEYS))
        if unknown:
            raise ValueError(f"unknown matcher key(s) {unknown}; known: {', '.join(MATCH_KEYS)}")
        if any(not values or any(not v.strip() for v in values) for values in value.values()):
            raise ValueError("every matcher needs at least one non-empty value")
        return value

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at


def parse_matchers(items: Iterable[str]) -> dict[str, list[str]]:
    """``["label=praise,suggestion", "brand=acme"]`` → ``{"label": ["praise", "suggestion"], "brand": ["acme"]}``.

    >>> parse_matchers(["label=praise,suggestion", "brand=acme"])
    {'label': ['praise', 'suggestion'], 'brand': ['acme']}
    """
    found: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"matcher {item!r} must look like key=value[,value]")
        found.setdefault(key.strip(), []).extend(v.strip() for v in value.split(",") if v.strip())
    return found


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, Any], now: float) -> Silence | None:
    """The first active silence whose matchers all hold for these labels."""
    return next((s for s in silences if s.active(now) and matches(s.matchers, labels)), None)
