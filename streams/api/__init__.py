"""The worker's HTTP API (faust's web server): posts and corrections in, the desk (alerts, silences),
Slack interactions, health and metrics. Each module registers its views on the runtime's app."""

from __future__ import annotations

from ..runtime import Runtime
from . import alerts, posts, slack
from .posts import authorised

__all__ = ["authorised", "register_api"]


def register_api(rt: Runtime) -> None:
    token = rt.settings.api_token.get_secret_value() if rt.settings.api_token else None
    posts.register(rt)
    alerts.register(rt, lambda header: authorised(header, token))
    slack.register(rt)
