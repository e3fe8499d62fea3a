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
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
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


def tweet(n: int, text: str | None = None) -> dict[str, Any]:
    return {"id": str(1860000000000000000 + n), "text": text or f"@acmeair where is my bag {n}?", "author_id": str(700 + n % 3),
            "created_at": "2026-11-23T09:%02d:%02d.000Z" % (n // 60 % 60, n % 60), "lang": "en",
            "edit_history_tweet_ids": [str(1860000000000000000 + n)]}


USERS = [{"id": str(700 + i), "username": f"flyer{i}", "name": f"Flyer {i}", "verified": i == 2,
          "public_metrics": {"followers_count": 10 ** i}} for i in range(3)]


@dataclass
class XServer:
    """X API v2: stream rules, recent search (``since_id``, ``next_token``) and the filtered stream
    (NDJSON with blank keep-alive lines). ``stream_script``: per connection, (first, end, drop) of tweets,
    or a 429 with ``x-rate-limit-reset``."""

    tweets: list[dict[str, Any]]
    stream_script: list[Any] = field(default_factory=list)
    searchable: int = 0
    rules: list[dict[str, Any]] = field(default_factory=list)
    stream_calls: list[float] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/2/tweets/search/stream/rules", self.get_rules),
                web.post("/2/tweets/search/stream/rules", self.add_rules),
                web.get("/2/tweets/search/recent", self.search),
                web.get("/2/tweets/search/stream", self.stream)]

    async def get_rules(self, request: web.Request) -> web.Response:
        return web.json_response({"data": self.rules, "meta": {"result_count": len(self.rules)}} if self.rules else {"meta": {"result_count": 0}})

    async def add_rules(self, request: web.Request) -> web.Response:
        body = await request.json()
        for rule in body["add"]:
            self.rules.append({"id": str(len(self.rules) + 1), **rule})
        return web.json_response({"data": self.rules, "meta": {"summary": {"created": len(body["add"])}}}, status=201)

    async def search(self, request: web.Request) -> web.Response:
        self.auth.append(request.headers.get("Authorization", ""))
        since = request.query.get("since_id")
        found = [t for t in self.tweets[: self.searchable] if since is None or int(t["id"]) > int(since)]
        found = sorted(found, key=lambda t: int(t["id"]), reverse=True)  # newest first, as X answers
        if not found:
            return web.json_response({"meta": {"result_count": 0}})
        return web.json_response({"data": found, "includes": {"users": USERS},
                                  "meta": {"newest_id": found[0]["id"], "oldest_id": found[-1]["id"], "result_count": len(found)}})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self.stream_calls.append(time.monotonic())
        step = self.stream_script[min(len(self.stream_calls), len(self.stream_script)) - 1]
        if step == "429":
            return web.json_response({"title": "Too Many Requests", "status": 429}, status=429,
                                     headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 2)})
        first, end, drop = step
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for t in self.tweets[first:end]:
            self.searchable = max(self.searchable, self.tweets.index(t) + 1)
            await response.write(json.dumps({"data": t, "includes": {"users": USERS},
                                             "matching_rules": [{"id": "1", "tag": "pot: acmeair"}]}).encode() + b"\r\n")
            await response.write(b"\r\n")  # keep-alive
            await asyncio.sleep(0.005)
        if drop:
            nxt = next((s for s in self.stream_script[len(self.stream_calls):] if isinstance(s, tuple)), None)
            if nxt is not None:
                self.searchable = max(self.searchable, nxt[0])  # written while the client was away
            request.transport.close()  # type: ignore[union-attr]
            return response
        await response.write(b"{\"data\": {\"text\": \"no id\"}}\r\n")
        await asyncio.sleep(3600)
        return response


@dataclass
class RedditServer:
    """Reddit: the client-credentials token endpoint and ``/r/SUB/new`` and ``/r/SUB/comments`` listings,
    newest first, with ``X-Ratelimit-*`` headers; ``rate_limit_at`` answers that call with a 429."""

    submissions: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    visible: int = 0
    calls: list[tuple[str, float]] = field(default_factory=list)
    rate_limit_at: int | None = None
    tokens: int = 0

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/access_token", self.token), web.get("/r/{sub}/{kind}", self.listing)]

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "client_credentials" and request.headers["Authorization"].startswith("Basic ")
        self.tokens += 1
        return web.json_response({"access_token": f"tok{self.tokens}", "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    async def listing(self, request: web.Request) -> web.Response:
        self.calls.append((request.match_info["kind"], time.monotonic()))
        headers = {"X-Ratelimit-Used": str(len(self.calls)), "X-Ratelimit-Remaining": "99", "X-Ratelimit-Reset": "120"}
        if self.rate_limit_at is not None and len(self.calls) == self.rate_limit_at:
            return web.json_response({"message": "Too Many Requests", "error": 429}, status=429,
                                     headers={**headers, "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1"})
        things = self.submissions if request.match_info["kind"] == "new" else self.comments
        shown = list(reversed(things[: self.visible]))[: int(request.query.get("limit", 25))]
        return web.json_response({"kind": "Listing", "data": {"after": None, "before": None, "children": shown}},
                                 headers=headers)
