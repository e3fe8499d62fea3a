"""What a worker's agents, timer and HTTP API share, as one typed object instead of attributes on the app.

:func:`streams.agents.app.create_app` builds one :class:`Runtime` and hands
it to each agent module's ``register`` and to the API; nothing is hung on
the faust app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from . import metrics
from .clock import Clock
from .config import Settings
from .core.handling import Send, event
from .core.policy import PolicyHolder
from .core.records import DeadLetter
from .core.silences import Silence
from .core.wire import Record, WireError

if TYPE_CHECKING:
    import faust

    from classifiers.base import Classifier
    from sinks.base import Sink
    from sinks.limits import CircuitBreaker

    from .platforms.connectors.runner import ConnectorThread

__all__ = ["Runtime", "Tables", "Topics"]

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Record)


@dataclass
class Topics:
    """The faust topics, one attribute per name in :data:`streams.kafka.topics.TOPICS` (``-`` as ``_``)."""

    posts: Any
    posts_urgent: Any
    posts_normal: Any
    classified: Any
    alerts: Any
    events: Any
    dlq: Any
    shadow: Any
    corrections: Any
    actions: Any
    notices: Any
    surge_counts: Any
    redeliver: Any
    silences: Any
    digests: Any

    def by_name(self, name: str) -> Any:
        return getattr(self, name.replace("-", "_"))


@dataclass
class Tables:
    """The changelog-backed tables (faust ``Table`` objects: mutable mappings)."""

    seen: Any
    authors: Any
    clocks: Any
    digest_buffers: Any
    surge_state: Any
    deliveries: Any


@dataclass
class Runtime:
    """One worker's state: settings, policy, classifier(s), receivers, topics, tables, silences, clock and
    the connectors running beside it."""

    app: faust.App
    settings: Settings
    holder: PolicyHolder
    classifier: Classifier
    shadow: Classifier | None
    sinks: dict[str, Sink]
    topics: Topics
    tables: Tables
    clock: Clock
    breaker: CircuitBreaker
    silences: dict[str, Silence] = field(default_factory=dict)
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify"))
    act: Callable[..., Awaitable[tuple[dict[str, Any], int]]] | None = None
    """Acknowledge or resolve an alert (set by :mod:`streams.api.alerts`; Slack buttons use it too)."""
    started: bool = False
    """Set by the start-up task once recovery is done and SIGHUP reloads; ``/readyz`` waits for it."""
    early_sighups: list[int] = field(default_factory=list)
    """SIGHUPs that came while the worker was still starting (:func:`streams.agents.timer.hold_sighup`)."""
    connectors: ConnectorThread | None = None
    """The platform connectors ``pot run`` started beside the worker (``POT_CONNECTORS``), on their own
    event loop in a thread; stopped when the worker stops."""

    def now(self) -> datetime:
        return self.clock.now()

    async def send(self, out: Send) -> None:
        """Send one record a pure step asked for: records in their wire form, anything else as JSON."""
        value = out.value.dumps() if isinstance(out.value, Record) else out.value
        await self.topics.by_name(out.topic).send(key=out.key, value=value)

    async def send_all(self, sends: list[Send]) -> None:
        for out in sends:
            await self.send(out)

    async def emit(self, alert_id: str, kind: str, detail: dict[str, Any], actor: str = "monitor") -> None:
        """One audit-trail event on the ``events`` topic."""
        await self.send(event(alert_id, kind, detail, self.now(), actor))

    async def dead_letter(self, record: DeadLetter) -> None:
        metrics.DEAD_LETTERS.labels(record.stage).inc()
        log.warning("dead letter (%s, %s): %s", record.stage, record.reason_code, record.reason[:200])
        await self.topics.dlq.send(key=record.reason_code, value=record.dumps())

    async def decode(self, cls: type[R], raw: Any, stage: str, message: Any = None) -> R | None:
        """A record from a topic's bytes (this wire version or an earlier one); what does not decode goes to
        the dead-letter topic whole, and ``None`` comes back."""
        from .core.steps import dead_letter

        try:
            return cls.loads(raw)
        except WireError as exc:
            where = (message.topic, message.partition, message.offset) if message is not None else (None, None, None)
            await self.dead_letter(dead_letter(stage, "wire_error", str(exc), raw if isinstance(raw, bytes) else b"", self.now(), *where))
            return None
