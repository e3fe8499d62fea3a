"""A local Slack for Socket Mode, speaking the documented protocol (docs.slack.dev, "Using Socket Mode").

``POST /api/apps.connections.open`` with an app-level token answers a
single-use WebSocket URL on this server; a connection to it is greeted with
``hello``; the test pushes envelopes (``envelope_id``, ``type``, ``payload``,
``accepts_response_payload``) and the server records each acknowledgement
(``{"envelope_id": ...}``); :meth:`FakeSocketMode.refresh` sends Slack's
``disconnect`` (``refresh_requested``) and then closes the socket, as Slack does
every few hours.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass
class FakeSocketMode:
    app_token: str
    opened: list[str] = field(default_factory=list)
    """Tickets handed out by apps.connections.open, in order."""
    refused: list[str] = field(default_factory=list)
    """Error codes apps.connections.open answered."""
    acks: list[dict[str, Any]] = field(default_factory=list)
    hellos: int = 0
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _tickets: set[str] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def install(self, app: web.Application) -> web.Application:
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_get("/link/", self._link)
        return app

    def app(self) -> web.Application:
        return self.install(web.Application())

    async def _open(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth:
            error = "not_authed"
        elif not token.startswith("xapp-"):
            error = "not_allowed_token_type"
        elif token != self.app_token:
            error = "invalid_auth"
        else:
            ticket = f"t{next(self._ids)}"
            self._tickets.add(ticket)
            self.opened.append(ticket)
            return web.json_response({"ok": True, "url": f"ws://{request.host}/link/?ticket={ticket}"})
        self.refused.append(error)
        return web.json_response({"ok": False, "error": error})

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=403, text="bad ticket")
        self._tickets.discard(ticket)  # each URL opens one connection
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.hellos += 1
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "applink-local", "approximate_connection_time": 18060},
                            "connection_info": {"app_id": "A0LOCAL"}})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks.append(data)
        return ws

    def live(self) -> web.WebSocketResponse:
        open_ = [ws for ws in self.sockets if not ws.closed]
        assert open_, "no open Socket Mode connection"
        return open_[-1]

    async def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Push one envelope on the live connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._ids)}"
        await self.live().send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                     "accepts_response_payload": False})
        return envelope_id

    async def refresh(self, grace_s: float = 0.2) -> None:
        """Slack's refresh: a ``disconnect`` message, then the socket closes."""
        ws = self.live()
        await ws.send_json({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-local"}})
        await asyncio.sleep(grace_s)
        await ws.close()

    def acked(self, envelope_id: str) -> bool:
        return any(ack["envelope_id"] == envelope_id for ack in self.acks)


def block_action(action_id: str, value: str, user: str = "sara") -> dict[str, Any]:
    """A ``block_actions`` payload as Slack sends it for a click on one of our buttons (or the relabel menu)."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "pot", "type": "button", "value": value,
                              "action_ts": "1714568460.000100"}
    if action_id == "pot_relabel":
        action = {"action_id": action_id, "block_id": "pot", "type": "static_select",
                  "selected_option": {"value": value}, "action_ts": "1714568460.000100"}
    return {"type": "block_actions", "user": {"id": "U0SARA", "username": user, "team_id": "T0LOCAL"},
            "api_app_id": "A0LOCAL", "team": {"id": "T0LOCAL"}, "channel": {"id": "C0ALERTS"},
            "container": {"type": "message", "message_ts": "1714568400.000001", "channel_id": "C0ALERTS"},
            "trigger_id": "1.2.3", "actions": [action]}
