"""The route tree walk: which routes of the policy a post's labels match, with inherited options filled in.

The tree is walked as Alertmanager does (:func:`match_routes`): a matching node
tries its children in order, the first match ends the search unless it says
``continue``, and a node none of whose children matched is itself the match.
Silences use the same matchers (:func:`matches`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .policy_schema import Level, Route
from .records import Post

__all__ = ["ResolvedRoute", "author_labels", "match_routes", "match_values", "matches"]


@dataclass(frozen=True)
class ResolvedRoute:
    """A matched route with its inherited options filled in."""

    path: str
    receivers: tuple[str, ...]
    business_hours: str | None
    escalation: tuple[Level, ...]
    remind_every_s: int | None
    digest_s: int | None


def match_values(value: str | Iterable[str] | None) -> set[str]:
    """A matcher's or a label's value(s) as a set, compared case-insensitively."""
    if value is None:
        return set()
    if isinstance(value, str):
        return {value.casefold()}
    return {str(v).casefold() for v in value}


def matches(matchers: Mapping[str, str | list[str]], labels: Mapping[str, Any]) -> bool:
    """Every matcher must hold; a matcher lists allowed values, and a set-valued label needs one in common.

    >>> matches({"label": ["complaint", "question"], "lang": "ro"}, {"label": "complaint", "lang": "RO"})
    True
    >>> matches({"keyword_class": "safety"}, {"keyword_class": {"legal"}})
    False
    """
    return all(match_values(want) & match_values(labels.get(key)) for key, want in matchers.items())


def match_routes(route: Route, labels: Mapping[str, Any], parent: ResolvedRoute | None = None, path: str = "default route") -> list[ResolvedRoute]:
    """Alertmanager's walk: a matching node tries its children in order, the first match stops the
    search unless it says ``continue``, and a node none of whose children matched is itself the match.
    Children inherit the options they do not set."""
    if route.match and not matches(route.match, labels):
        return []
    here = ResolvedRoute(
        path=route.name or path,
        receivers=tuple(route.receivers) if route.receivers is not None else (parent.receivers if parent else ()),
        business_hours=route.business_hours or (parent.business_hours if parent else None),
        escalation=tuple(route.escalation) if route.escalation is not None else (parent.escalation if parent else ()),
        remind_every_s=(
            None if route.reminders is False
            else route.remind_every or (parent.remind_every_s if parent else None)
        ),
        digest_s=route.digest if route.digest is not None else (parent.digest_s if parent else None),
    )
    found: list[ResolvedRoute] = []
    for index, child in enumerate(route.routes):
        matched = match_routes(child, labels, here, f"{path}.routes[{index}]")
        if matched:
            found.extend(matched)
            if not child.continue_:
                break
    return found or [here]


def author_labels(post: Post) -> set[str]:
    keys = {post.author.id, f"{post.platform}:{post.author.id}"}
    if post.author.handle:
        keys.add(post.author.handle)
        keys.add("@" + post.author.handle.lstrip("@"))
    return keys
