"""Build connectors from the environment and run them: in the foreground (``pot connect``) or in a
thread beside the worker (``pot run`` with ``POT_CONNECTORS``), each with its own event loop so that
nothing a connector does can stall the worker's."""

from __future__ import annotations

import asyncio
import logging
import threading
from importlib import import_module
from typing import Any

from ...core.validation import MAX_POST_BYTES
from . import CONNECTORS
from .base import Connector, Outlet
from .kafka import CURSOR_TOPIC, KafkaSide, ensure_cursor_topic

log = logging.getLogger(__name__)

REQUIRED: dict[str, list[tuple[str, str]]] = {
    "reddit": [("client_id", "POT_REDDIT_CLIENT_ID"), ("client_secret", "POT_REDDIT_CLIENT_SECRET")],
    "x": [("bearer_token", "POT_X_BEARER_TOKEN")],
}
SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "mastodon": (("hashtags", "searches", "mentions"), "POT_MASTODON_HASHTAGS, POT_MASTODON_SEARCHES or POT_MASTODON_MENTIONS"),
    "bluesky": (("handles", "keywords"), "POT_BLUESKY_HANDLES or POT_BLUESKY_KEYWORDS"),
    "reddit": (("subreddits", "searches"), "POT_REDDIT_SUBREDDITS or POT_REDDIT_SEARCHES"),
    "x": (("rules",), "POT_X_RULES"),
}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def load_settings(name: str) -> Any:
    return _load(CONNECTORS[name][1])()


def problems(name: str, settings: Any) -> list[str]:
    """What is missing for a connector to run, naming the variables (never their values)."""
    found = [f"{name}: {var} is not set" for field, var in REQUIRED.get(name, []) if not getattr(settings, field)]
    fields, variables = SOURCES[name]
    if not any(getattr(settings, f) for f in fields):
        found.append(f"{name}: nothing to read; set {variables}")
    if name == "mastodon" and (settings.mentions or settings.searches) and not settings.token:
        found.append("mastodon: mentions and searches need POT_MASTODON_TOKEN")
    return found


def build(name: str, side: Any, brand: str | None = None, settings: Any = None, max_post_bytes: int = MAX_POST_BYTES,
          **kwargs: Any) -> Connector:
    """A connector and its outlet; ``max_post_bytes`` is ``POT_MAX_POST_BYTES`` of the monitor's settings."""
    settings = settings if settings is not None else load_settings(name)
    outlet = Outlet(name, name, side, side, brand=settings.brand or brand, max_post_bytes=max_post_bytes)
    return _load(CONNECTORS[name][0])(settings, outlet, **kwargs)


async def run_all(names: list[str], pot_settings: Any, stop: asyncio.Event, brand: str | None = None) -> None:
    """Run the named connectors against the configured broker until ``stop`` is set."""
    from ...kafka.security import kafka_python_kwargs

    bootstrap, security = pot_settings.bootstrap_servers, kafka_python_kwargs(pot_settings)
    cursor_topic = pot_settings.topic(CURSOR_TOPIC)
    await asyncio.to_thread(ensure_cursor_topic, bootstrap, cursor_topic, pot_settings.replication, security)
    side = await asyncio.to_thread(KafkaSide, bootstrap, pot_settings.topic("posts"), pot_settings.topic("dlq"), cursor_topic,
                                   security)
    connectors = [build(name, side, brand, max_post_bytes=pot_settings.max_post_bytes) for name in names]
    tasks = [asyncio.create_task(c.run(stop), name=f"connector-{c.name}") for c in connectors]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for connector in connectors:
            await connector.close()
        side.close()


class ConnectorThread(threading.Thread):
    """The connectors of ``pot run``, on their own event loop in a daemon thread."""

    def __init__(self, names: list[str], pot_settings: Any, brand: str | None = None) -> None:
        super().__init__(name="pot-connectors", daemon=True)
        self.names, self.pot_settings, self.brand = names, pot_settings, brand
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.ready = threading.Event()

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.stop_event = asyncio.Event()
        self.ready.set()
        try:
            self.loop.run_until_complete(run_all(self.names, self.pot_settings, self.stop_event, self.brand))
        except Exception:
            log.exception("connectors stopped on an error")
        finally:
            self.loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        self.ready.wait(5)
        if self.loop is not None and self.stop_event is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.join(timeout)
