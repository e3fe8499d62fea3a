"""Business hours: the SLA clock runs only while a route is open.

A complaint posted at 16:30 on a Friday to a team that works 09:00-17:00 does
not deserve to breach its one-hour window at 17:30, when nobody is there to
answer it.  Inbox tools such as Zendesk and Freshdesk stop the SLA clock
outside business hours and restart it at the next opening; routes here do the
same, so a response window is counted in *open* seconds and the deadline is the
instant when that much open time has passed.

Business hours are wall-clock hours in the calendar's own time zone (the
schedule is parsed in :mod:`streams.core.business_hours`): 09:00 means
whatever the clocks in that office read 09:00, whatever the UTC offset is that
day.  The functions below turn those wall-clock shifts into real (UTC) intervals
day by day, so a shift that spans a DST change is as long in real time as it
really is (a 22:00-06:00 night shift lasts 9 hours on the night clocks fall
back, 7 on the night they spring forward).

Two rules settle the wall times a DST change makes odd:

* a wall time that does not exist (it falls in the spring-forward gap) maps to
  the first instant the clock reads later than it, i.e. the end of the gap;
* a wall time that happens twice (the fall-back hour) maps to its first
  occurrence.

All functions are pure: they read no clock and do no I/O, and take aware
datetimes only, because a naive one has no single meaning once more than one
time zone is involved.  ``None`` as the calendar means "always open" (24/7).

>>> from datetime import datetime, timezone
>>> hours = BusinessHours(timezone="Europe/Bucharest", days="mon-fri")
>>> friday_late = datetime(2024, 6, 14, 13, 30, tzinfo=timezone.utc)  # 16:30 local
>>> is_open(hours, friday_late)
True
>>> add_business_time(hours, friday_late, 3600).isoformat()  # Monday 09:30 local
'2024-06-17T06:30:00+00:00'
>>> business_seconds_between(hours, friday_late, datetime(2024, 6, 17, 6, 30, tzinfo=timezone.utc))
3600.0
>>> add_business_time(None, friday_late, 3600).isoformat()
'2024-06-14T14:30:00+00:00'
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .business_hours import BusinessHours, minutes_of_day

__all__ = [
    "SEARCH_HORIZON_DAYS",
    "BusinessHours",
    "add_business_time",
    "business_seconds_between",
    "is_open",
    "next_opening",
]

SEARCH_HORIZON_DAYS = 400
"""How many consecutive closed days prove a calendar has no open time left.

Holidays are a finite list, so a calendar with open weekdays always opens again
eventually; a run of closed days longer than a year means it was configured to
never open, and a deadline must then fail loudly instead of searching forever.
"""

_MINUTES_PER_DAY = 24 * 60
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class _Plan:
    """The calendar in the shape the walk needs, built once per call.

    Built per call rather than cached on the model so that a ``model_copy`` with
    updates can never leave a stale copy behind.
    """

    zone: ZoneInfo
    weekdays: frozenset[int]
    holidays: frozenset[date]
    opens: timedelta
    closes: timedelta

    @classmethod
    def of(cls, calendar: BusinessHours) -> _Plan:
        start, end = minutes_of_day(calendar.start), minutes_of_day(calendar.end)
        if end <= start:
            end += _MINUTES_PER_DAY
        return cls(
            zone=ZoneInfo(calendar.timezone),
            weekdays=calendar.weekdays,
            holidays=frozenset(calendar.holidays),
            opens=timedelta(minutes=start),
            closes=timedelta(minutes=end),
        )

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def shift(self, day: date) -> tuple[datetime, datetime] | None:
        """The real interval of the shift that starts on ``day``; None when there is none or DST ate it."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        midnight = datetime.combine(day, time())
        opens = _wall_to_utc(midnight + self.opens, self.zone)
        closes = _wall_to_utc(midnight + self.closes, self.zone)
        if closes <= opens:
            return None
        return opens, closes

    def intervals_from(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals ending after ``since``, in order, forever or until the calendar proves empty.

        Starts a day early because an overnight shift from yesterday may still be running.
        """
        day = self.local_date(since) - timedelta(days=1)
        closed_run = 0
        while True:
            found = self.shift(day)
            day += timedelta(days=1)
            if found is None:
                closed_run += 1
                if closed_run > SEARCH_HORIZON_DAYS:
                    raise ValueError(
                        f"business hours have no open time in {SEARCH_HORIZON_DAYS} consecutive days after "
                        f"{since.isoformat()}; check days and holidays"
                    )
                continue
            closed_run = 0
            if found[1] > since:
                yield found

    def intervals_between(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals that overlap [a, b), clipped to it; bounded by b so an empty calendar just yields nothing."""
        day = self.local_date(a) - timedelta(days=1)
        last_day = self.local_date(b)
        while day <= last_day:
            found = self.shift(day)
            day += timedelta(days=1)
            if found is None:
                continue
            opens, closes = max(found[0], a), min(found[1], b)
            if closes > opens:
                yield opens, closes


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """Turn a naive local wall time into the UTC instant the office clock first shows it.

    fold=0 already picks the first occurrence of a repeated wall time.  For a
    wall time inside a spring-forward gap there is no such instant, so the
    answer is the transition itself: the first moment the clock reads later.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = (first, second) if first < second else (second, first)
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def is_open(calendar: BusinessHours | None, at: datetime) -> bool:
    """Whether the SLA clock is running at ``at``; a route with no calendar never stops it."""
    at = _aware_utc(at, "at")
    if calendar is None:
        return True
    plan = _Plan.of(calendar)
    today = plan.local_date(at)
    for day in (today - timedelta(days=1), today):
        found = plan.shift(day)
        if found is not None and found[0] <= at < found[1]:
            return True
    return False


def next_opening(calendar: BusinessHours | None, at: datetime) -> datetime:
    """When the SLA clock next runs: ``at`` itself if open, else the next shift's start (UTC).

    Raises ValueError when the calendar stays closed for SEARCH_HORIZON_DAYS days.
    """
    at = _aware_utc(at, "at")
    if calendar is None:
        return at
    opens, _ = next(_Plan.of(calendar).intervals_from(at))
    return max(opens, at)


def add_business_time(calendar: BusinessHours | None, start: datetime, seconds: float) -> datetime:
    """The deadline: the UTC instant when ``seconds`` of open time have passed since ``start``.

    Counting starts at the next opening when ``start`` is outside hours.  A
    deadline that uses up a shift exactly lands on that shift's closing time,
    not on the next opening, because that is when the time actually ran out.
    Time is counted in whole microseconds so long windows do not drift.
    """
    start = _aware_utc(start, "start")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    remaining = timedelta(seconds=seconds)
    if calendar is None:
        return start + remaining
    remaining_us = remaining // _ONE_US
    for opens, closes in _Plan.of(calendar).intervals_from(start):
        opens = max(opens, start)
        available_us = (closes - opens) // _ONE_US
        if remaining_us <= available_us:
            return opens + remaining_us * _ONE_US
        remaining_us -= available_us
    raise AssertionError("intervals_from never ends without raising")  # pragma: no cover


def business_seconds_between(calendar: BusinessHours | None, a: datetime, b: datetime) -> float:
    """Open seconds in [a, b): how much of a response window an alert has used so far."""
    a, b = _aware_utc(a, "a"), _aware_utc(b, "b")
    if b <= a:
        return 0.0
    if calendar is None:
        return (b - a) / timedelta(seconds=1)
    total = sum(
        ((closes - opens) for opens, closes in _Plan.of(calendar).intervals_between(a, b)),
        timedelta(),
    )
    return total / timedelta(seconds=1)
