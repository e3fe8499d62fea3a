"""The worker's timer and start-up task.

Each tick (``POT_CLOCK_TICK_S``): propose the clock steps that came due (the
``sla-clock`` agent that owns the alert applies each once, so a step proposed
twice fires once), propose forgetting resolved alerts past the retention,
refresh the open-alert gauges, trigger digest flushes, sample lag and memory,
and watch the policy file. At start: SIGHUP reloads the policy (with the
receivers it needs: :mod:`streams.agents.receivers`), and the silences are
followed from their topic.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from .. import metrics
from ..core import sla
from ..core.records import Action, isoformat
from ..core.vocabulary import LABELS
from ..kafka.readers import follow_silences
from ..runtime import Runtime
from .clock import stored_clock
from .receivers import reload_policy

__all__ = ["hold_sighup", "register"]

log = logging.getLogger(__name__)


def hold_sighup() -> list[int]:
    """Remember SIGHUPs that come before the worker has started; the start-up task serves them once it has.

    Until the start-up task puts the reload handler on the event loop, SIGHUP has
    its default action, which ends the process: a deploy tool that signals a
    reload right after start (while the model loads, or tables recover) would
    kill the monitor. ``pot run`` calls this first thing and gives the returned
    list (it keeps filling until the loop's handler replaces this one) to the
    runtime as ``early_sighups``.
    """
    received: list[int] = []
    signal.signal(signal.SIGHUP, lambda signum, frame: received.append(signum))
    return received


def register(rt: Runtime) -> None:
    app, settings, holder = rt.app, rt.settings, rt.holder
    proposed: dict[tuple[str, str], float] = {}
    reloading = asyncio.Lock()
    last: dict[str, float] = {}

    async def propose(alert_id: str, kind: str, step: str | None = None) -> None:
        action = Action(alert_id=alert_id, kind=kind, step=step, at=isoformat(rt.now()))
        await rt.topics.actions.send(key=alert_id, value=action.dumps())

    async def propose_due_steps(now: float) -> None:
        """Steps that came due on the clocks this worker owns; the open-alert gauges from the same walk."""
        actions_topic = rt.topics.actions.get_topic_name()
        active = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == actions_topic}
        counts: dict[tuple[str, str], int] = {}
        for alert_id, value in list(rt.tables.clocks.items()):
            clock = stored_clock(value)
            if clock is None or clock.partition not in active:
                continue
            if clock.state == "resolved":
                resolved_at = clock.resolved_at if clock.resolved_at is not None else now
                if now - resolved_at > settings.dedupe_retention_s and (alert_id, "forget") not in proposed:
                    proposed[(alert_id, "forget")] = now
                    await propose(alert_id, "forget")
                continue
            counts[(clock.label, clock.state)] = counts.get((clock.label, clock.state), 0) + 1
            for step in sla.due_steps(clock, now):
                if now - proposed.get((alert_id, step), -1e18) < 10:
                    continue
                proposed[(alert_id, step)] = now
                await propose(alert_id, "fire", step)
        for stale in [k for k, at in proposed.items() if now - at > 60]:
            del proposed[stale]
        for label in LABELS:
            for state in ("open", "acknowledged"):
                metrics.OPEN_ALERTS.labels(label, state).set(counts.get((label, state), 0))

    @app.timer(settings.clock_tick_s)
    async def tick() -> None:
        now = rt.now().timestamp()
        await propose_due_steps(now)
        if now - last.get("digests", 0.0) >= settings.digest_check_s:
            last["digests"] = now
            await rt.topics.digests.send(key="flush", value={"flush": True, "at": now})
        if holder.changed_on_disk():
            await reload_policy(rt, "file changed", reloading)
        if now - last.get("gauges", 0.0) >= 5:
            last["gauges"] = now
            sample_gauges()

    def sample_gauges() -> None:
        """Consumer lag of the partitions this worker owns, and memory of the worker and its classifier."""
        monitor = app.monitor
        metrics.CONSUMER_LAG.clear()
        for tp in app.consumer.assignment():
            if not tp.topic.startswith(settings.topic_prefix):
                continue
            end, done = monitor.tp_end_offsets.get(tp), monitor.tp_committed_offsets.get(tp)
            if end is not None:
                lag = max(0, end - (done or 0))
                metrics.CONSUMER_LAG.labels(tp.topic.removeprefix(settings.topic_prefix), str(tp.partition)).set(lag)
        rss = metrics.resident_bytes()
        if rss is not None:
            metrics.MEMORY.labels("worker").set(rss)
        child = getattr(rt.classifier, "process_", None)
        if child is not None and child.is_alive():
            child_rss = metrics.resident_bytes(child.pid)
            if child_rss is not None:
                metrics.MEMORY.labels("classifier").set(child_rss)

    @app.task
    async def on_start() -> None:
        """SIGHUP reloads the policy, as daemons do; silences are read from their topic by every worker."""
        metrics.POLICY_VERSION.set(holder.version)
        try:
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, lambda: asyncio.ensure_future(reload_policy(rt, "SIGHUP", reloading))
            )
        except (NotImplementedError, RuntimeError):
            log.warning("SIGHUP reload unavailable here; the policy file is still watched for changes")
        rt.started = True
        if rt.early_sighups:
            rt.early_sighups.clear()
            await reload_policy(rt, "SIGHUP during start", reloading)
        await follow_silences(settings, rt.silences)
