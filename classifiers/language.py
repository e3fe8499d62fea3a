"""Language identification for posts that arrive without a ``lang``.

py3langid ships its own model (no download); on very short texts it guesses
wildly, so a guess below :data:`MIN_PROBABILITY` is reported as unknown
(``None``) rather than as a confident wrong language.
"""

from __future__ import annotations

from functools import lru_cache

MIN_PROBABILITY = 0.4


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or ``None`` when unsure.

    >>> detect("Proč mi už třetí den nejde internet?")
    'cs'
    >>> detect("ok") is None
    True
    """
    if len(text.strip()) < 3:
        return None
    lang, prob = _identifier().classify(text)
    return str(lang) if prob >= MIN_PROBABILITY else None
