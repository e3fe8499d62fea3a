"""The shared delivery stage: retry with exponential backoff and jitter, honouring ``retry_after``.

Sinks only classify failures; this is the one place that waits and tries
again, so every sink gets the same behaviour.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from .base import Delivered, DeliveryError, Sink


async def deliver_with_retry(
    sink: Sink,
    alert: dict[str, Any],
    attempts: int = 5,
    base_delay_s: float = 0.5,
    max_delay_s: float = 30.0,
) -> tuple[Delivered, int]:
    """Deliver, retrying retryable failures; returns (result, attempts used) or raises the last error."""
    for attempt in range(1, attempts + 1):
        try:
            return await sink.deliver(alert), attempt
        except DeliveryError as exc:
            if not exc.retryable or attempt == attempts:
                raise
            delay = min(max_delay_s, base_delay_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            if exc.retry_after_s is not None:
                if exc.retry_after_s > max_delay_s:
                    raise DeliveryError(
                        f"{exc} (receiver asked to wait {exc.retry_after_s:g} s, over the {max_delay_s:g} s limit)",
                        retryable=False,
                    ) from None
                delay = max(delay, exc.retry_after_s)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
