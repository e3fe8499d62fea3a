"""The worker's HTTP API (faust's web server): posts and corrections in, the desk (alerts, silences),
Slack interactions (HTTP and Socket Mode), native platform payloads (``/ingest/{format}``), health and
metrics. Each module registers its views on the runtime's app."""

from __future__ import annotations

from ..runtime import Runtime
from . import alerts, desk, ingest, limits, openapi, posts, slack, slack_socket
from .posts import authorised

__all__ = ["authorised", "register_api"]


def register_api(rt: Runtime) -> None:
    token = rt.settings.api_token.get_secret_value() if rt.settings.api_token else None
    limiter = limits.RequestLimiter(rt.settings.http_rate_per_s, rt.settings.http_burst)
    rt.app.web.web_app.middlewares.append(limits.middleware(limiter))
    posts.register(rt)
    ctx = desk.register(rt)
    alerts.register(rt, lambda header: authorised(header, token), queue=ctx.queue)
    # Slack: signed clicks over HTTP and, with an app-level token, over Socket Mode (POT_SLACK_*, from the tree).
    slack.register(rt, rt.settings.slack)
    slack_socket.register(rt, rt.settings.slack)
    ingest.register(rt, lambda header: authorised(header, token))
    openapi.register(rt)
