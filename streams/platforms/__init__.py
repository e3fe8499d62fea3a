"""Native payloads of social platforms and review sites in, posts of the wire contract out.

- one mapper per platform (:mod:`.x`, :mod:`.mastodon`, :mod:`.bluesky`, :mod:`.reddit`,
  :mod:`.facebook`, :mod:`.instagram`, :mod:`.trustpilot`, :mod:`.google`), pure functions found
  by name in :mod:`.registry`; their field tables are in ``docs/platforms.md``;
- :mod:`.intake`: map and validate lines or payloads (``pot send --format``, ``POST /ingest/{format}``);
- :mod:`.meta_webhook`: the Meta verification handshake and ``X-Hub-Signature-256``;
- :mod:`.connectors`: long-running readers of the platforms that keep their cursor in Kafka.
"""

from .base import MAP_REASON_CODES, Context, Mapped, MappingError
from .intake import IntakeResult, map_lines, map_payload
from .registry import ALIASES, PLATFORMS, UnknownFormat, available, canonical_platform, get

__all__ = [
    "ALIASES", "MAP_REASON_CODES", "PLATFORMS", "Context", "IntakeResult", "Mapped", "MappingError", "UnknownFormat",
    "available", "canonical_platform", "get", "map_lines", "map_payload",
]
