"""Keyword rules: configured phrases that tighten a post's response window.

A classifier gives every post a label and a window; some posts must not wait
for it. "Got food poisoning at your Bucharest branch" or "I'm calling my
lawyer" need a human in minutes whatever the label, so a small set of named
rules (``safety``, ``legal``, ``churn``, ``outage``, ...) each carry phrases, and
a hit can raise the priority or shorten the window.

Phrases are matched on normalised text, whole words only, with ``*`` for
inflections; the folding and the phrase syntax are in :mod:`streams.core.phrases`.
The default classes ship in ``default_keywords.yaml`` (:func:`load_default_keywords`).

>>> matcher = KeywordMatcher([
...     KeywordRule(name="safety", phrases=["food poison*"], priority="P1", window_s=900),
...     KeywordRule(name="safety", phrases=["otrăvi*"], langs=["ro"], priority="P1", window_s=900),
... ])
>>> [(hit.name, hit.phrase) for hit in matcher.match("Got FOOD  Poisoning at your place", lang="en")]
[('safety', 'food poison*')]
>>> [hit.phrase for hit in matcher.match("am avut o otravire dupa masa", lang="ro")]
['otrăvi*']
>>> matcher.match("the food was poisonous-looking but fine", lang="en")
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .phrases import normalise, phrase_pattern, phrases_regex
from .vocabulary import Priority

__all__ = [
    "KeywordHit", "KeywordMatcher", "KeywordRule", "RecentMatches", "load_default_keywords", "normalise",
    "phrase_pattern",
]

_LANG_CODE = re.compile(r"[a-z]{2}")


class KeywordRule(BaseModel):
    """One named class of phrases, with what a hit does to the post's alert.

    Several rules may share a ``name`` (one per language, say); each still
    yields at most one hit, so callers that want one hit per class deduplicate
    on ``name``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    phrases: list[str] = Field(min_length=1)
    langs: list[str] | None = None
    priority: Priority | None = None
    # Strict, because YAML reads "window_s: yes" as True, which lax validation would turn into 1 s.
    window_s: int | None = Field(default=None, gt=0, strict=True)
    reason: str | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value

    @field_validator("phrases")
    @classmethod
    def _phrases_compile(cls, value: list[str]) -> list[str]:
        """Reject a malformed phrase when the configuration loads, not when the first post arrives."""
        for phrase in value:
            if not phrase.strip():
                raise ValueError("phrases must not be blank")
            phrase_pattern(phrase)
        return value

    @field_validator("langs")
    @classmethod
    def _iso_639_1(cls, value: list[str] | None) -> list[str] | None:
        """Lower-case two-letter codes only: a typo such as "EN" or "eng" would silently never apply."""
        if value is None:
            return None
        if not value:
            raise ValueError("langs must be null (any language) or name at least one code")
        for code in value:
            if not _LANG_CODE.fullmatch(code):
                raise ValueError(f"langs: {code!r} is not a lower-case ISO 639-1 code such as 'en'")
        return value


@dataclass(frozen=True)
class KeywordHit:
    """A rule that matched a post, and the configured phrase that made it match."""

    name: str
    phrase: str
    priority: Priority | None
    window_s: int | None
    reason: str | None


@dataclass(frozen=True)
class _CompiledRule:
    rule: KeywordRule
    langs: frozenset[str] | None
    regex: re.Pattern[str]


def _primary_subtag(lang: str | None) -> str | None:
    """The language part of a tag: "pt-BR", "pt_br" and "PT" all mean the rules for "pt".

    A blank tag means the language is unknown, like ``None``.
    """
    if lang is None:
        return None
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    return code or None


class KeywordMatcher:
    """Matches posts against keyword rules, each compiled once into one alternation regex.

    Language choice: a rule with ``langs`` applies when the post's language is
    one of them. When the language is unknown (``lang=None``), every rule
    applies, language-specific ones included: detection fails on short posts,
    and a missed "food poisoning" costs far more than a human glancing at a
    false alarm.
    """

    def __init__(self, rules: Iterable[KeywordRule]) -> None:
        compiled = []
        for rule in rules:
            langs = frozenset(rule.langs) if rule.langs is not None else None
            compiled.append(_CompiledRule(rule=rule, langs=langs, regex=phrases_regex(rule.phrases)))
        self._rules = tuple(compiled)

    @property
    def rules(self) -> tuple[KeywordRule, ...]:
        """The rules in the order their hits are reported."""
        return tuple(c.rule for c in self._rules)

    def match(self, text: str, lang: str | None) -> list[KeywordHit]:
        """Hits for ``text``, at most one per rule, in rule order.

        Within a rule the reported phrase is the one found earliest in the
        post; where two phrases match at the same place, the one listed first.
        """
        normalised = normalise(text)
        code = _primary_subtag(lang)
        hits = []
        for compiled in self._rules:
            if code is not None and compiled.langs is not None and code not in compiled.langs:
                continue
            found = compiled.regex.search(normalised)
            if found is None:
                continue
            rule = compiled.rule
            index = (found.lastindex or 1) - 1
            hits.append(
                KeywordHit(
                    name=rule.name,
                    phrase=rule.phrases[index],
                    priority=rule.priority,
                    window_s=rule.window_s,
                    reason=rule.reason,
                )
            )
        return hits


class RecentMatches:
    """A matcher that remembers its last results, for a pipeline that asks twice about the same post.

    Triage asks before classification and routing asks after it; with the
    post's own language the two questions are identical, and a few hundred
    regexes per post are the costliest thing the worker does besides Kafka.
    """

    def __init__(self, matcher: KeywordMatcher, size: int = 4096) -> None:
        self.matcher = matcher
        self.size = size
        self._recent: dict[tuple[str, str | None], list[KeywordHit]] = {}

    def match(self, text: str, lang: str | None) -> list[KeywordHit]:
        key = (text, lang)
        hits = self._recent.get(key)
        if hits is None:
            hits = self.matcher.match(text, lang)
            if len(self._recent) >= self.size:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = hits
        return list(hits)


def load_default_keywords() -> list[KeywordRule]:
    text = resources.files("streams.core").joinpath("default_keywords.yaml").read_text(encoding="utf-8")
    return [KeywordRule.model_validate(rule) for rule in yaml.safe_load(text)]
