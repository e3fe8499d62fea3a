"""Mastodon: ``Status`` entities (REST pages, single statuses) and streaming events.

A streaming event is ``{"event": "update" | "status.update" | "delete", "payload": ...}`` where the
payload of an update is the Status *as a JSON string* (WebSocket and server-sent events alike); a
delete's payload is the id. Ids are the ones of the server the status was read from (the same
status has another id on another server), and so are ``in_reply_to_id`` values: read one server.

>>> s = {"id": "1", "created_at": "2026-11-23T09:00:00.000Z", "content": "<p>late again &lt;3</p>",
...      "account": {"id": "9", "acct": "ana@mastodon.social", "followers_count": 3},
...      "url": "https://mastodon.social/@ana/1", "language": "en", "in_reply_to_id": None}
>>> p = map_mastodon({"event": "update", "payload": __import__("json").dumps(s)}).posts[0]
>>> p["text"], p["author"]["handle"]
('late again <3', '@ana@mastodon.social')
>>> map_mastodon({"event": "delete", "payload": "1"}).skipped
['status 1 deleted (a post already sent stays; its alert is not withdrawn)']
"""

from __future__ import annotations

import json
from typing import Any

from .base import Context, Mapped, MappingError, as_id, count, join_text, map_each, need, need_dict, post
from .text import html_to_text

PLATFORM = "mastodon"
IGNORED_EVENTS = ("notification", "filters_changed", "conversation", "announcement", "announcement.reaction",
                  "announcement.delete", "encrypted_message", "notifications_merged")


def map_mastodon(payload: Any, ctx: Context = Context()) -> Mapped:
    if isinstance(payload, list):  # a REST page: statuses, or notifications that carry one
        return map_each(map_mastodon, payload, ctx)
    obj = need_dict(payload, "a Mastodon payload")
    if "event" in obj:
        return _event(obj, ctx)
    if obj.get("type") in ("mention", "status", "update") and isinstance(obj.get("status"), dict):
        return Mapped(posts=[status_to_post(obj["status"], ctx)])  # a Notification
    if "statuses" in obj and isinstance(obj["statuses"], list):  # a /api/v2/search answer
        return map_each(map_mastodon, obj["statuses"], ctx)
    if "content" in obj and "account" in obj:
        return Mapped(posts=[status_to_post(obj, ctx)])
    raise MappingError("unknown_shape", "neither a Status, a list of them, nor a streaming event")


def _event(obj: dict[str, Any], ctx: Context) -> Mapped:
    event, payload = obj.get("event"), obj.get("payload")
    if event == "delete":
        return Mapped(skipped=[f"status {payload} deleted (a post already sent stays; its alert is not withdrawn)"])
    if event in ("update", "status.update"):
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError as exc:
                raise MappingError("wrong_type", f"event payload is not a JSON Status: {exc.msg}") from None
        edited = event == "status.update"
        return Mapped(posts=[status_to_post(need_dict(payload, "event payload"), ctx, edited=edited)])
    if event in IGNORED_EVENTS:
        return Mapped(skipped=[f"{event} event: not a status"])
    raise MappingError("unknown_shape", f"unknown streaming event {str(event)[:40]!r}")


def status_to_post(status: dict[str, Any], ctx: Context = Context(), edited: bool = False) -> dict[str, Any]:
    if isinstance(status.get("reblog"), dict):  # a boost: the post is the boosted status
        status = status["reblog"]
    account = need_dict(need(status, "account"), "account")
    text = html_to_text(need(status, "content")) if isinstance(status.get("content"), str) else ""
    if status.get("spoiler_text"):
        text = join_text(status["spoiler_text"], text)  # the content warning is part of what was said
    acct = account.get("acct")
    return post(
        id=as_id(need(status, "id"), "id"),
        platform=PLATFORM,
        text=text,
        created_at=need(status, "created_at"),
        author_id=as_id(need(account, "id"), "account.id"),
        handle=f"@{acct}" if acct else None,
        followers=count(account.get("followers_count")),
        verified=False,
        url=status.get("url") or status.get("uri"),
        lang=status.get("language"),
        in_reply_to=as_id(status["in_reply_to_id"], "in_reply_to_id") if status.get("in_reply_to_id") else None,
        brand=ctx.brand,
        metadata={"uri": status.get("uri"), "visibility": status.get("visibility"),
                  "edited_at": status.get("edited_at") if edited or status.get("edited_at") else None,
                  "author_name": account.get("display_name") or None, "bot": account.get("bot") or None},
    )
