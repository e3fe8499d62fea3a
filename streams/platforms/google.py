"""Google Business Profile: reviews as ``accounts.locations.reviews.list`` answers them, or one review.

``starRating`` (``ONE`` to ``FIVE``) is kept as ``metadata.rating``. A rating without a comment
has nothing to classify and is skipped with a reason. Reviewers have no stable id in this API:
the author id is the reviewer's profile photo URL's path when there is one, else the display name.

>>> r = {"name": "accounts/1/locations/2/reviews/AbC", "reviewId": "AbC", "reviewer": {"displayName": "Ana"},
...      "starRating": "TWO", "comment": "Rude staff at the desk", "createTime": "2026-11-23T09:00:00.123Z"}
>>> p = map_google({"reviews": [r]}).posts[0]
>>> p["id"], p["metadata"]["rating"], p["metadata"]["location"]
('AbC', 2, 'accounts/1/locations/2')
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .base import Context, Mapped, MappingError, as_id, map_each, need, need_dict, post

PLATFORM = "google"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}


def map_google(payload: Any, ctx: Context = Context()) -> Mapped:
    if isinstance(payload, list):
        return map_each(map_google, payload, ctx)
    obj = need_dict(payload, "a Google Business Profile payload")
    if isinstance(obj.get("reviews"), list):
        return map_each(map_google, obj["reviews"], ctx)
    if "reviewId" not in obj and "starRating" not in obj:
        raise MappingError("unknown_shape", "not a Google Business Profile review (no `reviewId` or `starRating`)")
    rid = as_id(obj.get("reviewId") or str(need(obj, "name")).rsplit("/", 1)[-1], "reviewId")
    comment = obj.get("comment")
    if not isinstance(comment, str) or not comment.strip():
        return Mapped(skipped=[f"review {rid}: a {STARS.get(obj.get('starRating'), '?')}-star rating without a comment"])
    reviewer = need_dict(obj.get("reviewer") or {}, "reviewer")
    name = reviewer.get("displayName")
    photo = reviewer.get("profilePhotoUrl")
    author = urlsplit(photo).path.strip("/") if isinstance(photo, str) and photo else None
    author = author or (f"name:{name}" if name and not reviewer.get("isAnonymous") else f"anonymous:{rid}")
    location = str(obj.get("name") or "").rpartition("/reviews/")[0] or None
    return Mapped(posts=[post(
        id=rid,
        platform=PLATFORM,
        text=comment,
        created_at=need(obj, "createTime"),
        author_id=author,
        handle=name if not reviewer.get("isAnonymous") else None,
        brand=ctx.brand,
        metadata={"rating": STARS.get(obj.get("starRating")), "rating_max": 5, "location": location,
                  "updated_at": obj.get("updateTime"), "replied": True if obj.get("reviewReply") else None},
    )])
