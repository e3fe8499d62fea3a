"""Policy reloads that touch receivers: build what the new policy needs before adopting it, or refuse it.

A reload (SIGHUP, or the file changed) reads and validates the file, then
builds a sink for every receiver that is new or whose type, channel or address
list changed, from the same ``POT_*`` variables as at start. Only when all of
them build (and start) is the new policy adopted and the sinks swapped in; a
receiver that cannot be built (``receiver 'oncall' is not configured: set
POT_PAGERDUTY_ROUTING_KEY``) refuses the whole reload, the old policy stays,
and the log and ``pot_policy_reloads_total{outcome="failed"}`` say why.

Sinks the new policy replaced are closed a little later, so deliveries in
flight on them finish; receivers it no longer names keep their sinks, so
alerts raised under the old policy and deferred deliveries still reach them.
The delivery agent builds each receiver's pipeline afresh when its sink
changes (:func:`streams.agents.delivery.register`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import metrics
from ..core.policy import Policy, PolicyError
from ..runtime import Runtime

if TYPE_CHECKING:
    from sinks.base import Sink

__all__ = ["changed_receivers", "reload_policy"]

log = logging.getLogger(__name__)
CLOSE_AFTER_S = 30.0


def changed_receivers(old: Mapping[str, Any], new: Mapping[str, Any], running: Mapping[str, Any]) -> dict[str, Any]:
    """The receivers of ``new`` that need a sink built: names not running yet, or whose spec (type, channel,
    addresses) differs from ``old``'s.

    >>> from streams.core.policy import ReceiverSpec as R
    >>> old = {"desk": R(type="slack", channel="C1"), "audit": R(type="jsonl")}
    >>> sorted(changed_receivers(old, {**old, "desk": R(type="slack", channel="C2"), "pd": R(type="pagerduty")}, old))
    ['desk', 'pd']
    """
    return {name: spec for name, spec in new.items() if name not in running or old.get(name) != spec}


async def reload_policy(rt: Runtime, why: str, lock: asyncio.Lock) -> bool:
    """Read the policy file again; adopt it with the receivers it needs, or keep the old one and say why."""
    from sinks.registry import build_receivers

    async with lock:
        holder = rt.holder
        try:
            policy: Policy = holder.read()
        except PolicyError as exc:
            return _failed(rt, "policy reload failed (" + why + "), keeping version %d: %s", exc)
        specs = changed_receivers(holder.current.receivers, policy.receivers, rt.sinks)
        try:
            built: dict[str, Sink] = build_receivers(specs, rt.settings.receiver_settings(), alerts_path=rt.settings.alerts_path) if specs else {}
        except ValueError as exc:
            return _failed(rt, "policy reload (" + why + ") refused, keeping version %d: %s", exc)
        started: list[Sink] = []
        try:
            for sink in built.values():
                await sink.start()
                started.append(sink)
        except Exception as exc:  # a file that cannot be opened, a client that cannot be made
            for sink in started:
                await sink.close()
            return _failed(rt, "policy reload (" + why + ") refused, keeping version %d: a receiver did not start: %s",
                           type(exc).__name__)
        replaced = [rt.sinks[name] for name in built if name in rt.sinks]
        rt.sinks.update(built)
        holder.adopt(policy)
        if built:
            log.info("policy reload (%s): receivers built: %s", why, ", ".join(sorted(built)))
        metrics.POLICY_RELOADS.labels("ok").inc()
        metrics.POLICY_VERSION.set(holder.version)
    if replaced:
        asyncio.get_running_loop().call_later(CLOSE_AFTER_S, lambda: asyncio.ensure_future(_close(replaced)))
    return True


def _failed(rt: Runtime, message: str, reason: object) -> bool:
    log.error(message, rt.holder.version, reason)
    metrics.POLICY_RELOADS.labels("failed").inc()
    metrics.POLICY_VERSION.set(rt.holder.version)
    return False


async def _close(sinks: list[Sink]) -> None:
    for sink in sinks:
        try:
            await sink.close()
        except Exception as exc:
            log.warning("closing a replaced receiver failed: %s", type(exc).__name__)
