"""Business-hours arithmetic: deadlines stop outside open hours, across weekends, holidays and DST.

Expected instants are worked out by hand in local time and written as UTC
literals (Bucharest is UTC+2 in winter, UTC+3 in summer; New York UTC-5 / UTC-4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.core.calendar import (
    BusinessHours,
    add_business_time,
    business_seconds_between,
    is_open,
    next_opening,
)

BUC = ZoneInfo("Europe/Bucharest")
NYC = ZoneInfo("America/New_York")
HOUR = 3600.0
ALL_WEEK = "mon-sun"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def buc(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUC)


OFFICE = BusinessHours(timezone="Europe/Bucharest")
XMAS = BusinessHours(timezone="Europe/Bucharest", holidays=["2024-12-25", date(2024, 12, 26)])
NIGHTS = BusinessHours(timezone="Europe/Bucharest", start="22:00", end="06:00", holidays=[date(2024, 6, 21)])


@pytest.mark.parametrize(
    ("calendar", "start", "seconds", "expected"),
    [
        pytest.param(OFFICE, buc(2024, 6, 14, 16, 30), HOUR, utc(2024, 6, 17, 6, 30), id="friday-late-rolls-to-monday"),
        pytest.param(OFFICE, buc(2024, 1, 12, 16, 30), HOUR, utc(2024, 1, 15, 7, 30), id="friday-late-winter"),
        pytest.param(OFFICE, buc(2024, 6, 18, 7, 0), 2 * HOUR, utc(2024, 6, 18, 8, 0), id="before-opening"),
        pytest.param(OFFICE, buc(2024, 6, 15, 12, 0), 1800, utc(2024, 6, 17, 6, 30), id="saturday-start"),
        pytest.param(OFFICE, buc(2024, 6, 17, 16, 0), HOUR, utc(2024, 6, 17, 14, 0), id="ends-exactly-at-close"),
        pytest.param(OFFICE, buc(2024, 6, 17, 17, 0), 0, utc(2024, 6, 18, 6, 0), id="zero-after-close-is-next-opening"),
        pytest.param(OFFICE, buc(2024, 6, 17, 10, 0), 0, utc(2024, 6, 17, 7, 0), id="zero-while-open-is-start"),
        pytest.param(OFFICE, buc(2024, 6, 17, 10, 0), 20 * HOUR, utc(2024, 6, 19, 11, 0), id="multi-day"),
        pytest.param(OFFICE, buc(2024, 6, 20, 15, 0), 24 * HOUR, utc(2024, 6, 25, 12, 0), id="multi-day-over-weekend"),
        pytest.param(XMAS, buc(2024, 12, 25, 10, 0), HOUR, utc(2024, 12, 27, 8, 0), id="start-on-holiday"),
        pytest.param(XMAS, buc(2024, 12, 24, 16, 0), 2 * HOUR, utc(2024, 12, 27, 8, 0), id="window-spans-holidays"),
        pytest.param(NIGHTS, buc(2024, 6, 14, 5, 0), 2 * HOUR, utc(2024, 6, 14, 20, 0), id="overnight-continues-next-night"),
        pytest.param(NIGHTS, buc(2024, 6, 15, 12, 0), 1800, utc(2024, 6, 17, 19, 30), id="overnight-weekend"),
        pytest.param(NIGHTS, buc(2024, 6, 20, 23, 0), 8 * HOUR, utc(2024, 6, 24, 20, 0), id="overnight-holiday-skipped"),
    ],
)
def test_add_business_time(calendar: BusinessHours, start: datetime, seconds: float, expected: datetime) -> None:
    got = add_business_time(calendar, start, seconds)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("calendar", "a", "b", "expected"),
    [
        pytest.param(OFFICE, buc(2024, 6, 14, 16, 0), buc(2024, 6, 17, 10, 0), 2 * HOUR, id="over-weekend"),
        pytest.param(OFFICE, buc(2024, 6, 17, 0, 0), buc(2024, 6, 24, 0, 0), 40 * HOUR, id="whole-week"),
        pytest.param(OFFICE, buc(2024, 6, 15, 0, 0), buc(2024, 6, 17, 0, 0), 0.0, id="weekend-only"),
        pytest.param(OFFICE, buc(2024, 6, 17, 12, 0), buc(2024, 6, 17, 11, 0), 0.0, id="b-before-a"),
        pytest.param(OFFICE, buc(2024, 6, 17, 12, 0), buc(2024, 6, 17, 12, 0), 0.0, id="empty"),
        pytest.param(XMAS, buc(2024, 12, 23, 0, 0), buc(2024, 12, 28, 0, 0), 24 * HOUR, id="holidays-closed"),
        pytest.param(NIGHTS, buc(2024, 6, 17, 0, 0), buc(2024, 6, 24, 0, 0), 32 * HOUR, id="overnight-week"),
    ],
)
def test_business_seconds_between(calendar: BusinessHours, a: datetime, b: datetime, expected: float) -> None:
    assert business_seconds_between(calendar, a, b) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (buc(2024, 6, 17, 21, 59), False),
        (buc(2024, 6, 17, 22, 0), True),
        (buc(2024, 6, 17, 0, 30), False),
        (buc(2024, 6, 18, 5, 59), True),
        (buc(2024, 6, 18, 6, 0), False),
        (buc(2024, 6, 14, 23, 0), True),
        (buc(2024, 6, 15, 5, 59), True),
        (buc(2024, 6, 15, 6, 0), False),
        (buc(2024, 6, 15, 23, 0), False),
        (buc(2024, 6, 16, 23, 0), False),
        (buc(2024, 6, 21, 2, 0), True),
        (buc(2024, 6, 21, 23, 0), False),
        (buc(2024, 6, 22, 3, 0), False),
    ],
)
def test_is_open_overnight(at: datetime, expected: bool) -> None:
    assert is_open(NIGHTS, at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (buc(2024, 6, 17, 8, 59), False),
        (buc(2024, 6, 17, 9, 0), True),
        (buc(2024, 6, 17, 16, 59), True),
        (buc(2024, 6, 17, 17, 0), False),
        (buc(2024, 6, 15, 12, 0), False),
        (utc(2024, 6, 17, 6, 0), True),
        (utc(2024, 6, 17, 5, 59), False),
    ],
)
def test_is_open_day_shift(at: datetime, expected: bool) -> None:
    assert is_open(OFFICE, at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (buc(2024, 6, 17, 10, 0), utc(2024, 6, 17, 7, 0)),
        (buc(2024, 6, 14, 17, 0), utc(2024, 6, 17, 6, 0)),
        (buc(2024, 6, 17, 3, 0), utc(2024, 6, 17, 6, 0)),
    ],
)
def test_next_opening(at: datetime, expected: datetime) -> None:
    assert next_opening(OFFICE, at) == expected


def test_none_is_always_open() -> None:
    start = datetime(2024, 3, 30, 23, 0, tzinfo=BUC)
    got = add_business_time(None, start, 5 * HOUR)
    assert got == utc(2024, 3, 31, 2, 0)
    assert got.utcoffset() == timedelta(0)
    assert is_open(None, start)
    assert next_opening(None, start) == utc(2024, 3, 30, 21, 0)
    assert business_seconds_between(None, start, got) == 5 * HOUR
    assert business_seconds_between(None, got, start) == 0.0


def overnight(zone: str) -> BusinessHours:
    return BusinessHours(timezone=zone, days=ALL_WEEK, start="22:00", end="06:00")


def whole_days(zone: str) -> BusinessHours:
    return BusinessHours(timezone=zone, days=ALL_WEEK, start="00:00", end="24:00")


@pytest.mark.parametrize(
    ("calendar", "a", "b", "expected"),
    [
        pytest.param(
            overnight("Europe/Bucharest"), utc(2024, 3, 30, 12), utc(2024, 3, 31, 12), 7 * HOUR, id="buc-spring-night-7h"
        ),
        pytest.param(
            overnight("Europe/Bucharest"), utc(2024, 10, 26, 12), utc(2024, 10, 27, 12), 9 * HOUR, id="buc-fall-night-9h"
        ),
        pytest.param(
            overnight("America/New_York"), utc(2024, 3, 9, 18), utc(2024, 3, 10, 18), 7 * HOUR, id="nyc-spring-night-7h"
        ),
        pytest.param(
            overnight("America/New_York"), utc(2024, 11, 2, 18), utc(2024, 11, 3, 18), 9 * HOUR, id="nyc-fall-night-9h"
        ),
        pytest.param(
            whole_days("America/New_York"), utc(2024, 3, 10, 5), utc(2024, 3, 11, 4), 23 * HOUR, id="nyc-23h-day"
        ),
        pytest.param(
            whole_days("America/New_York"), utc(2024, 11, 3, 4), utc(2024, 11, 4, 5), 25 * HOUR, id="nyc-25h-day"
        ),
        pytest.param(
            BusinessHours(timezone="America/New_York", days="sun", start="01:00", end="03:00"),
            utc(2024, 3, 10),
            utc(2024, 3, 11),
            1 * HOUR,
            id="nyc-gap-inside-hours",
        ),
        pytest.param(
            BusinessHours(timezone="America/New_York", days="sun", start="01:00", end="03:00"),
            utc(2024, 11, 3),
            utc(2024, 11, 4),
            3 * HOUR,
            id="nyc-repeat-inside-hours",
        ),
        pytest.param(
            BusinessHours(timezone="America/New_York", days="sun", start="02:30", end="04:00"),
            utc(2024, 3, 10),
            utc(2024, 3, 11),
            1 * HOUR,
            id="nyc-opening-in-gap-opens-at-gap-end",
        ),
        pytest.param(
            BusinessHours(timezone="America/New_York", days="sun", start="02:30", end="04:00"),
            utc(2024, 3, 17),
            utc(2024, 3, 18),
            1.5 * HOUR,
            id="nyc-same-hours-normal-sunday",
        ),
        pytest.param(
            BusinessHours(timezone="America/New_York", days="sun", start="02:00", end="02:45"),
            utc(2024, 3, 10),
            utc(2024, 3, 11),
            0.0,
            id="nyc-shift-entirely-in-gap",
        ),
        pytest.param(
            BusinessHours(timezone="Europe/Bucharest", days="sun", start="02:00", end="05:00"),
            utc(2024, 3, 30, 12),
            utc(2024, 3, 31, 12),
            2 * HOUR,
            id="buc-gap-inside-hours",
        ),
        pytest.param(
            BusinessHours(timezone="Europe/Bucharest", days="sun", start="02:00", end="05:00"),
            utc(2024, 10, 26, 12),
            utc(2024, 10, 27, 12),
            4 * HOUR,
            id="buc-repeat-inside-hours",
        ),
    ],
)
def test_dst_real_durations(calendar: BusinessHours, a: datetime, b: datetime, expected: float) -> None:
    assert business_seconds_between(calendar, a, b) == expected


@pytest.mark.parametrize(
    ("calendar", "start", "seconds", "expected"),
    [
        pytest.param(
            overnight("Europe/Bucharest"), utc(2024, 3, 30, 20), 8 * HOUR, utc(2024, 3, 31, 20), id="buc-spring-night"
        ),
        pytest.param(
            overnight("Europe/Bucharest"), utc(2024, 10, 26, 19), 9 * HOUR, utc(2024, 10, 27, 4), id="buc-fall-night"
        ),
        pytest.param(
            overnight("America/New_York"), utc(2024, 3, 10, 3), 7.5 * HOUR, utc(2024, 3, 11, 2, 30), id="nyc-spring-night"
        ),
        pytest.param(
            overnight("America/New_York"), utc(2024, 11, 3, 2), 8.5 * HOUR, utc(2024, 11, 3, 10, 30), id="nyc-fall-night"
        ),
        pytest.param(
            whole_days("America/New_York"), utc(2024, 3, 9, 17), 24 * HOUR, utc(2024, 3, 10, 17), id="nyc-24h-spring"
        ),
        pytest.param(
            whole_days("America/New_York"), utc(2024, 11, 2, 16), 24 * HOUR, utc(2024, 11, 3, 16), id="nyc-24h-fall"
        ),
        pytest.param(
            whole_days("Europe/Bucharest"), utc(2024, 3, 30, 10), 24 * HOUR, utc(2024, 3, 31, 10), id="buc-24h-spring"
        ),
        pytest.param(
            whole_days("Europe/Bucharest"), utc(2024, 10, 26, 10), 24 * HOUR, utc(2024, 10, 27, 10), id="buc-24h-fall"
        ),
    ],
)
def test_dst_deadlines(calendar: BusinessHours, start: datetime, seconds: float, expected: datetime) -> None:
    assert add_business_time(calendar, start, seconds) == expected


def test_24h_window_is_real_time_not_wall_time() -> None:
    start = datetime(2024, 3, 9, 12, 0, tzinfo=NYC)
    got = add_business_time(whole_days("America/New_York"), start, 24 * HOUR)
    assert got - start == timedelta(hours=24)
    assert got.astimezone(NYC).replace(tzinfo=None) == datetime(2024, 3, 10, 13, 0)


def test_opening_inside_gap_maps_to_end_of_gap() -> None:
    calendar = BusinessHours(timezone="America/New_York", days="sun", start="02:30", end="04:00")
    assert next_opening(calendar, utc(2024, 3, 10)) == utc(2024, 3, 10, 7)
    assert not is_open(calendar, utc(2024, 3, 10, 6, 59))
    assert is_open(calendar, utc(2024, 3, 10, 7))


def test_shift_lost_to_gap_moves_to_next_week() -> None:
    calendar = BusinessHours(timezone="America/New_York", days="sun", start="02:00", end="02:45")
    assert next_opening(calendar, utc(2024, 3, 10)) == utc(2024, 3, 17, 6)


def test_repeated_wall_time_means_first_occurrence() -> None:
    calendar = BusinessHours(timezone="America/New_York", days="sun", start="01:00", end="01:30")
    assert is_open(calendar, utc(2024, 11, 3, 5, 15))
    assert not is_open(calendar, utc(2024, 11, 3, 6, 15))
    assert business_seconds_between(calendar, utc(2024, 11, 3), utc(2024, 11, 4)) == 1800


ROUND_TRIPS = [
    (OFFICE, utc(2024, 6, 14, 13, 17, 3), 3600.0),
    (OFFICE, utc(2024, 6, 15, 2, 0), 86400.0),
    (OFFICE, utc(2024, 1, 31, 23, 59, 59), 12345.678),
    (XMAS, utc(2024, 12, 20, 9, 0), 7 * 8 * HOUR + 0.25),
    (NIGHTS, utc(2024, 6, 21, 1, 0), 30 * HOUR + 1),
    (overnight("America/New_York"), utc(2024, 11, 1, 12), 20 * HOUR),
    (overnight("Europe/Bucharest"), utc(2024, 3, 29, 21, 7), 17.5 * HOUR),
    (whole_days("America/New_York"), utc(2024, 3, 8), 100 * HOUR + 0.5),
    (BusinessHours(timezone="America/New_York", days="sat-sun", start="01:00", end="03:00"), utc(2024, 3, 1), 9 * HOUR),
]


@pytest.mark.parametrize(("calendar", "start", "seconds"), ROUND_TRIPS)
def test_between_undoes_add(calendar: BusinessHours, start: datetime, seconds: float) -> None:
    end = add_business_time(calendar, start, seconds)
    assert end > start
    assert business_seconds_between(calendar, start, end) == pytest.approx(seconds, abs=1e-6)
    assert is_open(calendar, end - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("calendar", "a", "b"),
    [
        (OFFICE, utc(2024, 6, 10, 4), utc(2024, 6, 19, 9, 41, 7)),
        (XMAS, utc(2024, 12, 24, 13), utc(2024, 12, 30, 7, 30)),
        (NIGHTS, utc(2024, 6, 14, 12), utc(2024, 6, 18, 1, 2, 3)),
        (overnight("America/New_York"), utc(2024, 3, 9), utc(2024, 3, 10, 9, 59)),
        (whole_days("Europe/Bucharest"), utc(2024, 10, 20), utc(2024, 10, 29, 13)),
    ],
)
def test_add_undoes_between(calendar: BusinessHours, a: datetime, b: datetime) -> None:
    assert is_open(calendar, b)
    assert add_business_time(calendar, a, business_seconds_between(calendar, a, b)) == b


def test_long_windows() -> None:
    assert add_business_time(whole_days("UTC"), utc(2024, 1, 1, 12), 1000 * 86400) == utc(2026, 9, 27, 12)
    weekdays = BusinessHours(timezone="UTC")
    assert add_business_time(weekdays, utc(2024, 1, 1, 9), 52 * 40 * HOUR) == utc(2024, 12, 27, 17)


def test_no_open_time_raises() -> None:
    mondays = [date(2024, 1, 1) + timedelta(weeks=n) for n in range(70)]
    calendar = BusinessHours(timezone="UTC", days=["mon"], holidays=mondays)
    with pytest.raises(ValueError, match="no open time"):
        add_business_time(calendar, utc(2024, 1, 1), 60)
    with pytest.raises(ValueError, match="no open time"):
        next_opening(calendar, utc(2024, 1, 1))
    assert business_seconds_between(calendar, utc(2024, 1, 1), utc(2025, 1, 1)) == 0.0
    assert not is_open(calendar, utc(2024, 1, 1, 10))


def test_long_closed_stretch_shorter_than_horizon_still_opens() -> None:
    mondays = [date(2024, 1, 1) + timedelta(weeks=n) for n in range(50)]
    calendar = BusinessHours(timezone="UTC", days=["mon"], holidays=mondays)
    assert add_business_time(calendar, utc(2024, 1, 1), 60) == utc(2024, 12, 16, 9, 1)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("mon-fri", ["mon", "tue", "wed", "thu", "fri"]),
        ("mon-fri,sun", ["mon", "tue", "wed", "thu", "fri", "sun"]),
        ("fri-mon", ["mon", "fri", "sat", "sun"]),
        (["Tue", "monday"], ["mon", "tue"]),
        (["mon-wed"], ["mon", "tue", "wed"]),
        (" sat , sun ", ["sat", "sun"]),
    ],
)
def test_days_are_normalised(days: object, expected: list[str]) -> None:
    calendar = BusinessHours(timezone="UTC", days=days)
    assert calendar.days == expected
    assert calendar.weekdays == frozenset(["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(d) for d in expected)


def test_defaults_and_canonical_times() -> None:
    calendar = BusinessHours(timezone="UTC", start="9:00", end="24:00")
    assert calendar.days == ["mon", "tue", "wed", "thu", "fri"]
    assert (calendar.start, calendar.end) == ("09:00", "24:00")
    assert calendar.holidays == []
    assert BusinessHours.model_validate(calendar.model_dump()) == calendar


@pytest.mark.parametrize(
    ("kwargs", "field", "bad"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"timezone": ""}, "timezone", "''"),
        ({"timezone": "UTC", "days": "mon-funday"}, "days", "funday"),
        ({"timezone": "UTC", "days": ["mon", "xyz"]}, "days", "xyz"),
        ({"timezone": "UTC", "days": []}, "days", "no day"),
        ({"timezone": "UTC", "days": ["mon", 3]}, "days", "3"),
        ({"timezone": "UTC", "start": "25:00"}, "start", "25:00"),
        ({"timezone": "UTC", "start": "9am"}, "start", "9am"),
        ({"timezone": "UTC", "start": "24:00"}, "start", "24:00"),
        ({"timezone": "UTC", "end": "17:60"}, "end", "17:60"),
        ({"timezone": "UTC", "start": "09:00", "end": "09:00"}, "start and end", "09:00"),
        ({"timezone": "UTC", "holidays": ["not-a-date"]}, "holidays", "not-a-date"),
        ({"timezone": "UTC", "colour": "red"}, "colour", "red"),
    ],
)
def test_validation_names_the_field(kwargs: dict[str, object], field: str, bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        BusinessHours(**kwargs)
    assert field in str(caught.value)
    assert bad in str(caught.value)


def test_calendar_is_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        OFFICE.start = "10:00"  # type: ignore[misc]


@pytest.mark.parametrize("fn", [is_open, next_opening])
def test_naive_datetimes_rejected(fn: Callable[[BusinessHours | None, datetime], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fn(OFFICE, datetime(2024, 6, 17, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        fn(None, datetime(2024, 6, 17, 10))


def test_naive_datetimes_rejected_in_arithmetic() -> None:
    naive = datetime(2024, 6, 17, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(OFFICE, naive, 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(None, naive, 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds_between(OFFICE, naive, utc(2024, 6, 18))


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_bad_seconds_rejected(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds"):
        add_business_time(OFFICE, utc(2024, 6, 17, 10), seconds)
