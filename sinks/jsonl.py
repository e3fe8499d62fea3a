"""Appends each delivered alert to a JSON Lines file: the audit trail a person can grep.

Each line is flushed and fsynced before the delivery counts as done, so a line
the monitor reported as delivered survives a crash. The sink is idempotent:
it remembers the alert ids (and notice ids) already in its files, so a
delivery replayed after a crash (the worker died after writing the line but
before recording the delivery) does not write the line twice.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from .base import Delivered, DeliveryError, Sink


class JsonlSink(Sink):
    name = "jsonl"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.notices_path = self.path.with_suffix(".notices.jsonl")
        self._lock = asyncio.Lock()
        self._seen: set[Any] = set()
        self._seen_notices: set[Any] = set()

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seen = await asyncio.to_thread(self._ids, self.path, "alert_id")
        self._seen_notices = await asyncio.to_thread(self._ids, self.notices_path, "notice_id")

    @staticmethod
    def _ids(path: Path, field: str) -> set[str]:
        if not path.exists():
            return set()
        found = set()
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    found.add(str(json.loads(line)[field]))
                except (ValueError, KeyError, TypeError):
                    continue
        return found

    def _append(self, line: str, path: Path | None = None) -> None:
        with open(path or self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        line = json.dumps(alert, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            async with self._lock:
                if alert.get("alert_id") in self._seen:
                    return Delivered(ref=str(self.path))
                await asyncio.to_thread(self._append, line)
                self._seen.add(alert.get("alert_id"))
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.path}: {exc.strerror}", retryable=True) from None
        return Delivered(ref=str(self.path))

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """Follow-ups go to a second file beside the alert log (``alerts.notices.jsonl``), one line each."""
        line = json.dumps(notice, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            async with self._lock:
                if notice.get("notice_id") in self._seen_notices:
                    return Delivered(ref=str(self.notices_path))
                await asyncio.to_thread(self._append, line, self.notices_path)
                self._seen_notices.add(notice.get("notice_id"))
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.notices_path}: {exc.strerror}", retryable=True) from None
        return Delivered(ref=str(self.notices_path))
