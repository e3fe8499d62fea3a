"""Bluesky: Jetstream over WebSocket, filtered to what concerns the brand.

Jetstream can filter by collection and by author (``wantedDids``), not by mention or word, so the
connector asks for every ``app.bsky.feed.post`` commit and keeps those that: are written by one of
the brand's accounts (their replies resolve alerts), reply to one of them, mention one of them,
or contain a keyword. Handles and follower counts of the authors kept come from
``app.bsky.actor.getProfile``, cached for ``profile_ttl_s``. The cursor (``bluesky:jetstream``) is
the ``time_us`` of the last event handled; a session resumes with ``?cursor=`` from it and skips
events at or before it, so a drop or a restart neither loses nor repeats a post.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import connect

from ..bluesky import POST_COLLECTION
from ..metrics import CONNECTOR_ERRORS
from .base import Connector, Dropped, RateLimited, websocket_failures

CURSOR_KEY = "jetstream"
SAVE_EVERY_S = 5.0
"""How often the cursor moves past events that were not relevant (a relevant post saves it at once)."""


class BlueskyConnector(Connector):
    name = "bluesky"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.brand_dids: set[str] = set()
        self.handles = [h.lstrip("@").lower() for h in self.settings.handles]
        self.keywords = [re.compile(r"(?<!\w)" + re.escape(k.lower()) + r"(?!\w)") for k in self.settings.keywords]
        self._profiles: dict[str, tuple[float, dict[str, Any]]] = {}
        self._last_save = 0.0

    async def profile(self, actor: str) -> dict[str, Any] | None:
        """``app.bsky.actor.getProfile`` of a DID or handle, cached; ``None`` when the lookup fails."""
        cached = self._profiles.get(actor)
        if cached and time.monotonic() - cached[0] < self.settings.profile_ttl_s:
            return cached[1]
        url = self.settings.appview_url.rstrip("/") + "/xrpc/app.bsky.actor.getProfile"
        try:
            profile = await self.get_json(url, params={"actor": actor})
        except RateLimited:
            raise
        except Exception:
            CONNECTOR_ERRORS.labels(self.name, "http").inc()
            return cached[1] if cached else None
        if isinstance(profile, dict):
            self._profiles[actor] = (time.monotonic(), profile)
            if len(self._profiles) > 50_000:
                self._profiles.pop(next(iter(self._profiles)))
        return profile if isinstance(profile, dict) else None

    async def resolve_brand(self) -> None:
        for handle in self.handles:
            if handle.startswith("did:"):
                self.brand_dids.add(handle)
                continue
            profile = await self.profile(handle)
            if profile and profile.get("did"):
                self.brand_dids.add(profile["did"])

    def relevant(self, event: dict[str, Any]) -> bool:
        commit = event.get("commit") if isinstance(event.get("commit"), dict) else {}
        if commit.get("collection") != POST_COLLECTION:
            return False
        if event.get("did") in self.brand_dids:
            return True
        record = commit.get("record") if isinstance(commit.get("record"), dict) else {}
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
        for part in ("parent", "root"):
            uri = (reply.get(part) or {}).get("uri") if isinstance(reply.get(part), dict) else None
            if isinstance(uri, str) and any(uri.startswith(f"at://{did}/") for did in self.brand_dids):
                return True
        for facet in record.get("facets") or []:
            for feature in (facet.get("features") or []) if isinstance(facet, dict) else []:
                if isinstance(feature, dict) and feature.get("did") in self.brand_dids:
                    return True
        text = record.get("text")
        if not isinstance(text, str):
            return False
        lowered = text.lower()
        return any(f"@{h}" in lowered for h in self.handles) or any(k.search(lowered) for k in self.keywords)

    def _url(self, cursor: int | None) -> str:
        params = [("wantedCollections", POST_COLLECTION)]
        if cursor:
            params.append(("cursor", str(cursor)))
        return self.settings.jetstream_url + "?" + urlencode(params)

    async def session(self) -> None:
        if self.handles and not self.brand_dids:
            await self.resolve_brand()
        last = (self.outlet.cursor(CURSOR_KEY) or {}).get("time_us")
        url = self._url(last)
        with websocket_failures(self.settings.jetstream_url, "Jetstream", default_wait_s=30.0):
            async with connect(url, open_timeout=20, ping_interval=30, max_size=2**22) as ws:
                self.connected()
                async for frame in ws:
                    raw = frame if isinstance(frame, bytes) else frame.encode("utf-8")
                    last = await self._frame(raw, last)
        raise Dropped("Jetstream closed the connection")

    async def _frame(self, raw: bytes, last: int | None) -> int | None:
        try:
            event = json.loads(raw)
            time_us = event["time_us"]
            if not isinstance(time_us, int) or isinstance(time_us, bool):
                raise TypeError("time_us is not an integer")
        except (ValueError, TypeError, KeyError) as exc:
            code = "not_json" if isinstance(exc, ValueError) and not isinstance(exc, TypeError) else "unknown_shape"
            await self.outlet.bad_frame(raw, code, f"not a Jetstream event: {str(exc)[:200]}")
            return last
        if last is not None and time_us <= last:
            return last  # replayed from the cursor: handled before
        cursor = (CURSOR_KEY, {"time_us": time_us})
        if self.relevant(event):
            profile = await self.profile(event["did"]) if isinstance(event.get("did"), str) else None
            await self.outlet.emit(event, raw=raw, cursor=cursor, profiles={event["did"]: profile} if profile else None)
            self._last_save = time.monotonic()
        elif time.monotonic() - self._last_save > SAVE_EVERY_S:
            await self.outlet.save_cursor(*cursor)
            self._last_save = time.monotonic()
        return time_us
