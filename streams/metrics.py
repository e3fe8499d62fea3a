"""Prometheus metrics of the pipeline; one ``pot_`` prefix, bounded labels created at start-up.

Every figure is a counter or histogram that Prometheus can sum across workers.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from .config import LABELS
from .validation import REASON_CODES

REGISTRY = CollectorRegistry(auto_describe=True)

POSTS_RECEIVED = Counter(
    "pot_posts_received_total",
    "Posts the monitor received, counted once: source=kafka as read from the posts topic (HTTP posts it "
    "accepted included), source=http for HTTP posts rejected before reaching the topic.", ["source"], registry=REGISTRY
)
POSTS_REJECTED = Counter(
    "pot_posts_rejected_total", "Posts rejected by validation, by reason.", ["reason"], registry=REGISTRY
)
DUPLICATES = Counter("pot_posts_duplicate_total", "Posts seen again within the dedupe window.", registry=REGISTRY)
CLASSIFIED = Counter(
    "pot_posts_classified_total", "Posts classified, by label and model.", ["label", "model"], registry=REGISTRY
)
CLASSIFY_BATCH = Histogram(
    "pot_classify_batch_size", "Texts per classifier call.", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=REGISTRY
)
CLASSIFY_SECONDS = Histogram(
    "pot_classify_duration_seconds",
    "Wall time of one classifier call.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
ALERTS = Counter("pot_alerts_raised_total", "Alerts raised, by label and priority.", ["label", "priority"], registry=REGISTRY)
NOT_ALERTED = Counter("pot_posts_not_alerted_total", "Posts labelled other: counted, no alert.", registry=REGISTRY)
DELIVERIES = Counter(
    "pot_deliveries_total", "Delivery attempts that ended, by sink and outcome.", ["sink", "outcome"], registry=REGISTRY
)
DEAD_LETTERS = Counter("pot_dead_letters_total", "Records sent to the dead-letter topic, by stage.", ["stage"], registry=REGISTRY)
POST_TO_ALERT = Histogram(
    "pot_post_to_alert_seconds",
    "From a post's arrival at the monitor to its alert's delivery.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)


SHADOW_COMPARED = Counter(
    "pot_shadow_compared_total", "Posts classified by both the primary and the shadow classifier.", registry=REGISTRY
)
SHADOW_DISAGREEMENTS = Counter(
    "pot_shadow_disagreements_total",
    "Posts on which the shadow classifier disagreed, by the two labels.",
    ["primary_label", "shadow_label"],
    registry=REGISTRY,
)
SHADOW_ERRORS = Counter("pot_shadow_errors_total", "Shadow classifier calls that failed.", registry=REGISTRY)
CORRECTIONS = Counter("pot_corrections_total", "Label corrections received, by the right label.", ["label"], registry=REGISTRY)


def initialise(sinks: list[str], model: str) -> None:
    """Create every bounded label combination so dashboards show zeros, not gaps."""
    for reason in REASON_CODES:
        POSTS_REJECTED.labels(reason)
    for source in ("kafka", "http"):
        POSTS_RECEIVED.labels(source)
    for label in LABELS:
        CLASSIFIED.labels(label, model)
        CORRECTIONS.labels(label)
        for other in LABELS:
            if other != label:
                SHADOW_DISAGREEMENTS.labels(label, other)
    for label in LABELS[:4]:
        for priority in ("P1", "P2", "P3", "P4"):
            ALERTS.labels(label, priority)
    for sink in sinks:
        for outcome in ("delivered", "failed", "skipped_duplicate"):
            DELIVERIES.labels(sink, outcome)
    for stage in ("validate", "classify", "route", "deliver"):
        DEAD_LETTERS.labels(stage)
