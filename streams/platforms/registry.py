"""Find a platform's mapper by format name: the built-in table, then the ``points_of_truth.platforms``
entry point group (a package adds a format without editing this one, as classifiers do).

>>> sorted(available())[:3]
['bluesky', 'facebook', 'google']
>>> canonical_platform("Twitter"), canonical_platform("gbp"), canonical_platform("myspace")
('x', 'google', 'myspace')
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from ..core.vocabulary import PLATFORM_ALIASES, canonical_platform
from ..core.vocabulary import PLATFORMS as CANONICAL
from .base import Context, Mapped

__all__ = ["ALIASES", "BUILTIN", "GROUP", "PLATFORMS", "UnknownFormat", "available", "canonical_platform", "get"]

GROUP = "points_of_truth.platforms"
Mapper = Callable[[Any, Context], Mapped]

PLATFORMS = CANONICAL
"""The canonical platform names (:data:`streams.core.vocabulary.PLATFORMS`): every mapper's ``platform``."""
ALIASES = PLATFORM_ALIASES
"""Other names for the same platforms, accepted as format names and folded by validation."""

BUILTIN: dict[str, str] = {
    "x": "streams.platforms.x:map_x",
    "mastodon": "streams.platforms.mastodon:map_mastodon",
    "bluesky": "streams.platforms.bluesky:map_bluesky",
    "reddit": "streams.platforms.reddit:map_reddit",
    "facebook": "streams.platforms.facebook:map_facebook",
    "instagram": "streams.platforms.instagram:map_instagram",
    "trustpilot": "streams.platforms.trustpilot:map_trustpilot",
    "google": "streams.platforms.google:map_google",
}


class UnknownFormat(LookupError):
    """No mapper of that name is built in or installed."""


def available() -> list[str]:
    return sorted({*BUILTIN, *(ep.name for ep in entry_points(group=GROUP))})


def _load(target: str) -> Mapper:
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def get(name: str) -> Mapper:
    """The mapper for a format name (aliases accepted: ``twitter`` is ``x``)."""
    key = canonical_platform(name)
    if key in BUILTIN:
        return _load(BUILTIN[key])
    for ep in entry_points(group=GROUP):
        if ep.name == key:
            return ep.load()
    raise UnknownFormat(f"no format named {name!r}; known: {', '.join(available())}")
