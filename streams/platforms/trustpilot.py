"""Trustpilot: service reviews, as the Business Units API lists them (``{"reviews": [...]}``), one
review object, or a ``service-review-created`` webhook (``{"events": [{"eventData": ...}]}``).

The star rating is kept in ``metadata.rating`` (of ``rating_max`` 5): routing can read it,
and the text (title and body) is what is classified.

>>> r = {"id": "5f1", "stars": 1, "title": "Never arrived", "text": "Three weeks.", "language": "en",
...      "createdAt": "2026-11-23T09:00:00Z", "consumer": {"id": "c9", "displayName": "Ana"}}
>>> p = map_trustpilot({"reviews": [r]}).posts[0]
>>> p["text"], p["metadata"]["rating"], p["url"]
('Never arrived\\n\\nThree weeks.', 1, 'https://www.trustpilot.com/reviews/5f1')
"""

from __future__ import annotations

from typing import Any

from .base import Context, Mapped, MappingError, as_id, count, join_text, map_each, need, need_dict, post

PLATFORM = "trustpilot"


def map_trustpilot(payload: Any, ctx: Context = Context()) -> Mapped:
    if isinstance(payload, list):
        return map_each(map_trustpilot, payload, ctx)
    obj = need_dict(payload, "a Trustpilot payload")
    if isinstance(obj.get("reviews"), list):
        return map_each(map_trustpilot, obj["reviews"], ctx)
    if isinstance(obj.get("events"), list):
        out = Mapped()
        for event in obj["events"]:
            event = need_dict(event, "event")
            if event.get("eventName") != "service-review-created":
                out.skipped.append(f"{event.get('eventName')} event: not a new review")
                continue
            out.extend(map_trustpilot(need(event, "eventData"), ctx))
        return out
    if "stars" not in obj or "id" not in obj:
        raise MappingError("unknown_shape", "not a Trustpilot review (no `id` and `stars`)")
    consumer = need_dict(need(obj, "consumer"), "consumer")
    rid = as_id(obj["id"], "id")
    text = join_text(obj.get("title"), obj.get("text"))
    link = obj.get("link") if isinstance(obj.get("link"), str) else None
    return Mapped(posts=[post(
        id=rid,
        platform=PLATFORM,
        text=text,
        created_at=need(obj, "createdAt"),
        author_id=as_id(need(consumer, "id"), "consumer.id"),
        handle=consumer.get("displayName") or consumer.get("name"),
        followers=0,
        url=link or f"https://www.trustpilot.com/reviews/{rid}",
        lang=obj.get("language"),
        brand=ctx.brand,
        metadata={"rating": count(obj.get("stars")) or obj.get("stars"), "rating_max": 5,
                  "reference_id": obj.get("referenceId"), "reviews_by_author": consumer.get("numberOfReviews")},
    )])
