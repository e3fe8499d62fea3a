"""The routing policy: one YAML file, validated strictly on load, frozen afterwards.

Everything a support lead tunes lives here: windows per label, the modifiers
that tighten them (reach, keywords, author history, confidence), the route tree
with its receivers, business hours and escalation levels, digests, brand
accounts and surge detection. Validation happens once, at load, with errors
that name the bad key (``routes.routes[1].receivers: unknown receiver
'slak'``); after that, a bad policy is a bug, not input. A reload that fails
keeps the old policy (see :class:`PolicyHolder`).

>>> policy = parse_policy({"windows": {"complaint": "30m"}})
>>> policy.windows_s["complaint"], policy.windows_s["praise"]
(1800, 86400)
>>> parse_policy({"windows": {"complaint": "soon"}})
Traceback (most recent call last):
...
streams.core.policy.PolicyError: windows.complaint: 'soon' is not a duration (use e.g. 90s, 15m, 1h, 1d)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .keywords import load_default_keywords
from .policy_schema import (
    DEFAULT_WINDOWS,
    MATCH_KEYS,
    Duration,
    FanRule,
    FollowerRule,
    History,
    Level,
    Policy,
    Reach,
    ReceiverSpec,
    RepeatRule,
    Route,
    Surges,
    VerifiedRule,
    VipRule,
    parse_duration,
    walk_routes,
)

__all__ = [
    "DEFAULT_WINDOWS", "MATCH_KEYS", "Duration", "FanRule", "FollowerRule", "History", "Level", "Policy",
    "PolicyError", "PolicyHolder", "Reach", "ReceiverSpec", "RepeatRule", "Route", "Surges", "VerifiedRule",
    "VipRule", "load_default_keywords", "load_policy", "parse_duration", "parse_policy", "policy_for_receivers",
    "walk_routes",
]

log = logging.getLogger(__name__)


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message names the key."""


def _where(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif not str(item).startswith(("function-", "constrained-")) and item not in ("list[...]",):
            parts.append(str(item))
    return ".".join(parts).replace("continue_", "continue") or "policy"


def parse_policy(data: Any) -> Policy:
    """Validate a policy given as plain data (a parsed YAML document)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError("policy: the file must be a YAML mapping")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and place)"
        raise PolicyError(f"{_where(first['loc'])}: {message}") from None


def policy_for_receivers(
    names: list[str], windows_s: dict[str, int] | None = None, uncertain_below: float = 0.5
) -> Policy:
    """The policy used without a policy file: everything to the receivers of ``POT_RECEIVERS``
    (named by sink type), with ``POT_WINDOWS_S`` and ``POT_UNCERTAIN_BELOW`` applied."""
    return parse_policy({
        "windows": dict(windows_s or {}),
        "uncertain_below": uncertain_below,
        "receivers": {name: {"type": name} for name in names},
        "routes": {"receivers": list(names), "remind_every": "30m"},
    })


def load_policy(path: Path | None) -> Policy:
    """Read and validate a policy file; ``None`` gives the documented defaults."""
    if path is None:
        return parse_policy({})
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_policy(data)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None


class PolicyHolder:
    """The live policy of a worker; a reload that fails keeps the previous one and says why."""

    def __init__(self, path: Path | None, default: Policy | None = None) -> None:
        self.path = path
        self.current = default if path is None and default is not None else load_policy(path)
        self.version = 1
        self._mtime = self._stat()

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime if self.path else None
        except OSError:
            return None

    def changed_on_disk(self) -> bool:
        return self.path is not None and self._stat() != self._mtime

    def reload(self) -> tuple[bool, str]:
        """(ok, message); on failure ``current`` is untouched."""
        self._mtime = self._stat()
        try:
            policy = load_policy(self.path)
        except PolicyError as exc:
            log.error("policy reload failed, keeping version %d: %s", self.version, exc)
            return False, str(exc)
        self.current = policy
        self.version += 1
        log.info("policy reloaded from %s (version %d)", self.path, self.version)
        return True, f"policy version {self.version} loaded from {self.path}"
