"""The worker's notion of now: the system clock, optionally shifted by an offset read from a file.

The SLA clock fires warnings and breaches an hour or a day after an alert is
raised. Tests and fire drills must see that happen without waiting, so a
worker started with ``POT_CLOCK_OFFSET_FILE`` adds the number of seconds
written in that file to the system time (re-read when the file changes).
Time only moves forward through it: lowering the offset is refused, so a
typo cannot make alerts travel back in time.

>>> Clock().now().tzinfo is not None
True
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger(__name__)


class Clock:
    """``now()`` in UTC; with ``offset_file``, shifted by the (non-decreasing) seconds it holds."""

    def __init__(self, offset_file: Path | None = None) -> None:
        self.offset_file = offset_file
        self.offset_s = 0.0
        self._mtime: float | None = None

    def _refresh(self) -> None:
        if self.offset_file is None:
            return
        try:
            mtime = os.stat(self.offset_file).st_mtime
        except OSError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            value = float(self.offset_file.read_text().strip() or 0)
        except (OSError, ValueError):
            log.warning("clock offset file %s does not hold a number of seconds; keeping %+g s", self.offset_file, self.offset_s)
            return
        if value < self.offset_s:
            log.warning("clock offset may only grow; keeping %+g s (file says %+g s)", self.offset_s, value)
            return
        if value != self.offset_s:
            log.info("clock offset now %+g s", value)
        self.offset_s = value

    def now(self) -> datetime:
        self._refresh()
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset_s)

    def time(self) -> float:
        return self.now().timestamp()
