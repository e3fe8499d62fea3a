"""The support desk in a browser, on the worker's web server: :func:`register` is its one hook.

It starts two followers (:mod:`streams.kafka.queue_view`) that read the clocks
changelog and the ``events`` topic from every partition, so each worker's
desk shows every alert, and registers the pages of :mod:`.views`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ...kafka.queue_view import EventLog, QueueView, follow
from ...kafka.security import aiokafka_kwargs
from ...runtime import Runtime
from .auth import DeskUsers, Keys, LoginThrottle, load_secret
from .settings import DeskSettings
from .views import DeskContext, register_views

__all__ = ["DeskSettings", "register"]

log = logging.getLogger(__name__)


def register(rt: Runtime, desk: DeskSettings | None = None) -> DeskContext:
    """Add ``/desk`` to a worker (called by :func:`streams.api.register_api`)."""
    from ...core.records import Correction, isoformat

    desk = desk or rt.settings.desk
    app, settings, clock, clocks_table = rt.app, rt.settings, rt.clock, rt.tables.clocks
    queue, events = QueueView(), EventLog(keep_s=desk.keep_days * 86400, clock=clock.time)
    secret = (load_secret(desk.secret.get_secret_value() if desk.secret else None, settings.data_dir / "desk.secret")
              if desk.login_configured else os.urandom(32))

    async def relabel(clock_state: dict[str, Any], label: str, user: str) -> None:
        """"Wrong label": a correction for training, and an event on the alert's trail."""
        alert = clock_state.get("alert") or {}
        post = alert.get("post") or {}
        classification = alert.get("classification") or {}
        alert_id = str(clock_state.get("alert_id"))
        correction = Correction(
            text=str(post.get("text") or clock_state.get("text") or ""), right_label=label, actor=user,
            at=isoformat(clock.now()), post_key=f"{post.get('platform')}:{post.get('id')}", alert_id=alert_id,
            wrong_label=classification.get("label") or clock_state.get("label"), lang=classification.get("lang"),
        )
        await rt.topics.corrections.send(key=correction.post_key, value=correction.dumps())
        await rt.emit(alert_id, "wrong_label", {"wrong_label": correction.wrong_label, "right_label": label}, actor=user)

    ctx = DeskContext(
        desk=desk, users=DeskUsers(desk.users_file), keys=Keys(secret), queue=queue, events=events, now=clock.now,
        act=lambda alert_id, verb, user: rt.act(alert_id, verb, user),  # type: ignore[misc]
        relabel=relabel, throttle=LoginThrottle(),
    )
    register_views(app, ctx)

    def mark(view: Any) -> Any:
        def ready() -> None:
            view.ready = True
            view.version += 1
        return ready

    security = aiokafka_kwargs(settings)

    @app.task  # every partition's clocks: the desk's queue, and GET /alerts whichever worker answers
    async def follow_clocks() -> None:
        await follow(settings.bootstrap_servers, clocks_table.changelog_topic.get_topic_name, queue.apply,
                     on_ready=mark(queue), reset=queue.reset, client_id="pot-desk-clocks", security=security)

    if not desk.login_configured:  # no one could read the pages: spare the worker the events topic's reading
        log.warning("the web desk (/desk) is off: set POT_DESK_USERS_FILE or POT_DESK_TRUSTED_HEADER")
    else:
        @app.task
        async def follow_events() -> None:
            await follow(settings.bootstrap_servers, settings.topic("events"), events.apply,
                         on_ready=mark(events), reset=events.reset, client_id="pot-desk-events", security=security)
    return ctx
