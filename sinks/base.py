"""The sink contract: deliver one alert, and say whether a failure is worth retrying.

A sink only delivers. Retries, backoff, dedup and metrics live once, in
:mod:`sinks.notify`, as in Alertmanager's notify pipeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


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

    async def start(self) -> None:
        """Open connections or files; called once before the first delivery."""

    async def close(self) -> None:
        """Release what :meth:`start` opened."""

    @abstractmethod
    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        """Deliver one alert (its JSON form); raise :class:`DeliveryError` on failure."""
