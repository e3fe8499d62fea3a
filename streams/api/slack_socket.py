"""Slack button clicks over Socket Mode: no public URL, no inbound port, just an outbound WebSocket.

With ``POT_SLACK_APP_TOKEN`` (an app-level ``xapp-`` token with the
``connections:write`` scope) the worker asks Slack for a WebSocket URL
(``apps.connections.open``) and keeps a connection open with the official
``slack_sdk`` Socket Mode client (its aiohttp flavour, on the worker's own
event loop). Slack sends each click as an ``interactive`` envelope; the
worker applies it exactly as it would a signed HTTP click
(:func:`streams.api.slack.handle_interaction`) and acknowledges the envelope
by its ``envelope_id`` (Slack redelivers an unacknowledged one). ``disconnect``
messages (Slack refreshes each connection every few hours) and dropped
connections are handled by the client: it asks for a new URL and reconnects.

A token Slack refuses (``invalid_auth``, ``not_allowed_token_type``) is
reported once, naming the variable, and Socket Mode stays off: retrying
cannot fix configuration, and the HTTP path keeps working meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mode import Service

from sinks.settings import SlackSettings

from ..runtime import Runtime

__all__ = ["SocketModeListener", "register"]

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[None]]
PERMANENT = frozenset({"invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive", "token_revoked",
                       "missing_scope", "app_missing_action_url"})


class SocketModeListener:
    """One Socket Mode connection that hands each interactive payload to ``on_interaction`` and acks it."""

    def __init__(self, app_token: str, on_interaction: Handler, *, api_url: str, ping_interval_s: float = 5.0) -> None:
        self._app_token = app_token
        self.on_interaction = on_interaction
        self.api_url = api_url.rstrip("/") + "/"
        self.ping_interval_s = ping_interval_s
        self.client: Any = None
        self.state = "stopped"
        """``stopped``, ``connecting``, ``connected``, or ``refused`` (Slack said no to the token)."""

    def __repr__(self) -> str:
        return f"SocketModeListener(state={self.state!r})"

    async def start(self, retry_s: float = 5.0) -> None:
        """Connect (until it works, or Slack refuses the token); returns once connected or refused."""
        from slack_sdk.errors import SlackApiError
        from slack_sdk.socket_mode.aiohttp import SocketModeClient
        from slack_sdk.web.async_client import AsyncWebClient

        self.state = "connecting"
        web = AsyncWebClient(base_url=self.api_url, retry_handlers=[], user_agent_prefix="points-of-truth")
        self.client = SocketModeClient(self._app_token, web_client=web, ping_interval=self.ping_interval_s,
                                       logger=logging.getLogger("slack_sdk.socket_mode"))
        self.client.socket_mode_request_listeners.append(self._on_request)
        while self.client is not None:
            try:
                self.client.wss_uri = await self.client.issue_new_wss_url()
                break
            except SlackApiError as exc:
                code = str((exc.response.data or {}).get("error") if isinstance(exc.response.data, dict) else "") or "error"
                if code in PERMANENT:
                    log.error("Slack Socket Mode is off: apps.connections.open answered %s; set POT_SLACK_APP_TOKEN to "
                              "the app-level token (xapp-..., scope connections:write)", code)
                    self.state = "refused"
                    return
                log.warning("Slack Socket Mode: apps.connections.open answered %s; trying again in %.0f s", code, retry_s)
            except Exception as exc:  # the network: Slack unreachable, DNS, TLS
                log.warning("Slack Socket Mode: cannot reach Slack (%s); trying again in %.0f s", type(exc).__name__, retry_s)
            await asyncio.sleep(retry_s)
        if self.client is not None:
            await self.client.connect()
            self.state = "connected"
            log.info("Slack Socket Mode connected: button clicks arrive over the WebSocket")

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.close()
        self.state = "stopped"

    async def _on_request(self, client: Any, request: Any) -> None:
        """Apply an interactive payload, then acknowledge the envelope. Every envelope is acknowledged, also
        ones this app does not use, so Slack does not redeliver them; one whose click could not be applied (the
        broker did not take it) is not, so Slack sends it again."""
        from slack_sdk.socket_mode.response import SocketModeResponse

        try:
            if request.type == "interactive" and isinstance(request.payload, dict):
                await self.on_interaction(request.payload)
            else:
                log.debug("Slack Socket Mode: ignored a %s envelope", request.type)
        except Exception as exc:
            log.error("Slack Socket Mode: a click could not be applied (%s); Slack will send it again", type(exc).__name__)
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))


def register(rt: Runtime, slack: SlackSettings | None = None) -> SocketModeListener | None:
    """Start Socket Mode with the worker when ``POT_SLACK_APP_TOKEN`` is set; nothing otherwise."""
    from .slack import handle_interaction

    slack = slack or rt.settings.slack
    if slack.app_token is None:
        return None
    listener = SocketModeListener(
        slack.app_token.get_secret_value(), lambda payload: handle_interaction(rt, payload), api_url=slack.web_api_url
    )

    class SlackSocketMode(Service):
        async def on_start(self) -> None:
            self.add_future(listener.start())

        async def on_stop(self) -> None:
            await listener.close()

    rt.app.service(SlackSocketMode)
    return listener
