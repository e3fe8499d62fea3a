"""Noisy variants of training posts: new text for a teacher to label while a student learns from it.

Issue 17 asks for a student trained on the training posts *plus unlabelled text*;
none in the twelve languages is at hand here, and the held-out sets may never be
used. Distillation does not need gold labels, only text the teacher can be asked
about, so each epoch shows the student some training posts changed the ways real
posts differ from written examples: typed without diacritics (Romanian, Czech,
Polish, Greek with its tonos), all lower case, a word missing, two words swapped,
cut short. The teacher's answer for the changed text is the target, so the
student learns the teacher's behaviour around the training posts, not only at
them (TinyBERT's augmentation, without its word-embedding neighbours).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable

__all__ = ["VARIANTS", "noisy_variant", "without_diacritics"]


def without_diacritics(text: str) -> str:
    """The text as typed on a keyboard without diacritics: combining marks dropped, letters kept."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _lower(text: str, rng: random.Random) -> str:
    return text.lower()


def _plain(text: str, rng: random.Random) -> str:
    return without_diacritics(text)


def _drop_word(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 4:
        return text
    del words[rng.randrange(len(words))]
    return " ".join(words)


def _swap_words(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 3:
        return text
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _cut(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 6:
        return text
    return " ".join(words[: rng.randint(max(3, len(words) // 2), len(words) - 1)])


VARIANTS: dict[str, Callable[[str, random.Random], str]] = {
    "lower": _lower,
    "without_diacritics": _plain,
    "drop_word": _drop_word,
    "swap_words": _swap_words,
    "cut": _cut,
}


def noisy_variant(text: str, rng: random.Random) -> str:
    """One variant of ``text``, by a change drawn from :data:`VARIANTS`; the text itself where no change applies.

    Draws are taken from ``rng`` only, so a seeded run makes the same variants.
    """
    names = list(VARIANTS)
    rng.shuffle(names)
    for name in names:
        changed = VARIANTS[name](text, rng)
        if changed != text:
            return changed
    return text
