"""Native payloads of social platforms and review sites in, posts of the wire contract out.

- one mapper per platform (:mod:`.x`, :mod:`.mastodon`, :mod:`.bluesky`, :mod:`.reddit`,
  :mod:`.facebook`, :mod:`.instagram`, :mod:`.trustpilot`, :mod:`.google`), pure functions found
  by name in :mod:`.registry`; their field tables are in ``docs/platforms.md``;
- :mod:`.intake`: map and validate lines or payloads (``pot send --format`` in :mod:`streams.cli.native`,
  ``POST /ingest/{format}`` in :mod:`streams.api.ingest`);
- :mod:`.meta_webhook`: the Meta verification handshake and ``X-Hub-Signature-256``;
- :mod:`.connectors`: long-running readers of the platforms that keep their cursor in Kafka (the I/O
  edge: HTTP, WebSockets, Kafka), with :mod:`.config` (``POT_<PLATFORM>_*``) and :mod:`.metrics`.

Importing this package loads no faust or Kafka client (``tests/test_layout.py``); the canonical platform
names are :data:`streams.core.vocabulary.PLATFORMS`, which validation folds every post into.
"""

from .base import MAP_REASON_CODES, Context, Mapped, MappingError
from .intake import IntakeResult, map_lines, map_payload
from .registry import ALIASES, PLATFORMS, UnknownFormat, available, canonical_platform, get

__all__ = [
    "ALIASES", "MAP_REASON_CODES", "PLATFORMS", "Context", "IntakeResult", "Mapped", "MappingError", "UnknownFormat",
    "available", "canonical_platform", "get", "map_lines", "map_payload",
]
