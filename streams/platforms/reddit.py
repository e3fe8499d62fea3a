"""Reddit: ``Listing`` JSON of comments (``t1``) and submissions (``t3``), as ``/new``, ``/comments``
and ``/search`` answer with ``.json`` or through ``oauth.reddit.com``.

The post id is the thing's fullname (``t1_…``, ``t3_…``), the form ``parent_id`` is written in, so a
reply's ``in_reply_to`` matches the id of what it answers.

>>> listing = {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {
...     "name": "t3_abc", "id": "abc", "title": "Refund?", "selftext": "Still waiting", "author": "ana",
...     "author_fullname": "t2_9", "created_utc": 1732352400.0, "permalink": "/r/acme/comments/abc/refund/",
...     "subreddit": "acme"}}]}}
>>> p = map_reddit(listing).posts[0]
>>> p["id"], p["text"], p["author"]["handle"], p["created_at"]
('t3_abc', 'Refund?\\n\\nStill waiting', 'u/ana', '2024-11-23T09:00:00Z')
"""

from __future__ import annotations

from typing import Any

from .base import Context, Mapped, MappingError, as_id, epoch_to_iso, join_text, map_each, need, need_dict, post

PLATFORM = "reddit"
_REMOVED = ("[deleted]", "[removed]")


def map_reddit(payload: Any, ctx: Context = Context()) -> Mapped:
    if isinstance(payload, list):  # a comments page answers [submission listing, comments listing]
        return map_each(map_reddit, payload, ctx)
    obj = need_dict(payload, "a Reddit payload")
    kind = obj.get("kind")
    if kind == "Listing":
        return map_each(map_reddit, need(obj, "data").get("children") or [], ctx)
    if kind == "more":
        return Mapped(skipped=["`more` stub: comments not loaded on this page"])
    if kind not in ("t1", "t3"):
        raise MappingError("unknown_shape", f"not a Reddit listing, comment or submission (kind {str(kind)[:20]!r})")
    thing = need_dict(need(obj, "data"), "data")
    fullname = thing.get("name") or f"{kind}_{as_id(need(thing, 'id'), 'data.id')}"
    body = thing.get("body") if kind == "t1" else join_text(thing.get("title"), thing.get("selftext"))
    if thing.get("author") in _REMOVED or (kind == "t1" and body in _REMOVED):
        return Mapped(skipped=[f"{fullname} deleted or removed"])
    author = need(thing, "author")
    permalink = thing.get("permalink")
    return Mapped(posts=[post(
        id=as_id(fullname, "data.name"),
        platform=PLATFORM,
        text=body if isinstance(body, str) else "",
        created_at=epoch_to_iso(need(thing, "created_utc")),
        author_id=thing.get("author_fullname") or f"u/{author}",
        handle=f"u/{author}",
        followers=0,
        verified=False,
        url=f"https://www.reddit.com{permalink}" if isinstance(permalink, str) and permalink.startswith("/") else thing.get("url"),
        lang=None,
        in_reply_to=thing.get("parent_id") if kind == "t1" else None,
        brand=ctx.brand,
        metadata={"subreddit": thing.get("subreddit"), "kind": "comment" if kind == "t1" else "submission",
                  "link_id": thing.get("link_id"), "score": thing.get("score")},
    )])
