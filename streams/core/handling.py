"""The bodies of the routing and clock agents as pure functions: state and a record in, what to write out.

:func:`route_post` takes one classified post with what the tables hold for
it (the dedupe entry, the author's context) and returns a :class:`Routed`:
the new table values and the records to send, in order. :func:`clock_step`
does the same for one action on an alert's clock. The agents in
:mod:`streams.agents` read the tables, call these, and write what they say,
so every rule here is tested with plain data (tests/test_handling.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from . import sla
from .authors import record_post
from .dedupe import is_duplicate, remember
from .keywords import KeywordMatcher, RecentMatches
from .policy import Policy
from .records import Action, Classified, Event, Notice, Post, alert_id_for, isoformat
from .routing import Decision, author_labels, decide
from .silences import Silence, silenced_by
from .vocabulary import ClockState
from .wire import plain

__all__ = [
    "ClockStep", "Routed", "Send", "brand_accounts", "clock_step", "event", "keyword_matcher", "route_post",
    "surge_scopes",
]


class Send(NamedTuple):
    """One record for a topic, named as in :data:`streams.kafka.topics.TOPICS`."""

    topic: str
    key: str
    value: Any


def event(alert_id: str, kind: str, detail: dict[str, Any], now: datetime, actor: str = "monitor") -> Send:
    """An audit-trail event for the ``events`` topic."""
    return Send("events", alert_id, Event(alert_id=alert_id, kind=kind, at=isoformat(now), actor=actor, detail=detail))


def brand_accounts(policy: Policy) -> set[str]:
    return set(policy.brand_accounts) | {"@" + n.lstrip("@") for n in policy.brand_accounts if ":" not in n}


_matchers: dict[int, RecentMatches] = {}


def keyword_matcher(policy: Policy) -> RecentMatches:
    """One compiled matcher per policy object (a reload compiles the new one once), remembering recent posts."""
    key = id(policy)
    if key not in _matchers:
        _matchers.clear()
        _matchers[key] = RecentMatches(KeywordMatcher(policy.keyword_rules()))
    return _matchers[key]


def surge_scopes(policy: Policy, post: Post, decision: Decision | None) -> list[str]:
    scopes = []
    if "all" in policy.surges.scopes:
        scopes.append("all")
    if "brand" in policy.surges.scopes and post.brand:
        scopes.append(f"brand:{post.brand}")
    if "keyword" in policy.surges.scopes and decision is not None:
        scopes += [f"keyword:{name}" for name in decision.alert.keyword_classes or []]
    return scopes


@dataclass
class Routed:
    """What routing one classified post came to.

    ``outcome`` is ``duplicate``, ``brand_reply``, ``not_alerted``,
    ``silenced`` or ``alerted``; ``seen`` and ``author`` are new values for
    the dedupe and author tables (``None``: leave as is); ``sends`` go out in
    order.
    """

    outcome: str
    seen: dict[str, Any] | None = None
    author: tuple[str, dict[str, Any]] | None = None
    sends: list[Send] = field(default_factory=list)
    decision: Decision | None = None


def route_post(
    item: Classified,
    origin: str,
    seen: dict[str, Any] | None,
    author_ctx: dict[str, Any] | None,
    policy: Policy,
    silences: Iterable[Silence],
    now: datetime,
    retention_s: float,
    policy_version: int = 1,
) -> Routed:
    """Dedupe, author context, brand replies, surges, silences, then the alert, its event, clock and digests.

    ``origin`` is ``"partition:offset"`` of the record: a replay of the same
    record is not a duplicate of itself.
    """
    post, classification = item.post, item.classification
    if is_duplicate(seen, origin, now.timestamp(), retention_s):
        return Routed("duplicate")
    partition = int(origin.split(":")[0])
    routed = Routed("not_alerted")
    if seen is None or seen.get("origin") != origin:
        routed.seen = remember(origin, now.timestamp())
    if author_labels(post) & brand_accounts(policy):
        routed.outcome = "brand_reply"
        if post.in_reply_to:
            alert_id = alert_id_for(f"{post.platform}:{post.in_reply_to}")
            routed.sends.append(Send("actions", alert_id, Action(
                alert_id=alert_id, kind="resolve", at=isoformat(now),
                actor=f"{post.author.handle or post.author.id} (brand reply)",
                detail={"evidence": {"post": post.key, "text": post.text[:500], "url": post.url}},
            )))
        return routed
    author_key = f"{post.platform}:{post.author.id}"
    ctx = record_post(author_ctx, now.timestamp(), classification.label, post.platform, policy.history.keep)
    routed.author = (author_key, {**ctx, "partition": partition})
    decision = decide(post, classification, ctx, policy, keyword_matcher(policy), now)
    routed.decision = decision
    if classification.label == "complaint" and policy.surges.enabled:
        for scope in surge_scopes(policy, post, decision):
            routed.sends.append(Send("surge-counts", scope, {"scope": scope, "at": now.timestamp(), "text": post.text[:280]}))
    if decision is None:
        return routed
    alert = decision.alert
    silence = silenced_by(silences, decision.match_labels, now.timestamp())
    if silence is not None:
        routed.outcome = "silenced"
        routed.sends.append(event(alert.alert_id, "silenced", {
            "silence": silence.id, "by": silence.created_by, "label": classification.label,
        }, now))
        return routed
    routed.outcome = "alerted"
    routed.sends.append(Send("alerts", alert.alert_id, alert))
    routed.sends.append(event(alert.alert_id, "raised", {
        "label": classification.label, "priority": alert.priority, "deadline": alert.deadline,
        "receivers": alert.receivers, "digests": sorted(decision.digests), "policy_version": policy_version,
    }, now))
    assert decision.clock is not None
    plan = replace(decision.clock, text=post.text[:200], alert=alert.to_wire())
    routed.sends.append(Send("actions", alert.alert_id, Action(
        alert_id=alert.alert_id, kind="open", at=isoformat(now), clock=plan.to_dict(),
    )))
    for receiver, every_s in decision.digests.items():
        routed.sends.append(Send("digests", receiver, {
            "receiver": receiver, "every_s": every_s, "entry": {
                "alert_id": alert.alert_id, "label": classification.label, "priority": alert.priority,
                "text": post.text[:280], "url": post.url, "lang": classification.lang, "author": post.author.handle,
            },
        }))
    return routed


@dataclass
class ClockStep:
    """What one action did to an alert's clock: the new state (``forget`` drops it), the outcome, and the
    event and follow-up notice to send."""

    new: ClockState | None
    outcome: sla.Outcome
    forget: bool = False
    sends: list[Send] = field(default_factory=list)


def clock_step(action: Action, old: ClockState | None, partition: int, now: datetime) -> ClockStep:
    """Apply an action (open, ack, resolve, fire, forget) with :func:`streams.core.sla.apply`."""
    request: dict[str, Any] = {"kind": action.kind, "step": action.step, "actor": action.actor, "detail": action.detail}
    if action.kind == "open":
        request["clock"] = replace(ClockState.from_dict(action.clock or {}), partition=partition)
    new, outcome = sla.apply(old, request, now.timestamp())
    if outcome.status == "forgotten":
        return ClockStep(None, outcome, forget=True)
    step = ClockStep(new, outcome)
    if outcome.event is None or new is None:
        return step
    step.sends.append(event(action.alert_id, outcome.event["kind"], outcome.event["detail"], now, actor=action.actor))
    notice = outcome.notice
    if notice and notice["receivers"]:
        step.sends.append(Send("notices", action.alert_id, Notice(
            notice_id=f"{action.alert_id}:{notice['step']}", kind=notice["kind"], receivers=notice["receivers"],
            at=isoformat(now), summary=notice["summary"], actor=action.actor,
            alert=plain(new.alert) if new.alert is not None else None, detail=notice["detail"],
        )))
    return step
