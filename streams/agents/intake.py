"""Intake: triage (validate, then an urgent or a normal lane), then classification in micro-batches and routing,
in the lane's own agent.

::

    posts ──[triage-posts: validate, lane]──► posts-urgent ┐  (keyed by author)
      └─ bad input ──► dlq                      posts-normal ┴─[classify-urgent, classify-normal: classify, route]──►
                                                                  alerts, events, actions, digests, surge-counts

Both lanes share the one classifier (a single worker thread), so in a burst an
urgent post waits at most for the normal batch already running (and its
routing). The lane hop stays: it is what lets an urgent post overtake a backlog
of normal ones. The ``classified`` hop is gone from the way to an alert: each
post is routed by :class:`streams.agents.route.Router` right after its batch is
classified, as that record of the lane (the safety argument is in
:mod:`streams.agents.route`). The rules are in :mod:`streams.core.steps` and
:func:`streams.core.routing.urgent_on_its_face`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from .. import metrics
from ..core.handling import keyword_matcher
from ..core.records import Post
from ..core.routing import urgent_on_its_face
from ..core.steps import dead_letter, disagreements, to_classified, validate_batch
from ..kafka.acking import batches, current
from ..runtime import Runtime
from .route import Router

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(rt: Runtime, router: Router) -> None:
    app, settings, topics = rt.app, rt.settings, rt.topics

    @app.agent(topics.posts, name="triage-posts")
    async def triage_posts(stream: Any) -> None:
        """Validate, then put each post in a lane before the (slow) classifier."""
        async for batch in batches(stream, settings.batch_size, settings.batch_wait_s):
            try:
                await triage_batch(rt, batch)
            except Exception as exc:  # never a dead agent: the batch's records go to the dlq whole
                log.exception("triage failed on a batch of %d", len(batch))
                for event in batch:
                    msg = event.message
                    await rt.dead_letter(dead_letter(
                        "validate", "triage_error", f"{type(exc).__name__}: {exc}", event.value, rt.now(),
                        msg.topic, msg.partition, msg.offset,
                    ))

    @app.agent(topics.posts_urgent, name="classify-urgent")
    async def classify_urgent(stream: Any) -> None:
        """The urgent lane's batches wait at most for the normal batch already running."""
        await classify_lane(rt, stream, router, "urgent")

    @app.agent(topics.posts_normal, name="classify-normal")
    async def classify_normal(stream: Any) -> None:
        await classify_lane(rt, stream, router, "normal")


async def triage_batch(rt: Runtime, batch: list[Any]) -> None:
    """One batch from the posts topic: dead letters for the bad, a lane for each good one."""
    messages = [event.message for event in batch]
    metrics.POSTS_RECEIVED.labels("kafka").inc(len(batch))
    valid, rejected = validate_batch(
        [event.value for event in batch], [m.timestamp for m in messages], rt.settings.max_post_bytes
    )
    for index, bad in rejected:
        metrics.POSTS_REJECTED.labels(bad.code).inc()
        msg = messages[index]
        await rt.dead_letter(dead_letter("validate", bad.code, bad.reason, bad.raw, rt.now(), msg.topic, msg.partition, msg.offset))
    policy = rt.holder.current
    keywords = keyword_matcher(policy)
    for post in valid:
        metrics.POSTS_BY_PLATFORM.labels(metrics.bounded(post.platform, metrics.PLATFORMS)).inc()
        urgent = urgent_on_its_face(post, policy, keywords) is not None
        metrics.TRIAGED.labels("urgent" if urgent else "normal").inc()
        lane = rt.topics.posts_urgent if urgent else rt.topics.posts_normal
        await lane.send(key=post.author_key, value=post.dumps())


async def classify_lane(rt: Runtime, stream: Any, router: Router, lane: str) -> None:
    """Classify a lane's batch in one call, then route each post as the lane record it came from; the batch is
    acknowledged only after that (at-least-once)."""
    loop = asyncio.get_running_loop()
    classifier = rt.classifier
    async for batch in batches(stream, rt.settings.batch_size, rt.settings.batch_wait_s):
        decoded = [(event, await rt.decode(Post, event.value, "classify", event.message)) for event in batch]
        events = [event for event, post in decoded if post is not None]
        valid = [post for _, post in decoded if post is not None]
        if not valid:
            continue
        started = time.perf_counter()
        try:
            predictions = await loop.run_in_executor(rt.executor, classifier.predict, [p.text for p in valid])
        except Exception as exc:  # a broken model must not lose posts: they go to the dlq whole
            log.exception("classifier failed on a batch of %d", len(valid))
            for post in valid:
                await rt.dead_letter(
                    dead_letter("classify", "classifier_error", f"{type(exc).__name__}: {exc}", post.dumps(), rt.now())
                )
            continue
        metrics.CLASSIFY_SECONDS.observe(time.perf_counter() - started)
        metrics.CLASSIFY_BATCH.observe(len(valid))
        for event, post, prediction in zip(events, valid, predictions, strict=True):
            lang = metrics.bounded(post.lang or prediction.lang, metrics.LANGS)
            metrics.CLASSIFIED.labels(prediction.label, lang, classifier.name).inc()
            msg = event.message
            with current(event):
                await router.route(to_classified(post, prediction, classifier.name, classifier.version),
                                   msg.partition, f"{msg.partition}:{msg.offset}:{lane}")
        if rt.shadow is not None:
            await compare_with_shadow(rt, loop, valid, predictions)


async def compare_with_shadow(rt: Runtime, loop: asyncio.AbstractEventLoop, valid: list[Post], predictions: list[Any]) -> None:
    """Run the shadow on the same batch; its failures are counted and never touch the primary path."""
    shadow = rt.shadow
    assert shadow is not None
    try:
        shadow_predictions = await loop.run_in_executor(rt.executor, shadow.predict, [p.text for p in valid])
    except Exception:
        log.exception("shadow classifier %s failed on a batch of %d", shadow.name, len(valid))
        metrics.SHADOW_ERRORS.inc()
        return
    metrics.SHADOW_COMPARED.inc(len(valid))
    for record in disagreements(valid, predictions, shadow_predictions, rt.classifier.name, shadow.name, rt.now()):
        metrics.SHADOW_DISAGREEMENTS.labels(record.primary_label, record.shadow_label).inc()
        await rt.topics.shadow.send(key=record.post_key, value=record.dumps())
