"""Prometheus metrics of intake and connectors, in the pipeline's registry; bounded labels created at start.

Labels are the canonical platform names (``format`` for payloads mapped by ``POST /ingest`` and
``pot send``, ``connector`` for the long-running readers). :func:`initialise` creates every series at
start-up, as :func:`streams.metrics.initialise` does the pipeline's (the worker, when it registers
``/ingest``; ``pot connect``, when it serves metrics), so dashboards show zeros, not gaps.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from ..metrics import DEAD_LETTERS, REGISTRY
from .connectors import CONNECTORS
from .registry import PLATFORMS

ERROR_KINDS: tuple[str, ...] = ("bad_frame", "http", "network", "publish")

INGESTED = Counter(
    "pot_ingest_items_total",
    "Native payload items handled by POST /ingest and pot send --format, by format and outcome "
    "(accepted: a valid post; rejected: dead-lettered; skipped: not a post, e.g. a like or a delete).",
    ["format", "outcome"], registry=REGISTRY,
)
CONNECTOR_POSTS = Counter(
    "pot_connector_posts_total", "Posts a connector published to the posts topic.", ["connector"], registry=REGISTRY
)
CONNECTOR_ERRORS = Counter(
    "pot_connector_errors_total",
    "Connector errors by kind: bad_frame (dead-lettered), http (an error answer), network (a dropped or refused "
    "connection), publish (the broker did not confirm).", ["connector", "kind"], registry=REGISTRY,
)
CONNECTOR_RECONNECTS = Counter(
    "pot_connector_reconnects_total", "Times a connector connected again after a drop or an error.",
    ["connector"], registry=REGISTRY,
)
CONNECTOR_RATE_LIMITED = Counter(
    "pot_connector_rate_limited_total", "Times a platform said slow down (429, or a spent quota), by connector.",
    ["connector"], registry=REGISTRY,
)
CONNECTOR_LAG = Gauge(
    "pot_connector_lag_seconds",
    "How far behind the platform a connector is: now minus the creation time of the last post it published.",
    ["connector"], registry=REGISTRY,
)
CONNECTOR_UP = Gauge(
    "pot_connector_connected", "1 while a connector holds a live connection or its last poll succeeded.",
    ["connector"], registry=REGISTRY,
)


def initialise() -> None:
    """Create every bounded label combination."""
    DEAD_LETTERS.labels("map")  # payloads that were not their format's shape
    for fmt in PLATFORMS:
        for outcome in ("accepted", "rejected", "skipped"):
            INGESTED.labels(fmt, outcome)
    for name in CONNECTORS:
        CONNECTOR_POSTS.labels(name)
        CONNECTOR_RECONNECTS.labels(name)
        CONNECTOR_RATE_LIMITED.labels(name)
        CONNECTOR_LAG.labels(name)
        CONNECTOR_UP.labels(name)
        for kind in ERROR_KINDS:
            CONNECTOR_ERRORS.labels(name, kind)
