"""The monitor's topics and tables, by the names the rest of the code uses (the prefix is added per deployment).

Plain data, no faust import: the CLI creates these topics before the worker
starts, metrics create a series per topic at start-up, and
tests/test_ops_deploy.py reads these tuples to check the deployment files.
"""

from __future__ import annotations

__all__ = ["RECORD_TOPICS", "SINGLE_PARTITION_TOPICS", "TABLES", "TOPICS"]

TOPICS = ("posts", "posts-urgent", "posts-normal", "classified", "alerts", "events", "dlq", "shadow", "corrections", "actions", "notices", "surge-counts", "redeliver")
SINGLE_PARTITION_TOPICS = ("silences", "digests")
"""Topics one worker must own whole: silences are read by all, digests batch across all partitions."""
RECORD_TOPICS = {
    "posts-urgent": "Post", "posts-normal": "Post", "classified": "Classified", "alerts": "Alert", "events": "Event",
    "dlq": "DeadLetter", "shadow": "ShadowDisagreement", "corrections": "Correction", "actions": "Action",
    "notices": "Notice",
}
"""Topics that carry a record of :mod:`streams.core.records` in its versioned wire form (``"v": 1``)."""
TABLES = ("seen-posts", "authors", "clocks", "digest-buffers", "surge-state", "deliveries")
"""Changelog-backed tables (faust names their topics ``{app_id}-{table}-changelog``)."""
