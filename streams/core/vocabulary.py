"""The monitor's words, declared once: labels, priorities, the clock's state and a delivery in flight.

Everything else imports these; a label or a priority is never spelled out as
a tuple anywhere else. :class:`Label` and :class:`Priority` are ``str``
enums, so they compare equal to (and serialise as) the plain strings on the
wire and in the tables.

>>> Label("complaint") == "complaint", Priority.P1 < Priority.P3
(True, True)
>>> ALERT_LABELS
('praise', 'complaint', 'question', 'suggestion')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any, Literal, get_args

__all__ = [
    "ALERT_LABELS", "AlertLabel", "BASE_PRIORITY", "LABELS", "PRIORITIES", "ClockState", "DeliveryItem", "Label", "Priority",
]


class Label(str, Enum):
    """What a post is; ``other`` (noise) raises no alert unless a keyword class says so."""

    PRAISE = "praise"
    COMPLAINT = "complaint"
    QUESTION = "question"
    SUGGESTION = "suggestion"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


class Priority(str, Enum):
    """How urgent an alert is: P1 (urgent) to P4 (low). Ordered: ``P1 < P2`` means "more urgent"."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    def __str__(self) -> str:
        return self.value

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, str):
            return NotImplemented
        return PRIORITIES.index(self.value) < PRIORITIES.index(str(other))


LABELS: tuple[str, ...] = tuple(label.value for label in Label)
"""The five labels of LABELS.md, in the order classifiers report scores."""
AlertLabel = Literal["praise", "complaint", "question", "suggestion"]
"""The labels that have a response window, as a type for validated config; ``other`` raises no alert by itself."""
ALERT_LABELS: tuple[str, ...] = get_args(AlertLabel)
assert ALERT_LABELS == tuple(label for label in LABELS if label != Label.OTHER)
PRIORITIES: tuple[str, ...] = tuple(priority.value for priority in Priority)
BASE_PRIORITY: dict[str, str] = {"complaint": "P2", "question": "P3", "suggestion": "P4", "praise": "P4", "other": "P3"}
"""The priority of an alert before modifiers: the one documented rule (README, "Priority")."""


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})


@dataclass
class ClockState:
    """One alert's SLA clock, as kept (as a plain dict) in the changelog-backed ``clocks`` table.

    Times are epoch seconds. ``state`` is ``open``, ``acknowledged`` or
    ``resolved``; ``fired`` lists the steps applied (``warning``, ``breach``,
    ``escalation:N``, ``reminder:N``), so a step proposed twice is applied
    once. ``alert`` is the alert's wire form, ``text`` its first 200
    characters, ``partition`` the ``actions`` partition that owns the clock.

    >>> ClockState.from_dict({"alert_id": "al-1", "state": "open", "label": "complaint", "priority": "P2",
    ...     "raised_at": 0.0, "warn_at": 1.0, "deadline": 2.0, "unknown_key": 1}).remind_every_s is None
    True
    """

    alert_id: str
    state: str
    label: str
    priority: str
    raised_at: float
    warn_at: float
    deadline: float
    calendar: dict[str, Any] | None = None
    escalation: list[dict[str, Any]] = field(default_factory=list)
    remind_every_s: int | None = None
    next_reminder_at: float | None = None
    reminders_sent: int = 0
    receivers: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    text: str | None = None
    alert: dict[str, Any] | None = None
    partition: int | None = None
    acked_by: str | None = None
    acked_at: float | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClockState:
        """From the table's value (keys this version does not know are ignored)."""
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        """The table's value (JSON-ready)."""
        return asdict(self)


@dataclass
class DeliveryItem:
    """One (message, receiver) delivery on its way, as carried on the ``redeliver`` topic.

    ``kind`` is ``alert`` or ``notice``; ``mark`` is its key in the delivery
    log (``{alert or notice id}|{receiver}``); ``subject`` the alert id the
    events are filed under; ``payload`` the message's wire form.

    >>> item = DeliveryItem(receiver="slack", mark="al-1|slack", subject="al-1", kind="alert", payload={}, first_at=5.0)
    >>> DeliveryItem.from_dict(item.to_dict()) == item
    True
    """

    receiver: str
    mark: str
    subject: str
    kind: str
    payload: dict[str, Any]
    first_at: float
    attempts: int = 0
    error: str | None = None
    not_before: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliveryItem:
        return _from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}
