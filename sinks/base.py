"""The sink contract: deliver one alert, and say whether a failure is worth retrying.

A sink only delivers, and says whether a failure is worth retrying. Dedup,
the circuit breaker, rate limits, retries, metrics and dead-lettering live
once, as stages of :mod:`sinks.pipeline`, as in Alertmanager's notify
pipeline. :func:`sinks.checks.check_sink` is the contract as a test.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

__all__ = ["Delivered", "DeliveryError", "Sink"]


@dataclass(frozen=True)
class Delivered:
    """Success; ``ref`` is what the receiver called it (a Slack ts, a Message-ID, a line number)."""

    ref: str | None = None


class DeliveryError(Exception):
    """A failed delivery. ``retryable`` failures are tried again; permanent ones stop at once.

    ``maybe_delivered`` says the receiver may have acted before the failure (a timeout or a dropped
    connection after the request went out), so the next try looks the message up first."""

    def __init__(
        self, message: str, retryable: bool, retry_after_s: float | None = None, maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.maybe_delivered = maybe_delivered


class Sink(ABC):
    """Implement :meth:`deliver`; ``name`` is how routes refer to the receiver."""

    name: str = "sink"
    rate_per_s: float | None = None
    """Messages per second the receiver accepts (``None``: no limit); the pipeline paces deliveries to it."""
    burst: int = 1

    async def start(self) -> None:
        """Open connections or files; called once before the first delivery."""

    async def close(self) -> None:
        """Release what :meth:`start` opened."""

    @abstractmethod
    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        """Deliver one alert (its JSON form); raise :class:`DeliveryError` on failure."""

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """Tell the receiver what became of an alert it was sent: warning, breach, escalation, reminder, ack, resolve.

        ``notice`` is ``{"notice_id", "kind", "alert", "at", "actor", "detail", "summary"}``;
        ``ref`` is what :meth:`deliver` returned for that alert here (a Slack ts
        to update in place or thread under, a Message-ID to reply to), or
        ``None`` when this receiver never had the alert (an escalation level).
        The default sends nothing and says so: a receiver that cannot show
        follow-ups is not a failed delivery.
        """
        return Delivered(ref=None)

    async def find(self, kind: str, message: dict[str, Any], ref: str | None, since: float, until: float) -> Delivered | None:
        """Look ``message`` up at the receiver: the notify pipeline asks when an earlier try left an intent in the
        delivery log but no result (the worker died, or a try timed out after the receiver may have acted).

        ``kind`` is ``alert`` or ``notice``; ``ref`` as in :meth:`follow_up`; the try was made at or after
        ``since`` and anything it posted was there by ``until`` (epoch seconds, wall clock). Return what the
        receiver called it when it is there, ``None`` when it is not or this receiver cannot be asked (the
        pipeline then sends again, carrying the same idempotency key); raise :class:`DeliveryError` when the
        look-up itself failed. The default cannot ask.
        """
        return None
