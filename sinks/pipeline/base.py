"""The shape every stage shares: ``await stage(attempt, next) -> Outcome``, as Alertmanager's notify stages.

An :class:`Attempt` is one message for one receiver; ``next`` runs the rest
of the pipeline (ending in :func:`deliver`, the only place a sink is
called). A stage may answer without calling ``next`` (a duplicate, an open
circuit), call it once or more (retry), and look at what came back (metrics,
the delivery log). :func:`compose` chains stages; the result is a stage-less
callable, ``await pipeline(attempt)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from ..base import Delivered, Sink

__all__ = ["Attempt", "Next", "Outcome", "Pipeline", "Stage", "Status", "compose", "deliver"]

Status = Literal["delivered", "duplicate", "deferred", "failed"]


@dataclass(frozen=True)
class Attempt:
    """One message for one receiver: an alert (``kind="alert"``) or a follow-up notice (``"notice"``).

    ``mark`` is its key in the delivery log; ``ref`` what the receiver called
    the alert a notice is about (filled in by the dedup stage); ``tries``
    the tries made before this attempt, ``first_at`` when the first was
    made; ``inline`` is true on the main stream (several quick tries) and
    false on redelivery (one try).
    """

    receiver: str
    sink: Sink
    kind: str
    payload: dict[str, Any]
    mark: str
    first_at: float
    tries: int = 0
    inline: bool = True
    ref: str | None = None

    def with_ref(self, ref: str | None) -> Attempt:
        return replace(self, ref=ref)


@dataclass(frozen=True)
class Outcome:
    """What became of an attempt. ``used`` is the tries this attempt made; ``later`` says a failure is worth
    trying again after ``not_before`` (epoch seconds); ``reason`` is a short word for logs and metrics."""

    status: Status
    result: Delivered | None = None
    used: int = 0
    error: BaseException | None = None
    later: bool = False
    not_before: float | None = None
    reason: str = ""


Next = Callable[[Attempt], Awaitable[Outcome]]


class Stage(Protocol):
    async def __call__(self, attempt: Attempt, next: Next) -> Outcome: ...


Pipeline = Callable[[Attempt], Awaitable[Outcome]]


async def deliver(attempt: Attempt) -> Outcome:
    """The end of every pipeline: the sink delivers the alert, or the follow-up about it."""
    if attempt.kind == "alert":
        result = await attempt.sink.deliver(attempt.payload)
    else:
        result = await attempt.sink.follow_up(attempt.payload, attempt.ref)
    return Outcome("delivered", result=result, used=1)


def compose(stages: Sequence[Stage], end: Next = deliver) -> Pipeline:
    """Chain ``stages`` (outermost first) around ``end``."""
    pipeline: Next = end
    for stage in reversed(stages):
        pipeline = _bind(stage, pipeline)
    return pipeline


def _bind(stage: Stage, inner: Next) -> Next:
    async def run(attempt: Attempt) -> Outcome:
        return await stage(attempt, inner)

    return run
