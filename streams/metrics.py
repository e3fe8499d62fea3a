"""Prometheus metrics of the pipeline; one ``pot_`` prefix, bounded labels created at start-up.

Every figure is a counter or histogram that Prometheus can sum across workers.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .core.vocabulary import LABELS, PRIORITIES
from .core.validation import REASON_CODES

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
    "pot_posts_classified_total",
    "Posts classified, by label, language (the 12 the classifier was trained on, else `other`) and model.",
    ["label", "lang", "model"], registry=REGISTRY,
)
PLATFORMS = ("x", "twitter", "facebook", "instagram", "reddit", "tiktok", "youtube", "linkedin", "threads",
             "mastodon", "bluesky", "trustpilot", "appstore", "googleplay", "email", "web")
"""Platforms counted under their own name; any other is `other`, so a producer cannot grow the label set."""
LANGS = ("cs", "de", "el", "en", "es", "fr", "he", "it", "nl", "pl", "pt", "ro")
POSTS_BY_PLATFORM = Counter(
    "pot_posts_valid_total", "Valid posts read from the posts topic, by platform (known platforms, else other).",
    ["platform"], registry=REGISTRY,
)
TRIAGED = Counter(
    "pot_posts_triaged_total",
    "Valid posts by lane before classification: urgent (safety or legal phrase, VIP, large audience) or normal.",
    ["lane"], registry=REGISTRY,
)
DELIVERY_SECONDS = Histogram(
    "pot_delivery_duration_seconds", "Time to deliver one message to one receiver, retries included, by sink.",
    ["sink"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY,
)


def bounded(value: str | None, allowed: tuple[str, ...]) -> str:
    """A label value from a fixed set, ``other`` for anything else (labels must stay bounded).

    >>> bounded("Reddit", PLATFORMS), bounded("myspace", PLATFORMS), bounded(None, LANGS)
    ('reddit', 'other', 'other')
    """
    value = (value or "").strip().lower()
    return value if value in allowed else "other"
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

WINDOW_BUCKETS = (60, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 14400, 28800, 43200, 86400, 172800)
"""Seconds, dense around the policy's windows (15 min, 1 h, 24 h), so "acked within the window" reads off a bucket."""

OPEN_ALERTS = Gauge(
    "pot_alerts_open",
    "Alerts not yet resolved, by label and state (open = unacknowledged), counted by the worker that owns each "
    "alert's partition, so the sum over workers is the total.",
    ["label", "state"], registry=REGISTRY,
)
TIME_TO_ACK = Histogram(
    "pot_time_to_acknowledge_seconds", "From an alert being raised to its acknowledgement.",
    ["label", "priority"], buckets=WINDOW_BUCKETS, registry=REGISTRY,
)
TIME_TO_RESOLVE = Histogram(
    "pot_time_to_resolve_seconds", "From an alert being raised to its resolution.",
    ["label", "priority"], buckets=WINDOW_BUCKETS, registry=REGISTRY,
)
ACKED = Counter(
    "pot_alerts_acknowledged_total",
    "Alerts acknowledged (or resolved unacknowledged), by label and whether it was within the window.",
    ["label", "within_window"], registry=REGISTRY,
)
SLA_STEPS = Counter(
    "pot_sla_steps_total", "Clock steps fired: warning, breach, escalation, reminder; by label.",
    ["step", "label"], registry=REGISTRY,
)
SILENCED = Counter("pot_alerts_silenced_total", "Alerts recorded but not sent because a silence matched.", ["label"], registry=REGISTRY)
SURGES = Counter("pot_surges_total", "Complaint surges detected, by scope kind (all, brand, keyword).", ["scope"], registry=REGISTRY)
DIGESTS = Counter("pot_digests_sent_total", "Digest messages sent, by receiver.", ["receiver"], registry=REGISTRY)
AUTO_RESOLVED = Counter(
    "pot_alerts_answered_in_stream_total", "Alerts resolved by a brand account's reply seen in the stream.", registry=REGISTRY
)
POLICY_RELOADS = Counter("pot_policy_reloads_total", "Policy reloads, by outcome (ok, failed).", ["outcome"], registry=REGISTRY)
CONSUMER_LAG = Gauge(
    "pot_consumer_lag",
    "Records in a partition not yet processed (end offset minus committed offset), by topic (without the "
    "prefix) and partition, reported by the worker that owns the partition.",
    ["topic", "partition"], registry=REGISTRY,
)
MEMORY = Gauge(
    "pot_process_resident_memory_bytes",
    "Resident memory of the worker process and of its classifier child process.",
    ["process"], registry=REGISTRY,
)
POLICY_VERSION = Gauge("pot_policy_version", "Reload count of the policy this worker is using (1 = as started).", registry=REGISTRY)


def initialise(sinks: list[str], model: str, topics: tuple[str, ...] = ()) -> None:
    """Create every bounded label combination so dashboards show zeros, not gaps."""
    for topic in topics:
        OFFSET_JUMPS.labels(topic)
        OFFSET_REREADS.labels(topic)
    for reason in REASON_CODES:
        POSTS_REJECTED.labels(reason)
    for source in ("kafka", "http"):
        POSTS_RECEIVED.labels(source)
    for lane in ("urgent", "normal"):
        TRIAGED.labels(lane)
    for platform in (*PLATFORMS, "other"):
        POSTS_BY_PLATFORM.labels(platform)
    for label in LABELS:
        for lang in (*LANGS, "other"):
            CLASSIFIED.labels(label, lang, model)
        CORRECTIONS.labels(label)
        for other in LABELS:
            if other != label:
                SHADOW_DISAGREEMENTS.labels(label, other)
    for label in LABELS:  # `other` too: a keyword class raises alerts for posts the model called noise
        for priority in PRIORITIES:
            ALERTS.labels(label, priority)
    for label in LABELS:
        for state in ("open", "acknowledged"):
            OPEN_ALERTS.labels(label, state)
        for within in ("true", "false"):
            ACKED.labels(label, within)
        for step in ("warning", "breach", "escalation", "reminder"):
            SLA_STEPS.labels(step, label)
        for priority in PRIORITIES:
            TIME_TO_ACK.labels(label, priority)
            TIME_TO_RESOLVE.labels(label, priority)
        SILENCED.labels(label)
    for scope in ("all", "brand", "keyword"):
        SURGES.labels(scope)
    for outcome in ("ok", "failed"):
        POLICY_RELOADS.labels(outcome)
    for process in ("worker", "classifier"):
        MEMORY.labels(process)
    for sink in sinks:
        DIGESTS.labels(sink)
        DELIVERY_SECONDS.labels(sink)
        for outcome in ("delivered", "failed", "skipped_duplicate", "deferred"):
            DELIVERIES.labels(sink, outcome)
    for stage in ("validate", "classify", "route", "deliver", "clock"):
        DEAD_LETTERS.labels(stage)


def resident_bytes(pid: int | str = "self") -> int | None:
    """RSS of a process from /proc (Linux); ``None`` where that is not available."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")
OFFSET_JUMPS = Counter(
    "pot_consumer_offset_jumps_total",
    "Times a partition's next record was further on than the last one read, by topic (without the prefix); the "
    "skipped offsets are not taken as done (streams/kafka/patches.py).", ["topic"], registry=REGISTRY,
)
OFFSET_REREADS = Counter(
    "pot_consumer_rereads_total",
    "Times a partition was read again from its committed offset because records before acked ones were never "
    "handled (dropped during a rebalance), by topic (without the prefix).", ["topic"], registry=REGISTRY,
)
TABLE_KEYS = Gauge(
    "pot_table_keys",
    "Keys this worker holds in a table (its own partitions, plus any it still has from before a rebalance): "
    "seen-posts for dedupe, authors for history; both drop keys past their retention.", ["table"], registry=REGISTRY,
)
