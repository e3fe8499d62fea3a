"""Business hours as configured: the schedule a route's team keeps, parsed and validated.

Business hours are wall-clock hours in the calendar's own time zone: 09:00 means
whatever the clocks in that office read 09:00, whatever the UTC offset is that
day.  This module reads and checks what a policy file says ("mon-fri",
"22:00"-"06:00", holidays); turning it into real (UTC) open time is
:mod:`streams.core.calendar`.

>>> BusinessHours(timezone="Europe/Bucharest", days="mon-fri,sun", start="9:00").days
['mon', 'tue', 'wed', 'thu', 'fri', 'sun']
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BusinessHours", "minutes_of_day"]

_DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: dict[str, int] = {
    **{name: i for i, name in enumerate(_DAY_NAMES)},
    **{
        name: i
        for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _day_index(name: str, raw: object) -> int:
    key = name.strip().lower()
    if key not in _DAY_ALIASES:
        raise ValueError(
            f"days: unknown day name {name.strip()!r} in {raw!r}; use mon, tue, wed, thu, fri, sat, sun"
        )
    return _DAY_ALIASES[key]


def _parse_days(raw: list[str]) -> list[str]:
    """Expand the shapes people write in YAML ("mon-fri", "mon-fri,sun", ["mon", "tue"]) to sorted day names."""
    parts = [piece for item in raw for piece in item.split(",")]
    chosen: set[int] = set()
    for part in parts:
        if not part.strip():
            continue
        if "-" in part:
            first_name, _, last_name = part.partition("-")
            first, last = _day_index(first_name, raw), _day_index(last_name, raw)
            span = (last - first) % 7
            chosen.update((first + step) % 7 for step in range(span + 1))
        else:
            chosen.add(_day_index(part, raw))
    if not chosen:
        raise ValueError(f"days: {raw!r} names no day; a calendar must be open on at least one weekday")
    return [_DAY_NAMES[i] for i in sorted(chosen)]


def minutes_of_day(value: str) -> int:
    """Minutes since midnight of an HH:MM time (24:00 allowed); raises ``ValueError`` otherwise."""
    match = _HHMM.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a time like '09:00' (HH:MM, 24-hour)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise ValueError(f"{value!r} is not a time between 00:00 and 24:00")
    return hours * 60 + minutes


def _canonical_time(value: str) -> str:
    total = minutes_of_day(value)
    return f"{total // 60:02d}:{total % 60:02d}"


class BusinessHours(BaseModel):
    """When a route's team is at work, so that the SLA clock can stop when it is not.

    Each listed day has one shift from ``start`` to ``end`` local time; when
    ``start`` is later than ``end`` the shift runs overnight into the next day.
    A holiday cancels the shift that starts on that date.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(description="IANA time zone of the office, e.g. 'Europe/Bucharest'.")
    days: list[str] = Field(
        default_factory=lambda: list(_DAY_NAMES[:5]),
        description="Days a shift starts on: a list like ['mon', 'tue'] or ranges like 'mon-fri,sun'.",
    )
    start: str = Field(default="09:00", description="Local opening time, HH:MM.")
    end: str = Field(default="17:00", description="Local closing time, HH:MM; 24:00 allowed; earlier than start = overnight.")
    holidays: list[date] = Field(default_factory=list, description="Local dates whose shift does not happen.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"timezone: unknown IANA time zone {value!r}; use a name like 'Europe/Bucharest' or 'UTC'"
            ) from exc
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _accept_one_string(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("days")
    @classmethod
    def _normalise_days(cls, value: list[str]) -> list[str]:
        return _parse_days(value)

    @field_validator("start")
    @classmethod
    def _valid_start(cls, value: str) -> str:
        try:
            canonical = _canonical_time(value)
        except ValueError as exc:
            raise ValueError(f"start: {exc}") from None
        if canonical == "24:00":
            raise ValueError("start: a shift cannot open at 24:00; use 00:00")
        return canonical

    @field_validator("end")
    @classmethod
    def _valid_end(cls, value: str) -> str:
        try:
            return _canonical_time(value)
        except ValueError as exc:
            raise ValueError(f"end: {exc}") from None

    @model_validator(mode="after")
    def _non_empty_shift(self) -> BusinessHours:
        if self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start!r}, which leaves the length of the shift ambiguous; "
                "use start='00:00', end='24:00' for whole days"
            )
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        """Days as ``datetime.weekday()`` numbers (Monday is 0), the form date arithmetic needs."""
        return frozenset(_DAY_NAMES.index(name) for name in self.days)

    @property
    def zone(self) -> ZoneInfo:
        """The zone object, for callers that show deadlines in the office's local time."""
        return ZoneInfo(self.timezone)
