"""The router: from a classified post, its author's history and the policy, to an alert and its clock.

A pure function of (post, classification, author context, policy, now): no
Kafka, no clock reads, so every rule is tested with plain data. The steps:

1. **Window**: the label's window (``other`` has none), tightened by every
   modifier that applies: keyword classes, reach (followers, verified, VIP),
   the author's history (a repeat complainer). The tightest wins; each
   modifier adds a line to ``reasons``. A keyword class with a window of its
   own raises an alert even for a post classified ``other``: a safety report
   the model misread must still reach a person.
2. **Priority**, one documented rule: complaint P2, question P3, suggestion
   and praise P4, other (raised by a keyword) P3; a complaint whose final
   window is 15 minutes or less is P1; a modifier that names a priority raises
   the alert to it (never lowers it).
3. **Routes**: the tree is walked as Alertmanager does
   (:func:`streams.core.route_tree.match_routes`).
   Every matched route's receivers hear of the alert; the last matched route
   (the one that ended the walk, the most specific) owns the clock: its
   business hours set the deadline in open time, its reminder interval and
   escalation levels apply.
4. **Clock plan**: when to warn, breach, escalate and remind, as epoch seconds
   (see :mod:`streams.core.sla`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sinks.text import human_duration

from . import authors
from .calendar import BusinessHours, add_business_time
from .keywords import KeywordMatcher, RecentMatches
from .policy import Policy
from .records import Alert, Classification, Post, alert_id_for, isoformat, parse_instant
from .route_tree import ResolvedRoute, author_labels, match_routes, match_values, matches
from .vocabulary import BASE_PRIORITY, PRIORITIES, ClockState

__all__ = [
    "P1_COMPLAINT_WINDOW_S", "Decision", "Modifier", "ResolvedRoute", "add_seconds", "author_labels", "decide",
    "highest", "history_modifiers", "human_duration", "match_routes", "matches", "reach_modifiers",
    "urgent_on_its_face",
]

P1_COMPLAINT_WINDOW_S = 15 * 60


def highest(*priorities: str | None) -> str:
    """The most urgent of some priorities (P1 beats P4).

    >>> highest("P3", None, "P2")
    'P2'
    """
    return min((p for p in priorities if p), key=PRIORITIES.index)


@dataclass(frozen=True)
class Modifier:
    """One rule that applied: an optional window and priority, and the reason in words."""

    reason: str
    window_s: int | None = None
    priority: str | None = None


def reach_modifiers(post: Post, label: str, policy: Policy) -> list[Modifier]:
    reach = policy.reach
    if label not in reach.labels:
        return []
    found: list[Modifier] = []
    crossed = [rule for rule in reach.followers if post.author.followers > rule.over]
    if crossed:
        rule = max(crossed, key=lambda r: r.over)
        found.append(Modifier(f"reach: {post.author.followers:,} followers (over {rule.over:,})", rule.window, rule.priority))
    if reach.verified and post.author.verified:
        found.append(Modifier("reach: verified account", reach.verified.window, reach.verified.priority))
    vip = reach.vip
    if vip and (match_values(author_labels(post)) & (match_values(vip.authors) | match_values(["@" + h.lstrip("@") for h in vip.handles]))):
        found.append(Modifier("reach: on the VIP list", vip.window, vip.priority))
    return found


def history_modifiers(ctx: dict[str, Any], label: str, policy: Policy, now: float) -> list[Modifier]:
    found: list[Modifier] = []
    repeat = policy.history.repeat_complainer
    if repeat and label == repeat.label:
        n = authors.count(ctx, label, now, repeat.within)
        if n >= repeat.count:
            found.append(Modifier(
                f"history: repeat {label} ({authors.ordinal(n)} in {human_duration(repeat.within)})",
                repeat.window, repeat.priority,
            ))
    fan = policy.history.known_fan
    if fan and label != "praise" and authors.count(ctx, "praise", now, fan.within) >= fan.praise:
        found.append(Modifier(f"history: a known fan ({authors.count(ctx, 'praise', now, fan.within)} praise posts)"))
    return found


def urgent_on_its_face(post: Post, policy: Policy, keywords: KeywordMatcher | RecentMatches) -> str | None:
    """Why a post should jump the classification queue, or ``None``: a keyword class or a reach rule that
    names priority P1 or P2 applies whatever the label. Only what is visible before classification counts.

    In a burst the classifier is the bottleneck and posts wait in line for it;
    these posts go to the urgent lane and wait at most for one batch.
    """
    for hit in keywords.match(post.text, post.lang):
        if hit.priority in ("P1", "P2"):
            return f"keyword class {hit.name}"
    for modifier in reach_modifiers(post, "complaint", policy):
        if modifier.priority in ("P1", "P2"):
            return modifier.reason
    return None


@dataclass(frozen=True)
class Decision:
    """What routing decided for one post: the alert, who hears now, who gets it in a digest, and its clock."""

    alert: Alert
    routes: list[ResolvedRoute]
    digests: dict[str, int] = field(default_factory=dict)
    clock: ClockState | None = None
    match_labels: dict[str, Any] = field(default_factory=dict)


def decide(
    post: Post,
    classification: Classification,
    ctx: dict[str, Any],
    policy: Policy,
    keywords: KeywordMatcher | RecentMatches,
    now: datetime,
) -> Decision | None:
    """The alert a classified post raises with its routes and clock, or ``None`` when nothing applies."""
    label = classification.label
    at = now.timestamp()
    base_window = policy.windows_s.get(label)
    hits = list({h.name: h for h in reversed(keywords.match(post.text, classification.lang or post.lang))}.values())[::-1]
    mods = [
        Modifier(h.reason or f"{h.name}: the post says “{h.phrase}”", h.window_s, h.priority) for h in hits
    ]
    if base_window is None and not any(m.window_s for m in mods):
        return None
    mods += reach_modifiers(post, label, policy) + history_modifiers(ctx, label, policy, at)
    windows = [w for w in [base_window] + [m.window_s for m in mods] if w]
    window_s = min(windows)
    priority = highest(BASE_PRIORITY[label], *(m.priority for m in mods))
    if label == "complaint" and window_s <= P1_COMPLAINT_WINDOW_S:
        priority = "P1"

    reasons = [
        f"{label}: {human_duration(base_window)} response window (policy for {label} posts)"
        if base_window else f"classified {label}, raised because of the keywords below",
    ]
    reasons += [m.reason + (f": {human_duration(m.window_s)} window" if m.window_s else "") for m in mods]
    reasons.append(f"classified {label} with confidence {classification.confidence:.2f} by {classification.model}")
    uncertain = classification.confidence < policy.uncertain_below
    if uncertain:
        runner_up = sorted(classification.scores.items(), key=lambda kv: kv[1], reverse=True)[1:2]
        alt = f"; next best {runner_up[0][0]} {runner_up[0][1]:.2f}" if runner_up else ""
        reasons.append(f"uncertain: confidence below {policy.uncertain_below:.2f}{alt}, check the label")

    keyword_classes = sorted({h.name for h in hits})
    match_labels: dict[str, Any] = {
        "kind": "alert", "label": label, "priority": priority, "lang": classification.lang or post.lang,
        "platform": post.platform, "brand": post.brand, "keyword_class": set(keyword_classes),
        "author": author_labels(post),
    }
    routes = match_routes(policy.routes, match_labels)
    primary = routes[-1]
    calendar: BusinessHours | None = policy.calendars.get(primary.business_hours) if primary.business_hours else None
    created = parse_instant(post.created_at)
    deadline = add_business_time(calendar, created, window_s)
    if calendar is not None:
        reasons.append(
            f"business hours ({primary.business_hours}, {calendar.timezone}): the clock stops outside them"
        )
    if deadline <= now:
        reasons.append("the window had already closed when the post reached the monitor")

    immediate: list[str] = []
    digests: dict[str, int] = {}
    for r in routes:
        for name in r.receivers:
            if r.digest_s:
                digests.setdefault(name, r.digest_s)
            elif name not in immediate:
                immediate.append(name)
    digests = {name: every for name, every in digests.items() if name not in immediate}
    reasons.append(
        "routed by " + ", ".join(r.path for r in routes) + " to " + (", ".join(immediate) or "no one now")
        + (f"; in digests: {', '.join(digests)}" if digests else "")
    )
    escalation = primary.escalation
    history_line = authors.summary(ctx, at, label) if ctx.get("posts") else None
    alert = Alert(
        alert_id=alert_id_for(post.key),
        post=post,
        classification=classification,
        window_s=window_s,
        deadline=isoformat(deadline),
        priority=priority,
        reasons=reasons,
        receivers=immediate,
        raised_at=isoformat(now),
        history=history_line,
        recent_labels=authors.recent_labels(ctx, policy.history.recent + 1)[1:],
        keyword_classes=keyword_classes,
        uncertain=uncertain,
    )
    warn_at = add_business_time(calendar, created, window_s * policy.warn_at)
    clock = ClockState(
        alert_id=alert.alert_id,
        state="open",
        label=label,
        priority=priority,
        raised_at=at,
        warn_at=warn_at.timestamp(),
        deadline=deadline.timestamp(),
        calendar=calendar.model_dump(mode="json") if calendar else None,
        escalation=[
            {"level": i + 1, "at": add_business_time(calendar, now, level.after).timestamp(), "receivers": list(level.receivers)}
            for i, level in enumerate(escalation)
        ],
        remind_every_s=primary.remind_every_s,
        next_reminder_at=(
            add_business_time(calendar, now, primary.remind_every_s).timestamp() if primary.remind_every_s else None
        ),
        reminders_sent=0,
        receivers=immediate,
        fired=[],
    )
    return Decision(alert=alert, routes=routes, digests=digests, clock=clock, match_labels=match_labels)


def add_seconds(calendar: dict[str, Any] | None, start: float, seconds: float) -> float:
    """:func:`add_business_time` over epoch seconds and a calendar kept as plain data (in the clock table)."""
    from datetime import timezone

    begin = datetime.fromtimestamp(start, timezone.utc)
    if calendar is None:
        return (begin + timedelta(seconds=seconds)).timestamp()
    return add_business_time(BusinessHours.model_validate(calendar), begin, seconds).timestamp()
