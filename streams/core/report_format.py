"""A report as people read it: short durations and shares, the table's columns, JSON, CSV and a PNG trend.

>>> duration(42.4), duration(310), duration(3725), duration(None)
('42s', '5m10s', '1h02m', '–')
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

from .reports import Report, Row

__all__ = ["COLUMNS", "cell", "duration", "plot", "share", "to_csv", "to_json"]


def duration(seconds: float | None) -> str:
    """A short human duration for tables."""
    if seconds is None:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


COLUMNS = (
    ("raised", "raised"), ("pending", "pending"), ("in window", "share_in_window"), ("ack p50", "ack_p50"),
    ("ack p90", "ack_p90"), ("resolve p50", "resolve_p50"), ("resolve p90", "resolve_p90"), ("breaches", "breaches"),
    ("escalations", "escalations"), ("answered in stream", "answered_in_stream"),
)
"""The report's figures as people read them: (heading, Row attribute)."""


def cell(row: Row, attr: str) -> str:
    value = getattr(row, attr)
    if attr == "share_in_window":
        return share(value) + (f" ({row.acked_in_window}/{row.raised - row.pending})" if value is not None else "")
    if attr.endswith(("_p50", "_p90")):
        return duration(value)
    return str(value)


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2)


def to_csv(report: Report) -> str:
    rows = report.as_dict()["rows"]
    buffer = io.StringIO()
    fields = [*report.by, "week", *[k for k in Row.__dataclass_fields__ if k not in ("group", "week")]]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # a group value is customer-controlled (brand): keep spreadsheets from running it as a formula
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v) for k, v in row.items()})
    return buffer.getvalue()


def plot(report: Report, path: Path | io.BytesIO, top: int = 6) -> None:
    """A PNG trend: per week, alerts raised, the share acknowledged in window, and median time to ack, for the
    ``top`` largest groups."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = sorted(report.totals(), key=lambda r: -r.raised)[:top]
    weeks = sorted({r.week for r in report.weekly()})
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for total in totals:
        name = " / ".join(total.group) or "all alerts"
        by_week = {r.week: r for r in report.weekly() if r.group == total.group}
        xs = list(range(len(weeks)))
        axes[0].plot(xs, [by_week[w].raised if w in by_week else 0 for w in weeks], marker="o", label=name)
        axes[1].plot(xs, [_pct(by_week.get(w)) for w in weeks], marker="o", label=name)
        axes[2].plot(xs, [_minutes(by_week.get(w)) for w in weeks], marker="o", label=name)
    axes[0].set_ylabel("alerts raised")
    axes[0].set_ylim(bottom=0)
    axes[2].set_ylim(bottom=0)
    axes[1].set_ylabel("% acked in window")
    axes[1].set_ylim(0, 105)
    axes[2].set_ylabel("median time to ack (min)")
    axes[2].set_xticks(range(len(weeks)), [f"week of {w}" for w in weeks], rotation=20)
    axes[0].legend(fontsize=8, loc="upper left")
    since = datetime.fromtimestamp(report.since, timezone.utc).date()
    until = datetime.fromtimestamp(report.until, timezone.utc).date()
    axes[0].set_title(f"Response times, {since} to {until}" + (f", by {', '.join(report.by)}" if report.by else ""))
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)


def _pct(row: Row | None) -> float:
    return float("nan") if row is None or row.share_in_window is None else 100 * row.share_in_window


def _minutes(row: Row | None) -> float:
    return float("nan") if row is None or row.ack_p50 is None else row.ack_p50 / 60
