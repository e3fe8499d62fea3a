"""Response-time reports, as pure functions over the ``events`` topic's records (plain dicts) and a given now.

Each alert's trail is folded into :class:`Facts` (when it was raised, by
which route, when and whether in time it was acknowledged, resolved,
breached, escalated, answered by a brand reply in the stream). A report
groups the alerts raised in a period by the dimensions asked for (label,
priority, brand, route, lang, platform) and by the week they were raised
(weeks start on Monday, UTC), and counts per cell:

* ``raised``: alerts raised;
* ``acked_in_window``: of those, acknowledged (or resolved unacknowledged) by
  their deadline; ``pending``: still unacknowledged with time left, so
  neither in nor out of their window yet; ``share_in_window`` is
  ``acked_in_window / (raised - pending)``;
* ``ack_p50``/``ack_p90``, ``resolve_p50``/``resolve_p90``: seconds from
  raised to acknowledged, and to resolved (linear-interpolated percentiles);
* ``breaches``, ``escalations`` (escalation steps fired) and
  ``answered_in_stream`` (resolved by the brand's reply seen in the stream).

Nothing here reads a clock: ``now`` is an argument, so a test drives the
SLA clock with a fake time and checks the report against the same events.

>>> events = [
...     {"alert_id": "a", "kind": "raised", "at": "2026-03-02T10:00:00Z", "detail": {"label": "complaint", "priority": "P2"}},
...     {"alert_id": "a", "kind": "acknowledged", "at": "2026-03-02T10:05:00Z",
...      "detail": {"seconds_to_ack": 300.0, "within_window": True}},
...     {"alert_id": "b", "kind": "raised", "at": "2026-03-02T11:00:00Z", "detail": {"label": "complaint", "priority": "P2"}},
...     {"alert_id": "b", "kind": "breach", "at": "2026-03-02T12:00:00Z", "detail": {"step": "breach"}},
... ]
>>> now = datetime(2026, 3, 3, tzinfo=timezone.utc)
>>> total = build(events, now=now, since_s=7 * 86400).totals()[0]
>>> total.raised, total.acked_in_window, total.share_in_window, total.ack_p50, total.breaches
(2, 1, 0.5, 300.0, 1)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["ALL_WEEKS", "DIMENSIONS", "Facts", "Report", "Row", "build", "facts_of", "parse_by", "parse_since", "percentile"]

DIMENSIONS = ("label", "priority", "brand", "route", "lang", "platform")
"""What a report can be grouped by; each is read from the alert's ``raised`` event."""
NONE = "(none)"
ALL_WEEKS = "all"


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


@dataclass
class Facts:
    """What one alert's trail says, for reports."""

    alert_id: str
    raised_at: float
    dims: dict[str, str]
    seconds_to_ack: float | None = None
    acked_in_window: bool | None = None
    seconds_to_resolve: float | None = None
    deadline: float | None = None
    breached: bool = False
    escalations: set[str] = field(default_factory=set)
    answered_in_stream: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.seconds_to_ack is not None

    def pending(self, now: float) -> bool:
        """Unacknowledged, not breached, and its deadline not passed: not yet in or out of its window."""
        if self.acknowledged or self.breached:
            return False
        return self.deadline is None or self.deadline > now


def facts_of(events: Iterable[Mapping[str, Any]]) -> dict[str, Facts]:
    """Fold events into facts per alert id; alerts without a ``raised`` event are left out (silenced posts,
    surges, or alerts raised before the topic's retention). Repeated events (at-least-once) count once."""
    raised: dict[str, Mapping[str, Any]] = {}
    later: dict[str, list[Mapping[str, Any]]] = {}
    for event in events:
        alert_id, kind = event.get("alert_id"), event.get("kind")
        if not isinstance(alert_id, str) or not isinstance(kind, str):
            continue
        if kind == "raised":
            raised.setdefault(alert_id, event)
        else:
            later.setdefault(alert_id, []).append(event)
    out: dict[str, Facts] = {}
    for alert_id, event in raised.items():
        at = _epoch(event.get("at"))
        if at is None:
            continue
        detail = event.get("detail") or {}
        dims = {name: str(detail.get(name) or NONE) for name in DIMENSIONS}
        facts = Facts(alert_id, at, dims, deadline=_epoch(detail.get("deadline")))
        for step in later.get(alert_id, []):
            _apply(facts, step["kind"], step.get("detail") or {})
        out[alert_id] = facts
    return out


def _apply(facts: Facts, kind: str, detail: Mapping[str, Any]) -> None:
    if kind == "acknowledged" and facts.seconds_to_ack is None:
        facts.seconds_to_ack = _number(detail.get("seconds_to_ack"))
        facts.acked_in_window = bool(detail.get("within_window"))
    elif kind == "resolved" and facts.seconds_to_resolve is None:
        facts.seconds_to_resolve = _number(detail.get("seconds_to_resolve"))
        if detail.get("was") == "open" and facts.seconds_to_ack is None:
            facts.seconds_to_ack = facts.seconds_to_resolve
            facts.acked_in_window = bool(detail.get("within_window"))
        if detail.get("evidence"):
            facts.answered_in_stream = True
    elif kind == "breach":
        facts.breached = True
    elif kind == "escalation":
        facts.escalations.add(str(detail.get("step") or detail.get("level") or len(facts.escalations)))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks, as numpy's default.

    >>> percentile([10, 20, 30, 40], 0.5), percentile([10, 20, 30, 40], 0.9), percentile([], 0.5)
    (25.0, 37.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def week_of(epoch: float) -> str:
    """The Monday (UTC) that starts the week of an instant.

    >>> week_of(datetime(2026, 3, 5, 23, 59, tzinfo=timezone.utc).timestamp())
    '2026-03-02'
    """
    day = datetime.fromtimestamp(epoch, timezone.utc).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@dataclass(frozen=True)
class Row:
    """One cell of a report: a group (values of the ``by`` dimensions) in one week, or over the whole period."""

    group: tuple[str, ...]
    week: str
    raised: int
    pending: int
    acked_in_window: int
    share_in_window: float | None
    ack_p50: float | None
    ack_p90: float | None
    resolve_p50: float | None
    resolve_p90: float | None
    breaches: int
    escalations: int
    answered_in_stream: int


def _row(group: tuple[str, ...], week: str, alerts: list[Facts], now: float) -> Row:
    pending = sum(1 for f in alerts if f.pending(now))
    in_window = sum(1 for f in alerts if f.acked_in_window)
    decided = len(alerts) - pending
    acks = [f.seconds_to_ack for f in alerts if f.seconds_to_ack is not None]
    resolves = [f.seconds_to_resolve for f in alerts if f.seconds_to_resolve is not None]
    return Row(
        group=group, week=week, raised=len(alerts), pending=pending, acked_in_window=in_window,
        share_in_window=(in_window / decided) if decided else None,
        ack_p50=percentile(acks, 0.5), ack_p90=percentile(acks, 0.9),
        resolve_p50=percentile(resolves, 0.5), resolve_p90=percentile(resolves, 0.9),
        breaches=sum(1 for f in alerts if f.breached), escalations=sum(len(f.escalations) for f in alerts),
        answered_in_stream=sum(1 for f in alerts if f.answered_in_stream),
    )


@dataclass(frozen=True)
class Report:
    """Rows per group and week, then one ``week == "all"`` row per group; ``since``/``until`` as epochs."""

    since: float
    until: float
    by: tuple[str, ...]
    rows: tuple[Row, ...]

    def weekly(self) -> list[Row]:
        return [r for r in self.rows if r.week != ALL_WEEKS]

    def totals(self) -> list[Row]:
        return [r for r in self.rows if r.week == ALL_WEEKS]

    def as_dict(self) -> dict[str, Any]:
        iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")  # noqa: E731
        return {
            "since": iso(self.since), "until": iso(self.until), "by": list(self.by),
            "rows": [{**dict(zip(self.by, r.group)), **{k: v for k, v in asdict(r).items() if k != "group"}} for r in self.rows],
        }


def build(events: Iterable[Mapping[str, Any]], now: datetime | float, since_s: float, by: Sequence[str] = ()) -> Report:
    """The report of the alerts raised in the ``since_s`` seconds before ``now``, grouped by ``by``."""
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}: use {', '.join(DIMENSIONS)}")
    until = now.timestamp() if isinstance(now, datetime) else float(now)
    since = until - since_s
    cells: dict[tuple[tuple[str, ...], str], list[Facts]] = {}
    for facts in facts_of(events).values():
        if not since <= facts.raised_at <= until:
            continue
        group = tuple(facts.dims[name] for name in by)
        cells.setdefault((group, week_of(facts.raised_at)), []).append(facts)
        cells.setdefault((group, ALL_WEEKS), []).append(facts)
    order = sorted(cells, key=lambda k: (k[0], k[1] == ALL_WEEKS, k[1]))
    return Report(since, until, tuple(by), tuple(_row(group, week, cells[(group, week)], until) for group, week in order))


_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_since(text: str) -> float:
    """Seconds in ``30m``, ``12h``, ``7d``, ``4w``.

    >>> parse_since("7d"), parse_since("90m")
    (604800.0, 5400.0)
    """
    match = _SINCE.match(text.lower())
    if not match:
        raise ValueError(f"{text!r}: give a number and a unit, like 7d, 12h, 4w")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]


def parse_by(text: str | None) -> tuple[str, ...]:
    """``label,brand`` → ``("label", "brand")``; ``lang`` and ``language`` are the same.

    >>> parse_by("label, language"), parse_by("")
    (('label', 'lang'), ())
    """
    names = [n.strip().lower() for n in (text or "").split(",") if n.strip()]
    names = ["lang" if n == "language" else n for n in names]
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}: use {', '.join(DIMENSIONS)}")
    return tuple(dict.fromkeys(names))
