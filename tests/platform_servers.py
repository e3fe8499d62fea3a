"""Local servers (127.0.0.1 only) that speak each platform's documented protocol, for the connector tests."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from websockets.asyncio.server import serve


async def http_server(routes: list[web.RouteDef]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def ws_server(handler: Any) -> tuple[Any, str]:
    server = await serve(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}"


def abort(ws: Any) -> None:
    """Drop a WebSocket the way a network does: no close frame."""
    ws.transport.abort()


def status(n: int, text: str | None = None, tag: str = "acmeair") -> dict[str, Any]:
    sid = str(113529001203456000 + n)
    return {
        "id": sid, "created_at": "2026-11-23T09:%02d:%02d.000Z" % (n // 60 % 60, n % 60), "in_reply_to_id": None,
        "language": "en", "visibility": "public", "uri": f"https://m.example/users/u{n}/statuses/{sid}",
        "url": f"https://m.example/@u{n}/{sid}", "spoiler_text": "",
        "content": f"<p>{text or f'post {n} about'} <a href=\"https://m.example/tags/{tag}\" class=\"mention hashtag\">#<span>{tag}</span></a></p>",
        "account": {"id": str(9000 + n), "username": f"u{n}", "acct": f"u{n}@m.example", "followers_count": n},
        "reblog": None, "mentions": [], "tags": [{"name": tag}],
    }


@dataclass
class MastodonServer:
    """A Mastodon server: the tag timeline over REST (``min_id`` paging, newest first) and the multiplexed
    streaming WebSocket. ``script`` says, per connection, which statuses to stream before dropping it."""

    statuses: list[dict[str, Any]]
    script: list[tuple[int, int, bool]] = field(default_factory=list)  # (first, end, drop afterwards)
    published: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    rest_calls: list[float] = field(default_factory=list)
    rate_limit_first: bool = False
    subscriptions: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, first: int, end: int) -> None:
        for s in self.statuses[first:end]:
            if s not in self.published:
                self.published.append(s)

    async def tag_timeline(self, request: web.Request) -> web.Response:
        self.rest_calls.append(time.monotonic())
        if self.rate_limit_first and len(self.rest_calls) == 1:
            return web.json_response({"error": "Too many requests"}, status=429,
                                     headers={"X-RateLimit-Remaining": "0", "Retry-After": "1"})
        limit = int(request.query.get("limit", 20))
        min_id = request.query.get("min_id")
        key = lambda s: (len(s["id"]), s["id"])  # noqa: E731
        items = sorted(self.published, key=key)
        if min_id:
            items = [s for s in items if key(s) > (len(min_id), min_id)][:limit]
        else:
            items = items[-limit:]
        return web.json_response(list(reversed(items)))

    async def stream(self, ws: Any) -> None:
        self.connections += 1
        self.subscriptions.append(json.loads(await ws.recv()))
        first, end, drop = self.script[min(self.connections, len(self.script)) - 1]
        for s in self.statuses[first:end]:
            self.publish(self.statuses.index(s), self.statuses.index(s) + 1)
            await ws.send(json.dumps({"stream": ["hashtag", "acmeair"], "event": "update", "payload": json.dumps(s)}))
            await asyncio.sleep(0.005)
        if drop:
            abort(ws)
            upcoming = self.script[self.connections][0] if self.connections < len(self.script) else end
            self.publish(end, upcoming)  # written while the client is away: only REST can bring these
            return
        await ws.send("{this is not a streaming message")  # a bad frame: dead-lettered, the stream goes on
        await ws.send(json.dumps({"stream": ["hashtag", "acmeair"], "event": "delete", "payload": self.statuses[0]["id"]}))
        await asyncio.Future()


def jet_event(n: int, did: str, text: str, base_us: int = 1795424700000000, reply_to: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": "2026-11-23T09:05:%02d.000Z" % (n % 60),
                              "langs": ["en"], "text": text}
    if reply_to:
        record["reply"] = {"root": {"uri": reply_to, "cid": "bafyroot"}, "parent": {"uri": reply_to, "cid": "bafyparent"}}
    return {"did": did, "time_us": base_us + n * 1000, "kind": "commit",
            "commit": {"rev": f"rev{n}", "operation": "create", "collection": "app.bsky.feed.post", "rkey": f"3lk{n:06d}",
                       "record": record, "cid": f"bafy{n}"}}


@dataclass
class JetstreamServer:
    """Jetstream's ``/subscribe``: ``wantedCollections`` and ``cursor`` (replay from ``time_us`` inclusive)."""

    events: list[dict[str, Any]]
    drop_after: list[int] = field(default_factory=list)  # per connection: frames sent before dropping
    connections: list[dict[str, list[str]]] = field(default_factory=list)
    bad_frame_at: int | None = None

    async def handler(self, ws: Any) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        self.connections.append(query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        todo = [e for e in self.events if cursor is None or e["time_us"] >= cursor]
        limit = self.drop_after[len(self.connections) - 1] if len(self.connections) <= len(self.drop_after) else None
        for sent, event in enumerate(todo):
            if limit is not None and sent == limit:
                abort(ws)
                return
            if self.bad_frame_at is not None and event is self.events[self.bad_frame_at] and len(self.connections) == 1:
                await ws.send(b"\x00\xffnot json")
            await ws.send(json.dumps(event))
            await asyncio.sleep(0.002)
        await asyncio.Future()


@dataclass
class ProfileServer:
    """``app.bsky.actor.getProfile`` of an AppView, counting the lookups."""

    profiles: dict[str, dict[str, Any]]
    calls: list[str] = field(default_factory=list)

    async def get_profile(self, request: web.Request) -> web.Response:
        actor = request.query["actor"]
        self.calls.append(actor)
        for profile in self.profiles.values():
            if actor in (profile["did"], profile["handle"]):
                return web.json_response(profile)
        return web.json_response({"error": "InvalidRequest", "message": "Profile not found"}, status=400)
