"""Instagram: webhook deliveries (``object: instagram``) with ``comments`` and ``live_comments`` changes.

A comment carries no time of its own: ``created_at`` is the entry's ``time`` (seconds, or
milliseconds in newer deliveries). A top-level comment answers its media (``in_reply_to`` is the
media id); a reply answers the comment in ``parent_id``.

>>> d = {"object": "instagram", "entry": [{"id": "1784", "time": 1732352400, "changes": [{"field": "comments",
...     "value": {"from": {"id": "232", "username": "jo.travels"}, "media": {"id": "1798", "media_product_type": "FEED"},
...               "id": "1790", "text": "Lost my bag, DM me"}}]}]}
>>> p = map_instagram(d).posts[0]
>>> p["id"], p["author"]["handle"], p["in_reply_to"], p["created_at"]
('1790', '@jo.travels', '1798', '2024-11-23T09:00:00Z')
"""

from __future__ import annotations

from typing import Any

from .base import Context, Mapped, as_id, iso_or_epoch, need, need_dict, post
from .facebook import entries

PLATFORM = "instagram"
COMMENT_FIELDS = ("comments", "live_comments")


def map_instagram(payload: Any, ctx: Context = Context()) -> Mapped:
    out = Mapped()
    for entry in entries(payload, "instagram"):
        for change in entry.get("changes") or []:
            change = need_dict(change, "change")
            if change.get("field") not in COMMENT_FIELDS:
                out.skipped.append(f"{change.get('field')} change: not a comment")
                continue
            value = need_dict(need(change, "value"), "change.value")
            sender = need_dict(need(value, "from"), "from")
            media = value.get("media") if isinstance(value.get("media"), dict) else {}
            username = sender.get("username")
            created = value.get("timestamp") or value.get("created_time") or entry.get("time")
            out.posts.append(post(
                id=as_id(need(value, "id"), "value.id"),
                platform=PLATFORM,
                text=need(value, "text"),
                created_at=iso_or_epoch(created, "entry.time"),
                author_id=as_id(need(sender, "id"), "from.id"),
                handle=f"@{username}" if username else None,
                in_reply_to=str(value.get("parent_id") or media.get("id") or "") or None,
                brand=ctx.brand,
                metadata={"account_id": entry.get("id"), "media_id": media.get("id"),
                          "media_product_type": media.get("media_product_type"), "field": change.get("field")},
            ))
    return out
