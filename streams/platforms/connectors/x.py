"""X: the filtered stream (``/2/tweets/search/stream``), with recent search (``/2/tweets/search/recent``)
to catch up after a gap, or alone where the stream is not part of the plan.

The configured rules are added to the stream's rule set when missing (``POST .../stream/rules``).
Each session first searches every rule ``since_id`` the cursor (``x:since``, the highest tweet id
published), then reads the stream line by line (blank keep-alive lines every 20 s). 429 answers
carry ``x-rate-limit-reset`` (epoch seconds): the connector waits until then.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..x import REQUEST_FIELDS
from .base import Connector, Dropped, check_response, newer

CURSOR_KEY = "since"


class XConnector(Connector):
    name = "x"

    def _headers(self) -> dict[str, str]:
        token = self.settings.bearer_token.get_secret_value() if self.settings.bearer_token else ""
        return {"Authorization": f"Bearer {token}"}

    def _url(self, path: str) -> str:
        return self.settings.api_url.rstrip("/") + path

    async def sync_rules(self) -> None:
        present = await self.get_json(self._url("/2/tweets/search/stream/rules"), headers=self._headers())
        have = {r.get("value") for r in (present or {}).get("data") or [] if isinstance(r, dict)}
        missing = [{"value": r, "tag": f"pot: {r}"[:128]} for r in self.settings.rules if r not in have]
        if missing:
            check_response(await self.http.post(self._url("/2/tweets/search/stream/rules"), json={"add": missing},
                                                headers=self._headers()))

    async def catch_up(self) -> int:
        since = (self.outlet.cursor(CURSOR_KEY) or {}).get("since_id")
        published = 0
        newest = since
        for rule in self.settings.rules:
            token = None
            pages: list[dict[str, Any]] = []
            for _ in range(10):
                params = {"query": rule, "max_results": 100, **REQUEST_FIELDS}
                if since:
                    params["since_id"] = since
                if token:
                    params["next_token"] = token
                page = await self.get_json(self._url("/2/tweets/search/recent"), params=params, headers=self._headers())
                if page.get("data"):
                    pages.append(page)
                token = (page.get("meta") or {}).get("next_token")
                if not token or not since:
                    break  # a first start reads the newest page only
            for page in reversed(pages):  # oldest page first
                page["data"] = sorted(page["data"], key=lambda t: (len(str(t.get("id"))), str(t.get("id"))))
                newest = newer(newest, (page.get("meta") or {}).get("newest_id"))
                published += len(await self.outlet.emit(page))
        if newest and newest != since:
            await self.outlet.save_cursor(CURSOR_KEY, {"since_id": newest})
        return published

    async def session(self) -> None:
        if self.settings.stream and self.settings.rules:
            await self.sync_rules()
        await self.catch_up()
        if not self.settings.stream:
            self.connected()
            while True:
                await asyncio.sleep(self.settings.poll_s)
                await self.catch_up()
        params = dict(REQUEST_FIELDS)
        async with self.http.stream("GET", self._url("/2/tweets/search/stream"), params=params,
                                    headers=self._headers()) as response:
            if response.status_code >= 400:
                await response.aread()
            check_response(response)
            self.connected()
            async for line in response.aiter_lines():
                if not line.strip():
                    continue  # keep-alive
                await self._line(line.encode("utf-8"))
        raise Dropped("the filtered stream ended")

    async def _line(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            tid = str(message["data"]["id"])
        except (ValueError, TypeError, KeyError):
            await self.outlet.bad_frame(raw, "unknown_shape", "not a filtered-stream tweet message")
            return
        since = (self.outlet.cursor(CURSOR_KEY) or {}).get("since_id")
        await self.outlet.emit(message, raw=raw, cursor=(CURSOR_KEY, {"since_id": newer(since, tid)}))
