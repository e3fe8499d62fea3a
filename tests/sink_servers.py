"""Real local servers for the sink tests: a Slack look-alike, a signed-webhook receiver, an SMTP server.

The HTTP servers are aiohttp apps served inside the test's own event loop
(tests run coroutines with ``asyncio.run``); the SMTP server is aiosmtpd's
threaded controller on a free loopback port.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session, SMTP

from sinks.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

HOSTILE_TEXT = "<!channel> <@U123> <https://evil|click> & stuff <script>alert(1)</script>"
HOSTILE_HANDLE = "mallory\r\nBcc: victim@example.com <!here>"

Reply = Callable[[], web.StreamResponse]


def make_alert(**post_overrides: Any) -> dict[str, Any]:
    """An alert in the JSON form sinks receive (``json.loads(alert.dumps())``)."""
    post: dict[str, Any] = {
        "id": "1790000000000000001", "platform": "x", "text": "why is my parcel 2 weeks late??",
        "created_at": "2024-05-01T12:00:00Z",
        "author": {"id": "u-42", "handle": "@parcel_pete", "followers": 15200, "verified": False},
        "url": "https://x.com/parcel_pete/status/1790000000000000001", "lang": "en", "in_reply_to": None,
        "brand": "acme", "metadata": None, "received_at": "2024-05-01T12:00:01Z",
    }
    post.update(copy.deepcopy(post_overrides))
    return {
        "alert_id": "al-0123456789abcdef01234567",
        "post": post,
        "classification": {"label": "complaint", "confidence": 0.91,
                           "scores": {"complaint": 0.91, "question": 0.05, "praise": 0.02, "suggestion": 0.01, "other": 0.01},
                           "lang": "en", "model": "e5-head", "model_version": "e5-small-v1"},
        "window_s": 3600, "deadline": "2024-05-01T13:00:00Z", "priority": "P1",
        "reasons": ["complaint, confidence 0.91", "author has 15200 followers"],
        "receivers": ["slack"], "raised_at": "2024-05-01T12:00:05Z",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app on a free loopback port (no access log: it would print webhook paths)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextmanager
def serve_in_thread(app: web.Application) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """Serve an aiohttp app from a thread of its own (for code under test that runs its own event loop, or a
    worker in another process); yields the base URL and the server's loop (to schedule work on it)."""
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    started = threading.Event()

    async def start() -> None:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready["runner"], ready["base"] = runner, "http://{}:{}".format(*runner.addresses[0][:2])
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True, name="test-server")
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield ready["base"], loop
    finally:
        asyncio.run_coroutine_threadsafe(ready["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@dataclass
class Seen:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeSlack:
    """Slack's documented behaviour: Bearer auth, ``ok``/``error`` bodies on HTTP 200, 429 with Retry-After.

    ``script`` holds replies to give (in order, whatever the method) before
    behaving normally. ``chat.postMessage`` takes the channel's ID or its ``#name`` (``name``) and answers
    with the ID; ``chat.update`` takes only the ID, as Slack's do. ``messages`` is the channel as it stands, by ``ts``:
    ``chat.update`` replaces a message's text and blocks there (and is
    recorded in ``updates``); a post with ``thread_ts`` is a reply, recorded
    under that ts in ``replies``. Slack posts a reply even when its
    ``thread_ts`` names no message, so this does too.

    A message keeps the ``metadata`` it was posted with; ``conversations.history``
    (top-level messages, newest first, after ``oldest``, ``limit`` per page,
    ``cursor`` pagination) and ``conversations.replies`` (a thread) return it
    only with ``include_all_metadata``, as Slack does. ``ts`` values are real
    time (``oldest`` must mean something) and unique. ``posts`` counts every
    ``chat.postMessage`` that created a message: what a person sees.
    """

    token: str
    channel: str = "C0ALERTS"
    name: str = "#alerts"
    webhook_path: str = "/services/T000/B000/hooksecret"
    script: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lookups: list[dict[str, Any]] = field(default_factory=list)
    hang_s: Callable[[dict[str, Any]], float] | None = None
    """Seconds to wait before answering a ``chat.postMessage`` it has already posted (a Slack slower than the
    client's timeout: the message is there, the client never hears so)."""
    real_time: bool = False
    """ts values from the clock (e2e tests, where ``oldest`` must mean something); else from 2024-05-01, counted."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_post("/api/chat.update", self._update)
        app.router.add_post("/api/conversations.history", self._history)
        app.router.add_post("/api/conversations.replies", self._replies)
        app.router.add_post(self.webhook_path, self._webhook)
        return app

    def top_level(self) -> list[dict[str, Any]]:
        """The channel's own messages (not thread replies), oldest first."""
        return [message for message in self.messages.values() if not message.get("thread_ts")]

    async def _record(self, request: web.Request) -> Seen:
        seen = Seen(time.monotonic(), dict(request.headers), await request.read())
        self.seen.append(seen)
        return seen

    async def _refusal(self, request: web.Request, by_name: bool = False) -> tuple[dict[str, Any], web.StreamResponse | None]:
        """Record the call, then the body and the reply Slack would give before looking at the method's own fields."""
        await self._record(request)
        if self.script:
            return {}, self.script.pop(0)()
        body = await request.json()
        auth = request.headers.get("Authorization")
        if auth is None:
            return body, web.json_response({"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return body, web.json_response({"ok": False, "error": "invalid_auth"})
        if body.get("channel") != self.channel and not (by_name and body.get("channel") == self.name):
            return body, web.json_response({"ok": False, "error": "channel_not_found"})
        return body, None

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._refusal(request, by_name=True)
        if refused is not None:
            return refused
        ts = self._now_ts() if self.real_time else f"1714568400.{len(self.seen):06d}"
        message = {"ts": ts, "text": body.get("text"), "blocks": body.get("blocks"), "thread_ts": body.get("thread_ts"),
                   "metadata": body.get("metadata")}
        self.messages[ts] = message
        if body.get("thread_ts"):
            self.replies.setdefault(str(body["thread_ts"]), []).append(message)
        if self.hang_s is not None and (delay := self.hang_s(body)) > 0:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True, "channel": self.channel, "ts": ts, "message": {"text": body.get("text")}})

    async def _update(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._refusal(request)
        if refused is not None:
            return refused
        ts = body.get("ts")
        if not isinstance(ts, str) or ts not in self.messages:
            return web.json_response({"ok": False, "error": "message_not_found"})
        message = self.messages[ts]
        message.update(text=body.get("text"), blocks=body.get("blocks"))
        self.updates.append({"ts": ts, "text": body.get("text"), "blocks": body.get("blocks")})
        return web.json_response({"ok": True, "channel": self.channel, "ts": ts, "text": body.get("text"),
                                  "message": {"text": body.get("text")}})

    def _now_ts(self) -> str:
        last = max((float(ts) for ts in self.messages), default=0.0)
        return f"{max(time.time(), last + 1e-6):.6f}"

    def alert_posts(self) -> list[str]:
        """The alert id of each top-level message carrying alert metadata, once per message."""
        return [m["metadata"]["event_payload"]["alert_id"] for m in self.top_level()
                if (m.get("metadata") or {}).get("event_type") == "pot_alert"]

    def _page(self, body: dict[str, Any], messages: list[dict[str, Any]]) -> web.StreamResponse:
        oldest = float(body.get("oldest") or 0)
        inclusive = body.get("inclusive") in (True, "true", "1", 1)
        chosen = [m for m in messages if float(m["ts"]) > oldest or (inclusive and float(m["ts"]) == oldest)]
        chosen.sort(key=lambda m: float(m["ts"]), reverse=True)
        start = int(body.get("cursor") or 0)
        limit = max(1, min(int(body.get("limit") or 100), 999))
        page, more = chosen[start:start + limit], start + limit < len(chosen)
        shown = [{"type": "message", "ts": m["ts"], "text": m["text"], "blocks": m["blocks"],
                  **({"thread_ts": m["thread_ts"]} if m.get("thread_ts") else {}),
                  **({"metadata": m["metadata"]} if m.get("metadata") and body.get("include_all_metadata") in (True, "true", "1", 1) else {})}
                 for m in page]
        return web.json_response({"ok": True, "messages": shown, "has_more": more,
                                  "response_metadata": {"next_cursor": str(start + limit) if more else ""}})

    async def _history(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._refusal(request)
        if refused is not None:
            return refused
        self.lookups.append(body)
        return self._page(body, self.top_level())

    async def _replies(self, request: web.Request) -> web.StreamResponse:
        body, refused = await self._refusal(request)
        if refused is not None:
            return refused
        self.lookups.append(body)
        ts = str(body.get("ts") or "")
        if ts not in self.messages:
            return web.json_response({"ok": False, "error": "thread_not_found"})
        return self._page(body, [self.messages[ts], *self.replies.get(ts, [])])

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if self.script:
            return self.script.pop(0)()
        return web.Response(text="ok")


def slack_error(error: str, status: int = 200, retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after else None
    return lambda: web.json_response({"ok": False, "error": error}, status=status, headers=headers)


def plain(status: int, text: str = "", retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after else None
    return lambda: web.Response(status=status, text=text, headers=headers)


@dataclass
class SignedReceiver:
    """A webhook receiver that checks signatures with :func:`sinks.webhook.verify_signature`."""

    secret: str
    script: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/pot", self._receive)
        return app

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(time.monotonic(), dict(request.headers), body))
        ok = verify_signature(self.secret, request.headers.get(TIMESTAMP_HEADER, ""), body,
                              request.headers.get(SIGNATURE_HEADER, ""), now=time.time())
        self.verified.append(ok)
        if self.script:
            return self.script.pop(0)()
        return web.Response(status=204 if ok else 401)


class Mailbox:
    """aiosmtpd handler that keeps what it receives, or answers with a scripted SMTP code."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.data_reply: str | None = None
        self.rcpt_reply: str | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def password_check(user: str, password: str) -> Callable[..., AuthResult]:
    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return authenticate


@contextmanager
def smtp_server(handler: Mailbox, **smtp_options: Any) -> Iterator[tuple[str, int]]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    try:
        yield "127.0.0.1", controller.port
    finally:
        controller.stop()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext] | None:
    """(server context, client context trusting it) for 127.0.0.1, or ``None`` when openssl is missing."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True, timeout=30,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))
