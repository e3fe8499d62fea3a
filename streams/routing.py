"""The first router: a response window per label, a deadline, a priority and the reasons why.

A pure function of (post, classification, policy, now), so it is tested with
plain data and no Kafka. Priorities follow one documented rule:

* P1: a complaint whose window is 15 minutes or less;
* P2: any other complaint;
* P3: a question;
* P4: suggestions and praise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import DEFAULT_WINDOWS_S
from .records import Alert, Classification, Post, alert_id_for, isoformat, parse_instant


@dataclass(frozen=True)
class RoutingPolicy:
    """What the router needs from the settings, as plain data."""

    windows_s: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WINDOWS_S))
    receivers: tuple[str, ...] = ("console", "jsonl")
    uncertain_below: float = 0.5


def human_duration(seconds: int) -> str:
    """A window as a support lead says it.

    >>> human_duration(3600), human_duration(86400), human_duration(900)
    ('1 h', '1 day', '15 min')
    """
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" + ("s" if days != 1 else "")
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def priority_for(label: str, window_s: int) -> str:
    """P1..P4 by the rule in this module's docstring."""
    if label == "complaint":
        return "P1" if window_s <= 15 * 60 else "P2"
    if label == "question":
        return "P3"
    return "P4"


def route(post: Post, classification: Classification, policy: RoutingPolicy, now: datetime) -> Alert | None:
    """The alert a classified post raises, or ``None`` for ``other`` (counted, not alerted)."""
    label = classification.label
    window_s = policy.windows_s.get(label)
    if window_s is None:
        return None
    created = parse_instant(post.created_at)
    deadline = created + timedelta(seconds=window_s)
    reasons = [
        f"{label}: {human_duration(window_s)} response window (policy for {label} posts)",
        f"classified {label} with confidence {classification.confidence:.2f} by {classification.model}",
    ]
    if classification.confidence < policy.uncertain_below:
        runner_up = sorted(classification.scores.items(), key=lambda kv: kv[1], reverse=True)[1:2]
        alt = f"; next best {runner_up[0][0]} {runner_up[0][1]:.2f}" if runner_up else ""
        reasons.append(f"uncertain: confidence below {policy.uncertain_below:.2f}{alt}, check the label")
    if deadline <= now:
        reasons.append("the window had already closed when the post reached the monitor")
    return Alert(
        alert_id=alert_id_for(post.key),
        post=post,
        classification=classification,
        window_s=window_s,
        deadline=isoformat(deadline),
        priority=priority_for(label, window_s),
        reasons=reasons,
        receivers=list(policy.receivers),
        raised_at=isoformat(now),
    )
