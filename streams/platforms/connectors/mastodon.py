"""Mastodon: the streaming API over WebSocket (hashtags, the account's mentions), plus REST polling.

Each session first catches up over REST from the saved cursors (``min_id``: statuses newer than the
last one published, page by page), then subscribes on one multiplexed WebSocket
(``/api/v1/streaming``, ``{"type": "subscribe", "stream": "hashtag", "tag": ...}``) while keyword
searches are polled beside it. A drop ends the session; the next one catches up what was written
in between. Cursors: ``mastodon:tag:NAME``, ``mastodon:mentions``, ``mastodon:search:QUERY``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.asyncio.client import connect

from ..base import MappingError
from .base import Connector, Dropped, newer, websocket_failures

PAGE = 40


class MastodonConnector(Connector):
    name = "mastodon"

    def _headers(self) -> dict[str, str]:
        token = self.settings.token.get_secret_value() if self.settings.token else None
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _sources(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(cursor key, REST path, params) of everything read."""
        out = [(f"tag:{t.lstrip('#').lower()}", f"/api/v1/timelines/tag/{quote(t.lstrip('#'))}", {})
               for t in self.settings.hashtags]
        if self.settings.mentions:
            out.append(("mentions", "/api/v1/notifications", {"types[]": "mention"}))
        out += [(f"search:{q}", "/api/v2/search", {"q": q, "type": "statuses", "resolve": "false"})
                for q in self.settings.searches]
        return out

    async def catch_up(self, key: str, path: str, params: dict[str, Any]) -> int:
        """Publish everything newer than the cursor, oldest first; returns how many posts."""
        since = (self.outlet.cursor(key) or {}).get("min_id")
        base = self.settings.url.rstrip("/")
        published = 0
        for _ in range(50):  # at most 2,000 statuses per catch-up; the rest comes on the next one
            query = {**params, "limit": PAGE}
            if since:
                query["min_id"] = since
            page = await self.get_json(base + path, params=query, headers=self._headers())
            items = page.get("statuses", []) if isinstance(page, dict) else page
            if not isinstance(items, list) or not items:
                break
            # min_id pages are the statuses just after `since`, newest first; publish oldest first
            ids = [str(i.get("id")) for i in items if isinstance(i, dict)]
            newest = max(ids, key=lambda v: (len(v), v))
            published += len(await self.outlet.emit(list(reversed(items)), cursor=(key, {"min_id": newest})))
            if since is None:
                break  # a first start reads the newest page only, not the whole history
            since = newest
            if len(items) < PAGE:
                break
        return published

    def _stream_url(self) -> str:
        base = self.settings.streaming_url or self.settings.url
        parts = urlsplit(base.rstrip("/"))
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        return urlunsplit((scheme, parts.netloc, parts.path + "/api/v1/streaming", "", ""))

    async def session(self) -> None:
        for key, path, params in self._sources():
            await self.catch_up(key, path, params)
        streams = [{"type": "subscribe", "stream": "hashtag", "tag": t.lstrip("#")} for t in self.settings.hashtags]
        if self.settings.mentions:
            streams.append({"type": "subscribe", "stream": "user:notification"})
        tasks = [self._poll_searches()]
        if streams:
            tasks.append(self._stream(streams))
        async with asyncio.TaskGroup() as group:
            for task in tasks:
                group.create_task(task)

    async def _poll_searches(self) -> None:
        searches = [s for s in self._sources() if s[0].startswith("search:")]
        if not searches:
            return
        self.connected()
        while True:
            await asyncio.sleep(self.settings.poll_s)
            for key, path, params in searches:
                await self.catch_up(key, path, params)

    async def _stream(self, subscriptions: list[dict[str, Any]]) -> None:
        with websocket_failures(self._stream_url(), "the streaming server", default_wait_s=60.0):
            async with connect(self._stream_url(), additional_headers=self._headers(), open_timeout=20,
                               ping_interval=30, max_size=2**22) as ws:
                for message in subscriptions:
                    await ws.send(json.dumps(message))
                self.connected()
                async for frame in ws:
                    await self._frame(frame if isinstance(frame, bytes) else frame.encode("utf-8"))
        raise Dropped("the streaming server closed the connection")

    async def _frame(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise MappingError("unknown_shape", "a streaming message must be a JSON object")
        except (ValueError, MappingError) as exc:
            await self.outlet.bad_frame(raw, "not_json" if isinstance(exc, ValueError) else "unknown_shape", str(exc)[:200])
            return
        if "error" in message and "event" not in message:
            await self.outlet.bad_frame(raw, "unknown_shape", f"streaming error: {str(message['error'])[:200]}")
            return
        stream = message.get("stream") or []
        event = message.get("event")
        key = None
        if isinstance(stream, list) and stream[:1] == ["hashtag"] and len(stream) > 1:
            key = f"tag:{str(stream[1]).lower()}"
        elif isinstance(stream, list) and stream[:1] in (["user"], ["user:notification"]):
            key = "mentions"
        cursor = None
        if event in ("update", "notification") and key:
            payload = message.get("payload")
            try:
                status = json.loads(payload) if isinstance(payload, str) else payload
                if event == "notification":
                    status = status.get("status") if status.get("type") == "mention" else None
                sid = str(status["id"]) if status else None
            except (ValueError, TypeError, KeyError, AttributeError):
                sid = None
            if sid:
                prior = (self.outlet.cursor(key) or {}).get("min_id")
                cursor = (key, {"min_id": newer(prior, sid)})
            if event == "notification":
                if status is None:
                    return
                message = {"event": "update", "payload": status}
        await self.outlet.emit(message, raw=raw, cursor=cursor)
