"""Intent, then reconcile: each try is written to the delivery log before it is made, and a try that left an
intent without a result is looked up at the receiver instead of being sent blindly again.

A crash between a receiver accepting a message and the delivery log recording
it is the one place at-least-once delivery shows a person a duplicate. So
before each try the stage writes ``{"intent_at", "attempt", "receiver"}``
under the delivery's mark, durably (``write`` waits for the log's changelog
to be on the broker), and only then calls the sink. When the worker comes
back (a restart, a rebalance) or a try timed out, the mark still holds that
intent: the stage asks the sink to :meth:`~sinks.base.Sink.find` the message
(Slack looks in the channel by the message's metadata) and adopts what it
finds; only a message that is not there is sent again. A try the receiver
plainly refused (an HTTP status, an SMTP reply) needs no look-up; one that
may have reached it (a timeout, a dropped connection) does. Receivers that cannot
be asked (a webhook, SMTP) get no intent stage (:func:`sinks.pipeline.for_receiver`):
they get the same idempotency key (``Idempotency-Key``, ``dedup_key``,
``Message-ID``) on the second send, so they can drop it.

The log may also lose its last update (a faust table recovered after a
SIGKILL came back one write short on some keys): a delivery with no entry at
all whose message was made before this worker started is looked up too,
bounded by the message's own time, so the lost intent costs a look-up, not a
duplicate.

>>> import asyncio
>>> from sinks.base import Delivered, Sink
>>> class Posted(Sink):
...     async def deliver(self, alert): raise AssertionError("posted twice")
...     async def find(self, kind, message, ref, since, until): return Delivered(ref="1714.0001")
>>> log = {"al-1|chat": {"intent_at": 90.0, "attempt": 1, "receiver": "chat"}}
>>> stage = Intent(log, started_at=95.0, wall=lambda: 100.0)
>>> from sinks.pipeline.base import Attempt, deliver
>>> outcome = asyncio.run(stage(Attempt("chat", Posted(), "alert", {"alert_id": "al-1"}, "al-1|chat", 99.0), deliver))
>>> outcome.status, outcome.result.ref, outcome.reason
('delivered', '1714.0001', 'reconciled')
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..base import DeliveryError
from ..render import parse_deadline
from .base import Attempt, Next, Outcome

__all__ = ["LOOKBACK_S", "Intent", "delivered", "intent_of", "made_at"]

LOOKBACK_S = 300.0
"""Look-ups start this long before the intent (or the message's own time): clocks differ between hosts."""

Write = Callable[[str, Any], Awaitable[None]]


def delivered(entry: Any) -> bool:
    """A delivery log entry that records a result (the receiver's ref, or ``"ok"``), not just an intent."""
    return isinstance(entry, str)


def intent_of(entry: Any) -> dict[str, Any] | None:
    """The intent an entry records, when it has no result yet."""
    return entry if isinstance(entry, dict) and isinstance(entry.get("intent_at"), (int, float)) else None


def made_at(attempt: Attempt) -> float | None:
    """When the message was made (an alert's ``raised_at``, a notice's ``at``), epoch seconds; ``None`` if unknown."""
    moment = parse_deadline(attempt.payload.get("raised_at" if attempt.kind == "alert" else "at"))
    return moment.timestamp() if moment is not None else None


class Intent:
    """The innermost stage (inside Retry, so every try writes its own intent).

    ``write`` stores an entry durably (default: plain assignment, for a dict);
    ``started_at`` is when this worker started (epoch seconds); ``wall`` the
    wall clock intents are stamped with (never the fire-drill clock: Slack's
    timestamps are real time).
    """

    def __init__(
        self, log: MutableMapping[str, Any], write: Write | None = None, started_at: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.log, self.wall = log, wall
        self.started_at = wall() if started_at is None else started_at
        self.write = write or self._assign
        self._refused: set[str] = set()

    async def _assign(self, key: str, value: Any) -> None:
        self.log[key] = value

    def _window(self, attempt: Attempt, entry: Any) -> tuple[float, float] | None:
        """(since, until) to look the message up in, or ``None`` when no earlier try can have reached the receiver."""
        prior = intent_of(entry)
        if prior is not None:
            at = float(prior["intent_at"])
            return at - LOOKBACK_S, self.started_at if at < self.started_at else self.wall()
        made = made_at(attempt)
        if entry is None and made is not None and made < self.started_at:
            return made - LOOKBACK_S, self.started_at
        return None

    async def __call__(self, attempt: Attempt, next: Next) -> Outcome:
        entry = self.log.get(attempt.mark)
        refused = attempt.mark in self._refused
        self._refused.discard(attempt.mark)
        window = None if refused else self._window(attempt, entry)
        if window is not None:
            found = await attempt.sink.find(attempt.kind, attempt.payload, attempt.ref, *window)
            if found is not None:
                return Outcome("delivered", result=found, used=1, reason="reconciled")
        prior = intent_of(entry)
        number = int(prior.get("attempt", 0)) + 1 if prior else attempt.tries + 1
        try:
            await self.write(attempt.mark, {"intent_at": self.wall(), "attempt": number, "receiver": attempt.receiver})
        except Exception as exc:  # no intent on record, no try: the delivery waits for the log to be writable
            raise DeliveryError(f"delivery log: cannot record the intent ({type(exc).__name__})", retryable=True) from None
        try:
            return await next(attempt)
        except DeliveryError as exc:
            if not exc.maybe_delivered:  # the receiver answered no: nothing to look up before the next try
                self._refused.add(attempt.mark)
            raise
