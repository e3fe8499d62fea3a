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
    """A failed delivery. ``retryable`` failures are tried again; permanent ones stop at once."""

    def __init__(self, message: str, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


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
