"""Facebook: Page webhook deliveries (``object: page``) with ``feed`` changes.

One delivery may hold many entries, each with many changes. Comments and visitor posts become
posts; reactions, likes, shares and removals are skipped with a reason. ``created_time`` is epoch
seconds in webhooks (ISO 8601 with ``+0000`` in Graph API reads; both are taken).

>>> d = {"object": "page", "entry": [{"id": "111", "time": 1732352400, "changes": [{"field": "feed", "value": {
...     "item": "comment", "verb": "add", "from": {"id": "42", "name": "Ana B"}, "post_id": "111_222",
...     "comment_id": "222_333", "parent_id": "111_222", "created_time": 1732352400, "message": "Where is my box?"}}]}]}
>>> p = map_facebook(d).posts[0]
>>> p["id"], p["in_reply_to"], p["author"]["handle"], p["url"]
('222_333', '111_222', 'Ana B', 'https://www.facebook.com/111_222?comment_id=222_333')
"""

from __future__ import annotations

from typing import Any

from .base import Context, Mapped, MappingError, as_id, iso_or_epoch, need, need_dict, post

PLATFORM = "facebook"
POST_ITEMS = ("comment", "post", "status", "photo", "video", "share")


def entries(payload: Any, obj_name: str) -> list[dict[str, Any]]:
    """The ``entry`` list of a Meta webhook delivery for ``object == obj_name``."""
    delivery = need_dict(payload, "a webhook delivery")
    if delivery.get("object") != obj_name:
        raise MappingError("unknown_shape", f"not a Meta `{obj_name}` webhook delivery (object {str(delivery.get('object'))[:20]!r})")
    found = need(delivery, "entry")
    if not isinstance(found, list):
        raise MappingError("wrong_type", "entry must be a list")
    return [need_dict(e, "entry") for e in found]


def map_facebook(payload: Any, ctx: Context = Context()) -> Mapped:
    out = Mapped()
    for entry in entries(payload, "page"):
        for change in entry.get("changes") or []:
            change = need_dict(change, "change")
            if change.get("field") != "feed":
                out.skipped.append(f"{change.get('field')} change: not the feed")
                continue
            out.extend(_feed_change(need_dict(need(change, "value"), "change.value"), entry, ctx))
    return out


def _feed_change(value: dict[str, Any], entry: dict[str, Any], ctx: Context) -> Mapped:
    item, verb = value.get("item"), value.get("verb")
    if item not in POST_ITEMS:
        return Mapped(skipped=[f"{item} {verb or ''}".strip() + ": not a post or comment"])
    if verb not in (None, "add", "edited", "edit"):
        return Mapped(skipped=[f"{item} {verb}: nothing new was written"])
    message = value.get("message")
    if not isinstance(message, str) or not message.strip():
        return Mapped(skipped=[f"{item} without text (a photo or a share)"])
    sender = need_dict(need(value, "from"), "from")
    post_id = as_id(need(value, "post_id"), "post_id") if value.get("post_id") else None
    if item == "comment":
        pid = as_id(need(value, "comment_id"), "comment_id")
        url = f"https://www.facebook.com/{post_id}?comment_id={pid}" if post_id else None
        reply_to = value.get("parent_id") or post_id
    else:
        pid = post_id or as_id(need(value, "post_id"), "post_id")
        url, reply_to = f"https://www.facebook.com/{pid}", None
    created = value.get("created_time", entry.get("time"))
    return Mapped(posts=[post(
        id=pid,
        platform=PLATFORM,
        text=message,
        created_at=iso_or_epoch(created, "created_time"),
        author_id=as_id(need(sender, "id"), "from.id"),
        handle=sender.get("name"),
        url=url,
        in_reply_to=str(reply_to) if reply_to else None,
        brand=ctx.brand,
        metadata={"page_id": entry.get("id"), "item": item, "post_id": post_id,
                  "edited": True if verb in ("edited", "edit") else None},
    )])
