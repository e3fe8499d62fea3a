"""The desk's agents: the SLA clock, digests, surges, and the worker's timer.

* ``sla-clock`` applies the actions of the ``actions`` topic (open, ack,
  resolve, fire, forget) to the ``clocks`` table with :func:`streams.sla.apply`,
  and emits the events and follow-up notices that came of them.
* ``digests`` batches digest entries per receiver (a one-partition topic, so
  one worker owns each digest) and sends one notice per interval.
* ``surges`` keeps a baseline per scope (:mod:`streams.surges`) and sends
  one notice per episode.
* The timer proposes the clock steps that came due (the agent that owns the
  alert applies each once), forgets resolved alerts after the retention,
  triggers digest flushes, samples the lag and memory gauges, and watches the
  policy file; SIGHUP reloads the policy too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import faust

from . import digests, metrics, sla, surges
from .acking import each
from .config import LABELS, Settings
from .pipeline import dead_letter
from .policy import PolicyHolder
from .records import Action, DeadLetter, Notice, isoformat
from .routing import match_routes
from .silence_feed import follow_silences
from .silences import Silence

log = logging.getLogger(__name__)


@dataclass
class Desk:
    """What the desk's agents share with the rest of the app: settings, topics, tables and helpers."""

    settings: Settings
    holder: PolicyHolder
    classifier: Any
    sinks: dict[str, Any]
    clocks: Any
    actions: faust.TopicT
    notices: faust.TopicT
    digests_topic: faust.TopicT
    surge_counts: faust.TopicT
    digest_buffers: Any
    surge_state: Any
    silences: dict[str, Silence]
    emit: Callable[..., Awaitable[None]]
    send_dead_letter: Callable[[DeadLetter], Awaitable[None]]
    now: Callable[[], datetime]


def register_desk(app: faust.App, desk: Desk) -> None:
    settings, holder, classifier, sinks = desk.settings, desk.holder, desk.classifier, desk.sinks
    clocks, actions, notices = desk.clocks, desk.actions, desk.notices
    digests_topic, surge_counts, digest_buffers, surge_state = desk.digests_topic, desk.surge_counts, desk.digest_buffers, desk.surge_state
    silences, emit, send_dead_letter, _now = desk.silences, desk.emit, desk.send_dead_letter, desk.now

    @app.agent(actions, name="sla-clock")
    async def sla_clock(stream: Any) -> None:
        async for event in each(stream):
            action = event.value
            try:
                await apply_action(action, event.message.partition)
            except Exception as exc:
                log.exception("clock action failed")
                await send_dead_letter(dead_letter("clock", "clock_error", f"{type(exc).__name__}: {exc}", action.dumps(), _now()))

    async def apply_action(action: Action, partition: int) -> None:
        now = _now()
        old = clocks.get(action.alert_id)
        request = {"kind": action.kind, "step": action.step, "actor": action.actor, "detail": action.detail}
        if action.kind == "open":
            request["clock"] = {**(action.clock or {}), "partition": partition}
        new, outcome = sla.apply(old, request, now.timestamp())
        if outcome.status == "forgotten":
            del clocks[action.alert_id]
            return
        if new is not None and new is not old:
            clocks[action.alert_id] = new
        if outcome.status in ("unknown", "already_acknowledged", "already_resolved") and action.kind in ("ack", "resolve"):
            log.info("%s of %s by %s: %s", action.kind, action.alert_id, action.actor, outcome.status)
        if outcome.event is None or new is None:
            return
        label, priority = new["label"], new["priority"]
        kind = outcome.event["kind"]
        if kind in sla.STEP_KINDS:
            metrics.SLA_STEPS.labels(kind, label).inc()
        if kind == "acknowledged" or (kind == "resolved" and old and old["state"] == "open"):
            metrics.TIME_TO_ACK.labels(label, priority).observe(max(0.0, now.timestamp() - new["raised_at"]))
            metrics.ACKED.labels(label, "true" if now.timestamp() <= new["deadline"] else "false").inc()
        if kind == "resolved":
            metrics.TIME_TO_RESOLVE.labels(label, priority).observe(max(0.0, now.timestamp() - new["raised_at"]))
            if outcome.detail.get("evidence"):
                metrics.AUTO_RESOLVED.inc()
        await emit(action.alert_id, kind, outcome.event["detail"], actor=action.actor)
        notice = outcome.notice
        if notice and notice["receivers"]:
            await notices.send(key=action.alert_id, value=Notice(
                notice_id=f"{action.alert_id}:{notice['step']}", kind=notice["kind"], receivers=notice["receivers"],
                at=isoformat(now), summary=notice["summary"], actor=action.actor, alert=new.get("alert"),
                detail=notice["detail"],
            ))

    @app.agent(digests_topic, name="digests")
    async def digest_agent(stream: Any) -> None:
        async for event in each(stream):
            item = event.value
            now = _now()
            if item.get("flush"):
                for receiver in list(digest_buffers.keys()):
                    buffer = digest_buffers.get(receiver)
                    if digests.is_due(buffer, now.timestamp()):
                        entries = buffer["entries"]
                        await notices.send(key=receiver, value=Notice(
                            notice_id=f"digest:{receiver}:{int(buffer['since'])}", kind="digest", receivers=[receiver],
                            at=isoformat(now), summary=digests.headline(entries, buffer.get("dropped", 0)),
                            detail={"entries": entries, "dropped": buffer.get("dropped", 0), "since": isoformat(datetime.fromtimestamp(buffer["since"], timezone.utc))},
                        ))
                        digest_buffers[receiver] = None
                continue
            digest_buffers[item["receiver"]] = digests.add(digest_buffers.get(item["receiver"]), item["entry"], item["every_s"], now.timestamp())

    @app.agent(surge_counts, name="surges")
    async def surge_agent(stream: Any) -> None:
        async for event in each(stream):
            item = event.value
            policy = holder.current
            config = policy.surges
            scope = item["scope"]
            state = surges.observe(surge_state.get(scope) or surges.new_state(), item["at"], item["text"], config)
            state, surge = surges.check(state, _now().timestamp(), config)
            surge_state[scope] = state
            if surge is None:
                continue
            kind = scope.partition(":")[0]
            metrics.SURGES.labels(kind).inc()
            scope_labels: dict[str, Any] = {"kind": "surge", "scope": kind, "label": "complaint"}
            if kind == "brand":
                scope_labels["brand"] = scope.partition(":")[2]
            if kind == "keyword":
                scope_labels["keyword_class"] = {scope.partition(":")[2]}
            receivers = [r for route_ in match_routes(policy.routes, scope_labels) for r in route_.receivers]
            now = _now()
            notice_id = f"surge:{scope}:{int(now.timestamp())}"
            await emit(notice_id, "surge", {"scope": scope, "count": surge.count, "threshold": surge.threshold})
            await notices.send(key=scope, value=Notice(
                notice_id=notice_id, kind="surge", receivers=list(dict.fromkeys(receivers)), at=isoformat(now),
                summary=surge.summary(scope), detail={
                    "scope": scope, "count": surge.count, "baseline_mean": surge.baseline_mean,
                    "baseline_sd": surge.baseline_sd, "top_terms": surge.top_terms, "samples": surge.samples,
                },
            ))

    proposed: dict[tuple[str, str], float] = {}

    @app.timer(settings.clock_tick_s)
    async def tick() -> None:
        """Propose the clock steps that came due, refresh the open-alert gauges, flush digests, watch the policy."""
        now = _now().timestamp()
        active = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == actions.get_topic_name()}
        counts: dict[tuple[str, str], int] = {}
        for alert_id, clock in list(clocks.items()):
            if clock is None or clock.get("partition") not in active:
                continue
            if clock["state"] == "resolved":
                if now - clock.get("resolved_at", now) > settings.dedupe_retention_s and (alert_id, "forget") not in proposed:
                    proposed[(alert_id, "forget")] = now
                    await actions.send(key=alert_id, value=Action(alert_id=alert_id, kind="forget", at=isoformat(_now())))
                continue
            counts[(clock["label"], clock["state"])] = counts.get((clock["label"], clock["state"]), 0) + 1
            for step in sla.due_steps(clock, now):
                if now - proposed.get((alert_id, step), -1e18) < 10:
                    continue
                proposed[(alert_id, step)] = now
                await actions.send(key=alert_id, value=Action(alert_id=alert_id, kind="fire", step=step, at=isoformat(_now())))
        for stale in [k for k, at in proposed.items() if now - at > 60]:
            del proposed[stale]
        for label in LABELS:
            for state in ("open", "acknowledged"):
                metrics.OPEN_ALERTS.labels(label, state).set(counts.get((label, state), 0))
        if now - flushed.get("at", 0.0) >= settings.digest_check_s:
            flushed["at"] = now
            await digests_topic.send(key="flush", value={"flush": True, "at": now})
        if holder.changed_on_disk():
            reload_policy("file changed")
        if now - flushed.get("gauges", 0.0) >= 5:
            flushed["gauges"] = now
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
        child = getattr(classifier, "process_", None)
        if child is not None and child.is_alive():
            child_rss = metrics.resident_bytes(child.pid)
            if child_rss is not None:
                metrics.MEMORY.labels("classifier").set(child_rss)

    flushed: dict[str, float] = {}

    def reload_policy(why: str) -> None:
        ok, message = holder.reload()
        if ok:
            missing = sorted(set(holder.current.receivers) - set(sinks))
            if missing:
                log.error("policy reload (%s) names receivers this worker did not start (%s): restart to add them", why, missing)
        metrics.POLICY_RELOADS.labels("ok" if ok else "failed").inc()
        metrics.POLICY_VERSION.set(holder.version)

    @app.task
    async def on_start() -> None:
        """SIGHUP reloads the policy, as daemons do; silences are read from their topic by every worker."""
        metrics.POLICY_VERSION.set(holder.version)
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload_policy, "SIGHUP")
        except (NotImplementedError, RuntimeError):
            log.warning("SIGHUP reload unavailable here; the policy file is still watched for changes")
        await follow_silences(settings, silences)

