"""Reddit: polling of subreddits (new submissions and new comments) and searches, over OAuth.

An application-only token (``client_credentials``, ``POT_REDDIT_CLIENT_ID`` and ``_SECRET``) is
fetched and renewed before it expires. Each source's cursor is the highest id seen (ids are base 36
and grow with time), so a poll publishes only things newer than it, oldest first; when a whole
page is new, older pages are followed (``after``) up to ten. ``X-Ratelimit-Remaining`` and
``-Reset`` are honoured before the quota runs out. Cursors: ``reddit:new:SUB``,
``reddit:comments:SUB``, ``reddit:search:QUERY``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import httpx

from .base import Connector, HttpError, check_response

PAGE = 100


def id36(fullname: str) -> int:
    """The number in a fullname (``t1_lz3k9qx`` → its base-36 value); 0 when unreadable."""
    try:
        return int(fullname.rpartition("_")[2], 36)
    except ValueError:
        return 0


class RedditConnector(Connector):
    name = "reddit"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: str | None = None
        self._token_until = 0.0

    def _sources(self) -> list[tuple[str, str, dict[str, Any]]]:
        out: list[tuple[str, str, dict[str, Any]]] = []
        for sub in self.settings.subreddits:
            name = sub.removeprefix("r/").strip("/")
            out.append((f"new:{name.lower()}", f"/r/{quote(name)}/new", {}))
            out.append((f"comments:{name.lower()}", f"/r/{quote(name)}/comments", {}))
        out += [(f"search:{q}", "/search", {"q": q, "sort": "new", "type": "link"}) for q in self.settings.searches]
        return out

    async def _auth(self) -> dict[str, str]:
        if self._token is None or time.time() > self._token_until - 60:
            cid = self.settings.client_id.get_secret_value() if self.settings.client_id else ""
            secret = self.settings.client_secret.get_secret_value() if self.settings.client_secret else ""
            response = check_response(await self.http.post(
                self.settings.token_url, data={"grant_type": "client_credentials"}, auth=httpx.BasicAuth(cid, secret),
                headers={"User-Agent": self.settings.user_agent}))
            body = response.json()
            self._token = body["access_token"]
            self._token_until = time.time() + float(body.get("expires_in", 3600))
        return {"Authorization": f"bearer {self._token}", "User-Agent": self.settings.user_agent}

    async def poll(self, key: str, path: str, params: dict[str, Any]) -> int:
        cursor = (self.outlet.cursor(key) or {}).get("id36")
        base = self.settings.api_url.rstrip("/")
        fresh: list[dict[str, Any]] = []
        after = None
        for _ in range(10):
            query = {**params, "limit": PAGE, "raw_json": 1, **({"after": after} if after else {})}
            try:
                listing = await self.get_json(base + path, params=query, headers=await self._auth())
            except HttpError as exc:
                if exc.status == 401:
                    self._token = None  # revoked or expired early: fetch a new one next time
                raise
            children = [c for c in (listing.get("data") or {}).get("children") or [] if isinstance(c, dict)]
            page_new = [c for c in children if cursor is None or id36(str((c.get("data") or {}).get("name", ""))) > cursor]
            fresh.extend(page_new)
            after = (listing.get("data") or {}).get("after")
            if cursor is None or len(page_new) < len(children) or not after:
                break
        if not fresh:
            return 0
        fresh.sort(key=lambda c: id36(str(c["data"].get("name", ""))))
        newest = id36(str(fresh[-1]["data"].get("name", "")))
        published = await self.outlet.emit({"kind": "Listing", "data": {"children": fresh}},
                                           cursor=(key, {"id36": max(newest, cursor or 0)}))
        return len(published)

    async def session(self) -> None:
        while True:
            for key, path, params in self._sources():
                await self.poll(key, path, params)
            self.connected()
            await asyncio.sleep(self.settings.poll_s)
