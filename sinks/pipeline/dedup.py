"""Dedup: each (message, receiver) is delivered once, recorded in the delivery log with the receiver's ref.

The log is any mutable mapping (the worker's changelog-backed ``deliveries``
table; a dict in tests): ``mark`` → the ref the receiver gave (a Slack ts, a
Message-ID) or ``"ok"``. A follow-up about an alert gets that alert's ref
here, so Slack can update the original message and email can reply to it.

>>> import asyncio
>>> from sinks.pipeline.base import Attempt, Outcome
>>> log = {"al-1|desk": "ok"}
>>> async def never(attempt): raise AssertionError("delivered twice")
>>> asyncio.run(Dedup(log)(Attempt("desk", None, "alert", {}, "al-1|desk", 0.0), never)).status
'duplicate'
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from .base import Attempt, Next, Outcome

__all__ = ["Dedup"]


class Dedup:
    def __init__(self, log: MutableMapping[str, Any]) -> None:
        self.log = log

    def ref_for(self, alert_id: str | None, receiver: str) -> str | None:
        """What ``receiver`` called the alert when it was delivered, if it was and named it."""
        ref = self.log.get(f"{alert_id}|{receiver}") if alert_id else None
        return None if ref in (None, "ok") else ref

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        if self.log.get(attempt.mark) is not None:
            return Outcome("duplicate", reason="already delivered")
        if attempt.kind != "alert":
            alert_id = (attempt.payload.get("alert") or {}).get("alert_id")
            attempt = attempt.with_ref(self.ref_for(alert_id, attempt.receiver))
        outcome = await next(attempt)
        if outcome.status == "delivered" and outcome.result is not None:
            self.log[attempt.mark] = outcome.result.ref or "ok"
        return outcome
