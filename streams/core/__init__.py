"""The pure core: the monitor's rules as functions of plain data, with no faust, Kafka or network import.

Records and their wire form (:mod:`.records`, :mod:`.wire`), the vocabulary
(:mod:`.vocabulary`), post validation (:mod:`.validation`), the routing policy
and router (:mod:`.policy`, :mod:`.routing`), the SLA clock (:mod:`.sla`),
business calendars, keywords, surges, silences, digests, dedupe, author
context, and the bodies of the agents (:mod:`.steps`, :mod:`.handling`).
``tests/test_layout.py`` checks that importing this package loads no faust
or Kafka client; docs/architecture.md maps each rule to its module.
"""

from .records import (
    Action, Alert, Author, Classification, Classified, Correction, DeadLetter, Event, Notice, Post, ShadowDisagreement,
    alert_id_for, isoformat, parse_instant, utcnow,
)
from .validation import REASON_CODES, InvalidPost, parse_post, validate_post
from .vocabulary import ALERT_LABELS, LABELS, PRIORITIES, ClockState, DeliveryItem, Label, Priority
from .wire import WIRE_VERSION, WireError

__all__ = [
    "ALERT_LABELS", "LABELS", "PRIORITIES", "REASON_CODES", "WIRE_VERSION",
    "Action", "Alert", "Author", "Classification", "Classified", "ClockState", "Correction", "DeadLetter",
    "DeliveryItem", "Event", "InvalidPost", "Label", "Notice", "Post", "Priority", "ShadowDisagreement", "WireError",
    "alert_id_for", "isoformat", "parse_instant", "parse_post", "utcnow", "validate_post",
]
