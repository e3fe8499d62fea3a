"""Connectors: long-running readers that bring a platform's posts to the posts topic.

``pot connect NAME`` runs one in the foreground; ``POT_CONNECTORS='["mastodon", "bluesky"]'`` makes
``pot run`` start them beside the worker (:mod:`.runner`). Each takes its settings from
``POT_<PLATFORM>_*`` (:mod:`streams.platforms.config`), keeps its cursor in the compacted
``connector-cursors`` topic, and reports ``pot_connector_*`` metrics.
"""

from __future__ import annotations

__all__ = ["CONNECTORS"]

CONNECTORS: dict[str, tuple[str, str]] = {
    "mastodon": ("streams.platforms.connectors.mastodon:MastodonConnector", "streams.platforms.config:MastodonSettings"),
    "bluesky": ("streams.platforms.connectors.bluesky:BlueskyConnector", "streams.platforms.config:BlueskySettings"),
    "reddit": ("streams.platforms.connectors.reddit:RedditConnector", "streams.platforms.config:RedditSettings"),
    "x": ("streams.platforms.connectors.x:XConnector", "streams.platforms.config:XSettings"),
}
"""Connector name (a canonical platform name) → (connector class, settings class)."""
