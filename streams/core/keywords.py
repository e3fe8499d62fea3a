"""Keyword rules: configured phrases that tighten a post's response window.

A classifier gives every post a label and a window; some posts must not wait
for it. "Got food poisoning at your Bucharest branch" or "I'm calling my
lawyer" need a human in minutes whatever the label, so a small set of named
rules (``safety``, ``legal``, ``churn``, ``outage``, ...) each carry phrases, and
a hit can raise the priority or shorten the window.

Why matching happens on normalised text: posts are typed fast, on phones, in
many scripts and often without diacritics. "FOOD POISONING", "food  poisoning"
and the diacritic-less Romanian "otravire" (for "otrăvire") are the same signal,
so both every configured phrase and every post go through :func:`normalise`
(NFKC, casefold, diacritics stripped, quotes unified, whitespace collapsed)
before they meet. Phrases are therefore written naturally, with their
diacritics, in the configuration.

Phrase syntax (each phrase is compiled once, when the matcher is built):

* a phrase matches whole words only: ``sue you`` does not match "issue you";
  the boundaries are Unicode-aware, so this holds in Greek, Hebrew and Czech;
* words are separated by any run of whitespace or a hyphen in the post, so
  ``food poisoning`` also matches "food\\n poisoning" and "food-poisoning";
* a word ending in ``*`` matches any word it begins (a prefix match), which is
  how inflected languages are covered: ``poison*`` matches "poisoned" and
  "poisoning", Polish ``zatru* pokarm*`` matches "zatrucie pokarmowe" and
  "zatruciem pokarmowym". The star may end any word of a phrase, most often
  the last; a starred stem must keep at least three characters, because a
  shorter one would match half the dictionary;
* an apostrophe in a phrase is optional in the post (``can't log in`` also
  matches "cant log in"), and a hyphen inside a word of a phrase may be a
  hyphen, a space or nothing (``toxi-infecți*`` matches "toxiinfecție",
  "toxi-infecție" and "toxi infecție").

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
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .vocabulary import Priority

# Typed quote and apostrophe look-alikes become the plain ASCII ones, so "can’t"
# (an iPhone's default) and "can't" are one string. The acute accent and the
# backtick are here because keyboards without an apostrophe key produce them
# ("can´t"), and NFKC would otherwise turn "´" into a space and a combining mark.
# Hebrew geresh and gershayim become ' and " because most Hebrew keyboards type
# the ASCII ones for abbreviations such as עו"ד.
_BEFORE_NFKC = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u02bc": "'",  # modifier letter apostrophe
        "\u00b4": "'",  # acute accent used as an apostrophe
        "`": "'",
        "\u05f3": "'",  # Hebrew geresh
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u05f4": '"',  # Hebrew gershayim
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u200b": " ",  # zero-width space separates words; the other format characters are dropped
    }
)

# Letters with a stroke have no Unicode decomposition, so stripping combining
# marks leaves them alone; people who type without diacritics write them plain
# all the same (Polish "złożę" is typed "zloze").
_STROKES = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ŧ": "t", "ƀ": "b"})

_MIN_STEM = 3
_LANG_CODE = re.compile(r"[a-z]{2}")


def normalise(text: str) -> str:
    """The form in which posts and phrases are compared.

    NFKC first (full-width letters, ligatures and non-breaking spaces become
    plain ones), then casefold (which also folds German "ß" to "ss" and Greek
    final "ς" to "σ"), then diacritics are dropped (NFD, then every
    non-spacing mark removed: Romanian comma and cedilla, Czech háček, Greek
    tonos, Hebrew niqqud) and letters with a stroke lose it (Polish "ł"),
    format characters such as right-to-left marks and soft hyphens are
    removed (a zero-width space counts as a space), and whitespace runs
    become one space.

    >>> normalise("  FOOD   Poisoning\\n")
    'food poisoning'
    >>> normalise("Otrăvire, toxiinfecție"), normalise("Otrăvire") == normalise("otravire")
    ('otravire, toxiinfectie', True)
    >>> normalise("ΤΡΟΦΙΚΉ ΔΗΛΗΤΗΡΊΑΣΗ"), normalise("τροφικής")
    ('τροφικη δηλητηριαση', 'τροφικησ')
    >>> normalise("I can’t log in"), normalise("Złożę pozew")
    ("i can't log in", 'zloze pozew')
    """
    text = unicodedata.normalize("NFKC", text.translate(_BEFORE_NFKC)).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Cf"))
    return unicodedata.normalize("NFC", " ".join(kept.translate(_STROKES).split()))


def _char_pattern(ch: str) -> str:
    """One character of a normalised phrase as a regex; see the module docstring for ' and -."""
    if ch == "'":
        return "'?"
    if ch == "-":
        return r"[-\s]?"
    return re.escape(ch)


_WORD_START = r"(?<!\w)"
_WORD_END = r"(?!\w)"


def _phrase_body(phrase: str) -> str:
    """The regex for a phrase without its word boundaries, which the matcher hoists out of each rule."""
    words = normalise(phrase).split(" ")
    if words == [""]:
        raise ValueError(f"phrase {phrase!r} is blank once normalised")
    parts = []
    for word in words:
        stem, star = (word[:-1], True) if word.endswith("*") else (word, False)
        if "*" in stem:
            raise ValueError(f"phrase {phrase!r}: '*' may only end a word")
        if star and len(stem) < _MIN_STEM:
            raise ValueError(
                f"phrase {phrase!r}: a starred stem needs at least {_MIN_STEM} characters, got {stem!r}"
            )
        if not stem:
            raise ValueError(f"phrase {phrase!r} has an empty word")
        parts.append("".join(_char_pattern(ch) for ch in stem) + (r"\w*" if star else ""))
    return r"[\s-]+".join(parts)


def phrase_pattern(phrase: str) -> str:
    """The regex source for one configured phrase; raises ``ValueError`` for a malformed one.

    Kept public so that a configuration check can show an author what a phrase
    turned into.

    >>> phrase_pattern("Poison*")
    '(?<!\\\\w)poison\\\\w*(?!\\\\w)'
    >>> phrase_pattern("can't log in")
    "(?<!\\\\w)can'?t[\\\\s-]+log[\\\\s-]+in(?!\\\\w)"
    """
    return _WORD_START + _phrase_body(phrase) + _WORD_END


def _rule_regex(phrases: list[str]) -> re.Pattern[str]:
    """All of a rule's phrases as one regex, shaped for speed.

    One capturing group per phrase, in order, so a match's group index names
    its phrase. The word boundaries are checked once per position rather than
    once per phrase, and a look-ahead on the phrases' first letters lets the
    engine skip a position before it tries any alternative: together about ten
    times faster than a plain alternation of :func:`phrase_pattern` results.
    """
    firsts = {normalise(phrase)[0] for phrase in phrases}
    # An optional first character (' or -) would let a match start elsewhere: no look-ahead then.
    guard = "" if firsts & {"'", "-"} else "(?=[" + "".join(re.escape(ch) for ch in sorted(firsts)) + "])"
    alternatives = "|".join(f"({_phrase_body(phrase)})" for phrase in phrases)
    return re.compile(f"{_WORD_START}{guard}(?:{alternatives}){_WORD_END}")


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
            compiled.append(_CompiledRule(rule=rule, langs=langs, regex=_rule_regex(rule.phrases)))
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
