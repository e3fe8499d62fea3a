"""The faust app: topics, tables and the pipeline's agents; the desk (:mod:`streams.desk`) and the
delivery stages (:mod:`streams.delivery`) register theirs beside them.

::

    posts ──[validate, classify in micro-batches]──► classified ──[dedupe, author context, route]──► alerts ──► receivers
       └─ bad input ─► dlq          (keyed by author)      └─► actions (the SLA clock), digests, surge-counts, events

``classified`` is keyed by author, so the author-context table and the
dedupe table (keyed by post, and a post always has the same author) live on
the same partition as the posts they describe.

Offsets are committed only after an agent has finished with a record (faust
acks a ``take`` batch after the loop body returns, and flushes the producer
before every commit), so the pipeline is at-least-once; stable post keys and
alert ids absorb the duplicates that a crash can replay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from collections.abc import Callable, Iterator
from typing import Any

import faust

from classifiers.base import Classifier

from . import metrics
from .config import Settings
from .dedupe import is_duplicate, remember
from .expiry import Expiry
from .fetchwait import bound_fetch_wait
from .offset_guard import guard_offsets
from .pipeline import dead_letter, disagreements, to_classified, validate_batch
from .acking import batches, each
from .authors import record_post
from .clock import Clock
from .keywords import KeywordMatcher, RecentMatches
from .policy import Policy, PolicyHolder
from .records import (
    Action, Alert, Classified, Correction, DeadLetter, Event, Notice, Post, ShadowDisagreement, alert_id_for,
    isoformat,
)
from .desk import Desk, register_desk
from .routing import author_labels, decide, urgent_on_its_face
from .silences import Silence, silenced_by

log = logging.getLogger(__name__)

TOPICS = ("posts", "posts-urgent", "posts-normal", "classified", "alerts", "events", "dlq", "shadow", "corrections", "actions", "notices", "surge-counts", "redeliver")
SINGLE_PARTITION_TOPICS = ("silences", "digests")
"""Topics one worker must own whole: silences are read by all, digests batch across all partitions."""




def brand_accounts(policy: Policy) -> set[str]:
    return {name for name in policy.brand_accounts} | {"@" + n.lstrip("@") for n in policy.brand_accounts if not ":" in n}


_matchers: dict[int, RecentMatches] = {}


def keyword_matcher(policy: Policy) -> RecentMatches:
    """One compiled matcher per policy object (a reload compiles the new one once), remembering recent posts."""
    key = id(policy)
    if key not in _matchers:
        _matchers.clear()
        _matchers[key] = RecentMatches(KeywordMatcher(policy.keyword_rules()))
    return _matchers[key]


def surge_scopes(policy: Policy, post: Post, decision: Any) -> list[str]:
    scopes = []
    if "all" in policy.surges.scopes:
        scopes.append("all")
    if "brand" in policy.surges.scopes and post.brand:
        scopes.append(f"brand:{post.brand}")
    if "keyword" in policy.surges.scopes and decision is not None:
        scopes += [f"keyword:{name}" for name in decision.alert.keyword_classes or []]
    return scopes


def create_app(
    settings: Settings,
    classifier: Classifier,
    sinks: dict[str, Any],
    shadow: Classifier | None = None,
    holder: PolicyHolder | None = None,
) -> faust.App:
    """Build the app around a loaded classifier (and optional shadow), the policy and sinks keyed by receiver name."""
    holder = holder or PolicyHolder(None)
    clock = Clock(settings.clock_offset_file)

    def _now() -> datetime:
        return clock.now()
    bound_fetch_wait(settings.fetch_max_wait_ms)
    guard_offsets(settings.topic_prefix)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        autodiscover=False,
        producer_acks=-1,
    )
    posts = app.topic(settings.topic("posts"), key_serializer="raw", value_serializer="raw")
    urgent_lane = app.topic(settings.topic("posts-urgent"), key_type=str, value_type=Post)
    normal_lane = app.topic(settings.topic("posts-normal"), key_type=str, value_type=Post)
    classified = app.topic(settings.topic("classified"), key_type=str, value_type=Classified)
    alerts = app.topic(settings.topic("alerts"), key_type=str, value_type=Alert)
    events = app.topic(settings.topic("events"), key_type=str, value_type=Event)
    dlq = app.topic(settings.topic("dlq"), key_type=str, value_type=DeadLetter)
    shadow_topic = app.topic(settings.topic("shadow"), key_type=str, value_type=ShadowDisagreement)
    corrections = app.topic(settings.topic("corrections"), key_type=str, value_type=Correction)
    actions = app.topic(settings.topic("actions"), key_type=str, value_type=Action)
    notices = app.topic(settings.topic("notices"), key_type=str, value_type=Notice)
    silences_topic = app.topic(settings.topic("silences"), key_type=str, value_serializer="json", partitions=1)
    digests_topic = app.topic(settings.topic("digests"), key_type=str, value_serializer="json", partitions=1)
    surge_counts = app.topic(settings.topic("surge-counts"), key_type=str, value_serializer="json")
    seen = app.Table("seen-posts", partitions=settings.partitions)
    author_ctx = app.Table("authors", partitions=settings.partitions)
    clocks = app.Table("clocks", partitions=settings.partitions)
    digest_buffers = app.Table("digest-buffers", partitions=1)
    surge_state = app.Table("surge-state", partitions=settings.partitions)
    silences: dict[str, Silence] = {}
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")
    metrics.initialise(list(sinks), classifier.name, TOPICS + SINGLE_PARTITION_TOPICS)

    app.pot_classifier = classifier  # type: ignore[attr-defined]
    app.pot_posts_topic = posts  # type: ignore[attr-defined]
    app.pot_dlq = dlq  # type: ignore[attr-defined]
    app.pot_corrections = corrections  # type: ignore[attr-defined]

    async def send_dead_letter(record: DeadLetter) -> None:
        metrics.DEAD_LETTERS.labels(record.stage).inc()
        log.warning("dead letter (%s, %s): %s", record.stage, record.reason_code, record.reason[:200])
        await dlq.send(key=record.reason_code, value=record)

    async def emit(alert_id: str, kind: str, detail: dict[str, Any], actor: str = "monitor") -> None:
        await events.send(key=alert_id, value=Event(alert_id=alert_id, kind=kind, at=isoformat(_now()), actor=actor, detail=detail))

    @app.agent(posts, name="triage-posts")
    async def triage_posts(stream: Any) -> None:
        """Validate, then put each post in a lane before the (slow) classifier: posts that are urgent on
        their face (a safety or legal phrase, a VIP, a large audience) skip the backlog of ordinary ones."""
        async for batch in batches(stream, settings.batch_size, settings.batch_wait_s):
            try:
                await triage_batch(batch)
            except Exception as exc:  # never a dead agent: the batch's records go to the dlq whole
                log.exception("triage failed on a batch of %d", len(batch))
                for event in batch:
                    msg = event.message
                    await send_dead_letter(dead_letter(
                        "validate", "triage_error", f"{type(exc).__name__}: {exc}", event.value, _now(),
                        msg.topic, msg.partition, msg.offset,
                    ))

    async def triage_batch(batch: list[Any]) -> None:
        """One batch from the posts topic: dead letters for the bad, a lane for each good one."""
        messages = [event.message for event in batch]
        metrics.POSTS_RECEIVED.labels("kafka").inc(len(batch))
        valid, rejected = validate_batch(
            [event.value for event in batch], [m.timestamp for m in messages], settings.max_post_bytes
        )
        for index, bad in rejected:
            metrics.POSTS_REJECTED.labels(bad.code).inc()
            msg = messages[index]
            await send_dead_letter(
                dead_letter("validate", bad.code, bad.reason, bad.raw, _now(), msg.topic, msg.partition, msg.offset)
            )
        policy = holder.current
        for post in valid:
            metrics.POSTS_BY_PLATFORM.labels(metrics.bounded(post.platform, metrics.PLATFORMS)).inc()
            urgent = urgent_on_its_face(post, policy, keyword_matcher(policy)) is not None
            metrics.TRIAGED.labels("urgent" if urgent else "normal").inc()
            await (urgent_lane if urgent else normal_lane).send(key=post.key, value=post)

    async def classify_lane(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for batch in batches(stream, settings.batch_size, settings.batch_wait_s):
            valid = [event.value for event in batch]
            started = time.perf_counter()
            try:
                predictions = await loop.run_in_executor(executor, classifier.predict, [p.text for p in valid])
            except Exception as exc:  # a broken model must not lose posts: they go to the dlq whole
                log.exception("classifier failed on a batch of %d", len(valid))
                for post in valid:
                    await send_dead_letter(
                        dead_letter("classify", "classifier_error", f"{type(exc).__name__}: {exc}", post.dumps(), _now())
                    )
                continue
            metrics.CLASSIFY_SECONDS.observe(time.perf_counter() - started)
            metrics.CLASSIFY_BATCH.observe(len(valid))
            for post, prediction in zip(valid, predictions, strict=True):
                lang = metrics.bounded(post.lang or prediction.lang, metrics.LANGS)
                metrics.CLASSIFIED.labels(prediction.label, lang, classifier.name).inc()
                await classified.send(key=f"{post.platform}:{post.author.id}", value=to_classified(post, prediction, classifier.name, classifier.version))
            if shadow is not None:
                await compare_with_shadow(loop, valid, predictions)

    @app.agent(urgent_lane, name="classify-urgent")
    async def classify_urgent(stream: Any) -> None:
        """The urgent lane shares the one classifier with the normal lane; its batches wait at most for the
        normal batch already running, however long the normal backlog."""
        await classify_lane(stream)

    @app.agent(normal_lane, name="classify-normal")
    async def classify_normal(stream: Any) -> None:
        await classify_lane(stream)

    async def compare_with_shadow(loop: asyncio.AbstractEventLoop, valid: list[Any], predictions: list[Any]) -> None:
        """Run the shadow on the same batch; its failures are counted and never touch the primary path."""
        assert shadow is not None
        try:
            shadow_predictions = await loop.run_in_executor(executor, shadow.predict, [p.text for p in valid])
        except Exception:
            log.exception("shadow classifier %s failed on a batch of %d", shadow.name, len(valid))
            metrics.SHADOW_ERRORS.inc()
            return
        metrics.SHADOW_COMPARED.inc(len(valid))
        for record in disagreements(valid, predictions, shadow_predictions, classifier.name, shadow.name, _now()):
            metrics.SHADOW_DISAGREEMENTS.labels(record.primary_label, record.shadow_label).inc()
            await shadow_topic.send(key=record.post_key, value=record)

    seen_index, authors_index = Expiry(), Expiry()
    index_stale = {"yes": True}
    metrics.TABLE_KEYS.labels("seen-posts").set_function(lambda: len(seen))
    metrics.TABLE_KEYS.labels("authors").set_function(lambda: len(author_ctx))

    @app.on_partitions_assigned.connect
    async def _reindex(*args: Any, **kwargs: Any) -> None:
        index_stale["yes"] = True

    def indexable(table: Any, where: Callable[[dict[str, Any]], tuple[int, float]]) -> Iterator[tuple[int, str, float]]:
        """``(partition, key, at)`` for each item whose value says where and when it was written; others are
        left alone (values from before expiry existed carry no partition)."""
        for key, value in list(table.items()):
            try:
                partition, at = where(value)
            except (KeyError, TypeError, ValueError):
                continue
            yield partition, key, at

    def reindex() -> None:
        """Index the tables' recovered items by the partition and time their values carry."""
        seen_index.rebuild(indexable(seen, lambda v: (int(str(v["origin"]).split(":")[0]), float(v["at"]))))
        authors_index.rebuild(indexable(author_ctx, lambda v: (int(v["partition"]), float(v["last_seen"]))))
        index_stale["yes"] = False

    def expire(partition: int) -> None:
        """Delete keys past their retention, a few per event, while handling an event of their partition
        (faust writes the tombstone to that partition's changelog)."""
        now = _now().timestamp()
        for key in seen_index.due(partition, now - settings.dedupe_retention_s):
            if key in seen:
                del seen[key]
        for key in authors_index.due(partition, now - float(holder.current.history.keep)):
            if key in author_ctx:
                del author_ctx[key]

    @app.agent(classified, name="route-posts")
    async def route_posts(stream: Any) -> None:
        async for event in each(stream):
            item = event.value
            try:
                if index_stale["yes"]:
                    reindex()
                await route_one(item, f"{event.message.partition}:{event.message.offset}")
                expire(event.message.partition)
            except Exception as exc:
                log.exception("routing failed")
                await send_dead_letter(dead_letter("route", "route_error", f"{type(exc).__name__}: {exc}", item.dumps(), _now()))

    async def route_one(item: Classified, origin: str) -> None:
        """Dedupe, author context, brand replies, surges, silences, then raise the alert and open its clock."""
        now = _now()
        policy = holder.current
        post, classification = item.post, item.classification
        key = post.key
        previous = seen.get(key)
        if is_duplicate(previous, origin, now.timestamp(), settings.dedupe_retention_s):
            metrics.DUPLICATES.inc()
            return
        partition = int(origin.split(":")[0])
        if previous is None or previous.get("origin") != origin:
            seen[key] = remember(origin, now.timestamp())
            seen_index.note(partition, key, now.timestamp())
        if author_labels(post) & brand_accounts(policy):
            if post.in_reply_to:
                await actions.send(key=alert_id_for(f"{post.platform}:{post.in_reply_to}"), value=Action(
                    alert_id=alert_id_for(f"{post.platform}:{post.in_reply_to}"), kind="resolve", at=isoformat(now),
                    actor=f"{post.author.handle or post.author.id} (brand reply)",
                    detail={"evidence": {"post": post.key, "text": post.text[:500], "url": post.url}},
                ))
            return
        author_key = f"{post.platform}:{post.author.id}"
        ctx = record_post(author_ctx.get(author_key), now.timestamp(), classification.label, post.platform, policy.history.keep)
        author_ctx[author_key] = {**ctx, "partition": partition}
        authors_index.note(partition, author_key, now.timestamp())
        decision = decide(post, classification, ctx, policy, keyword_matcher(policy), now)
        if classification.label == "complaint" and policy.surges.enabled:
            for scope in surge_scopes(policy, post, decision):
                await surge_counts.send(key=scope, value={"scope": scope, "at": now.timestamp(), "text": post.text[:280]})
        if decision is None:
            metrics.NOT_ALERTED.inc()
            return
        alert = decision.alert
        silence = silenced_by(silences.values(), decision.match_labels, now.timestamp())
        if silence is not None:
            metrics.SILENCED.labels(classification.label).inc()
            await emit(alert.alert_id, "silenced", {"silence": silence.id, "by": silence.created_by, "label": classification.label})
            return
        metrics.ALERTS.labels(classification.label, alert.priority).inc()
        await alerts.send(key=alert.alert_id, value=alert)
        await emit(alert.alert_id, "raised", {
            "label": classification.label, "priority": alert.priority, "deadline": alert.deadline,
            "receivers": alert.receivers, "digests": sorted(decision.digests), "policy_version": holder.version,
            # for reports by brand, language, platform and route (streams.reports), and the desk's filters
            "brand": post.brand, "lang": classification.lang or post.lang, "platform": post.platform,
            "route": decision.routes[-1].path,
        })
        clock_plan = {**decision.clock, "text": post.text[:200], "alert": json.loads(alert.dumps()), "route": decision.routes[-1].path}
        await actions.send(key=alert.alert_id, value=Action(alert_id=alert.alert_id, kind="open", at=isoformat(now), clock=clock_plan))
        for receiver, every_s in decision.digests.items():
            await digests_topic.send(key=receiver, value={
                "receiver": receiver, "every_s": every_s, "entry": {
                    "alert_id": alert.alert_id, "label": classification.label, "priority": alert.priority,
                    "text": post.text[:280], "url": post.url, "lang": classification.lang, "author": post.author.handle,
                },
            })

    register_desk(app, Desk(
        settings=settings, holder=holder, classifier=classifier, sinks=sinks, clocks=clocks, actions=actions,
        notices=notices, digests_topic=digests_topic, surge_counts=surge_counts, digest_buffers=digest_buffers,
        surge_state=surge_state, silences=silences, emit=emit, send_dead_letter=send_dead_letter, now=_now,
    ))

    app.pot_clocks = clocks  # type: ignore[attr-defined]
    app.pot_actions = actions  # type: ignore[attr-defined]
    app.pot_silences = silences  # type: ignore[attr-defined]
    app.pot_silences_topic = silences_topic  # type: ignore[attr-defined]
    app.pot_clock = clock  # type: ignore[attr-defined]
    app.pot_policy = holder  # type: ignore[attr-defined]

    from .api import register_api
    from .delivery import register_delivery

    register_delivery(app, settings, sinks, alerts, notices, emit, send_dead_letter, _now)

    register_api(app, settings, posts)
    return app
