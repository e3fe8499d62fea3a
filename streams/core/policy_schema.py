"""The policy's schema: the models of the routing policy file and what each key means.

Every model is strict (unknown keys are errors) and frozen. Durations are
written ``90s``, ``15m``, ``1h30m``, ``7d`` or as plain seconds. Loading a file,
turning validation errors into messages that name the key, and reloading are
:mod:`streams.core.policy`.

>>> Policy(windows={"complaint": "30m"}).windows_s["complaint"]
1800
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .business_hours import BusinessHours
from .keywords import KeywordRule, load_default_keywords
from .surges import SurgeConfig
from .vocabulary import ALERT_LABELS, AlertLabel, Priority

MATCH_KEYS = ("kind", "label", "priority", "lang", "platform", "brand", "keyword_class", "author", "scope")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(?:(\d+)\s*([smhdw]))+$")
_PART = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(value: Any) -> int:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"1h30m"``, ``"7d"``.

    >>> parse_duration("1h30m"), parse_duration(45), parse_duration("7d")
    (5400, 45, 604800)
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 1h, 1d)")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and _DURATION.match(value.strip().lower()):
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(value.strip().lower()))
    else:
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 1h, 1d)")
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return seconds


Duration = Annotated[int, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FollowerRule(_Model):
    """Authors with more than ``over`` followers get at most ``window`` (and optionally a priority)."""

    over: int = Field(ge=0)
    window: Duration
    priority: Priority | None = None


class VerifiedRule(_Model):
    window: Duration
    priority: Priority | None = None


class VipRule(_Model):
    """Named customers: author ids as ``platform:id`` (or bare ids) and handles (``@name``, any case)."""

    authors: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    window: Duration
    priority: Priority | None = None


class Reach(_Model):
    labels: list[AlertLabel] = Field(
        default_factory=lambda: ["complaint", "question"]
    )
    followers: list[FollowerRule] = Field(default_factory=list)
    verified: VerifiedRule | None = None
    vip: VipRule | None = None


class RepeatRule(_Model):
    """``count`` posts of ``label`` within ``within`` (this one included) tightens the window."""

    label: AlertLabel = "complaint"
    count: int = Field(ge=2)
    within: Duration
    window: Duration
    priority: Priority | None = None


class FanRule(_Model):
    """A known fan: ``praise`` posts within ``within``; only adds a reason (a fan's complaint is news)."""

    praise: int = Field(ge=1)
    within: Duration


class History(_Model):
    keep: Duration = Field(default=30 * 86400, description="How long the author table remembers posts.")
    recent: int = Field(default=5, ge=0, le=50, description="Labels of the last N posts shown on an alert.")
    repeat_complainer: RepeatRule | None = None
    known_fan: FanRule | None = None


class Level(_Model):
    """An escalation level: if still unacknowledged ``after`` the alert was raised, tell these receivers."""

    after: Duration
    receivers: list[str] = Field(min_length=1)


class Route(_Model):
    """A node of the route tree, as in Alertmanager: match, try children in order, first match wins."""

    name: str | None = None
    match: dict[str, str | list[str]] = Field(default_factory=dict)
    receivers: list[str] | None = None
    continue_: bool = Field(default=False, alias="continue")
    business_hours: str | None = None
    escalation: list[Level] | None = None
    remind_every: Duration | None = None
    reminders: bool | None = None
    digest: Duration | None = None
    routes: list[Route] = Field(default_factory=list)

    @model_validator(mode="after")
    def _matchers(self) -> Route:
        unknown = sorted(set(self.match) - set(MATCH_KEYS))
        if unknown:
            raise ValueError(f"match: unknown key(s) {unknown}; known: {', '.join(MATCH_KEYS)}")
        return self


class ReceiverSpec(_Model):
    """A named receiver: a sink type plus its non-secret options (secrets come from the environment)."""

    type: str
    channel: str | None = None
    to: list[str] | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from sinks.registry import SINK_TYPES  # the one table of receiver types

        if value not in SINK_TYPES:
            raise ValueError(f"unknown receiver type {value!r}; known: {', '.join(SINK_TYPES)}")
        return value


class Surges(SurgeConfig):
    """Surge detection (see :mod:`streams.core.surges`) and which scopes to watch."""

    enabled: bool = True
    scopes: list[Literal["all", "brand", "keyword"]] = Field(default_factory=lambda: ["all", "brand", "keyword"])


class Policy(_Model):
    windows: dict[str, Duration] = Field(default_factory=dict)
    warn_at: float = Field(default=0.75, gt=0, lt=1, description="Share of the window after which to warn.")
    uncertain_below: float = Field(default=0.5, ge=0, le=1)
    reach: Reach = Field(default_factory=Reach)
    keywords: list[KeywordRule] | Literal["default"] = "default"
    history: History = Field(default_factory=History)
    brand_accounts: list[str] = Field(default_factory=list)
    calendars: dict[str, BusinessHours] = Field(default_factory=dict)
    receivers: dict[str, ReceiverSpec] = Field(
        default_factory=lambda: {"console": ReceiverSpec(type="console"), "jsonl": ReceiverSpec(type="jsonl")}
    )
    routes: Route = Field(default_factory=lambda: Route(receivers=["console", "jsonl"], remind_every=1800))
    surges: Surges = Field(default_factory=Surges)

    @model_validator(mode="after")
    def _cross_references(self) -> Policy:
        unknown = sorted(set(self.windows) - set(ALERT_LABELS))
        if unknown:
            raise ValueError(f"windows: unknown label(s) {unknown}; `other` raises no alert")
        if not self.routes.receivers:
            raise ValueError("routes.receivers: the root route must name at least one receiver")
        for path, route in walk_routes(self.routes):
            for name in (route.receivers or []) + [r for level in route.escalation or [] for r in level.receivers]:
                if name not in self.receivers:
                    raise ValueError(f"{path}: unknown receiver {name!r}; defined: {', '.join(self.receivers)}")
            if route.business_hours and route.business_hours not in self.calendars:
                raise ValueError(f"{path}.business_hours: unknown calendar {route.business_hours!r}")
        return self

    @property
    def windows_s(self) -> dict[str, int]:
        """The label windows with the documented defaults filled in."""
        return {**DEFAULT_WINDOWS, **self.windows}

    def keyword_rules(self) -> list[KeywordRule]:
        return load_default_keywords() if self.keywords == "default" else list(self.keywords)


DEFAULT_WINDOWS = {"complaint": 3600, "question": 3600, "suggestion": 86400, "praise": 86400}


def walk_routes(route: Route, path: str = "routes") -> list[tuple[str, Route]]:
    """Every node with its path in the file, for error messages."""
    found = [(path, route)]
    for index, child in enumerate(route.routes):
        found.extend(walk_routes(child, f"{path}.routes[{index}]"))
    return found
