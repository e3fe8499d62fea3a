"""Bluesky: Jetstream ``commit`` events of the ``app.bsky.feed.post`` collection.

The post id is the record's AT URI (``at://DID/app.bsky.feed.post/RKEY``), the form replies name
their parent in, so ``in_reply_to`` matches the id of the post replied to. Jetstream carries no
handle or follower count: they come from ``app.bsky.actor.getProfile`` answers in the context
(a connector looks them up and caches them); without one the handle is unknown and followers 0.

>>> ev = {"did": "did:plc:abc", "time_us": 1725911162329308, "kind": "commit",
...       "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "3l3q",
...                  "record": {"text": "hi", "createdAt": "2024-09-09T19:46:02.102Z", "langs": ["en"]}}}
>>> p = map_bluesky(ev, Context(profiles={"did:plc:abc": {"handle": "ana.bsky.social", "followersCount": 5}})).posts[0]
>>> p["id"], p["author"]["handle"], p["url"]
('at://did:plc:abc/app.bsky.feed.post/3l3q', '@ana.bsky.social', 'https://bsky.app/profile/did:plc:abc/post/3l3q')
"""

from __future__ import annotations

from typing import Any

from .base import Context, Mapped, MappingError, as_id, count, epoch_to_iso, need, need_dict, post

PLATFORM = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
_OPERATIONS = {"c": "create", "u": "update", "d": "delete"}  # the first Jetstream releases wrote one letter


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def map_bluesky(payload: Any, ctx: Context = Context()) -> Mapped:
    event = need_dict(payload, "a Jetstream event")
    kind = event.get("kind") or {"com": "commit", "id": "identity", "acc": "account"}.get(event.get("type"))
    if kind in ("identity", "account"):
        return Mapped(skipped=[f"{kind} event: not a post"])
    if kind != "commit":
        raise MappingError("unknown_shape", "not a Jetstream event: `kind` is not commit, identity or account")
    did = as_id(need(event, "did"), "did")
    commit = need_dict(need(event, "commit"), "commit")
    operation = commit.get("operation") or _OPERATIONS.get(commit.get("type"), commit.get("type"))
    rkey = as_id(need(commit, "rkey"), "commit.rkey")
    if commit.get("collection") != POST_COLLECTION:
        return Mapped(skipped=[f"{commit.get('collection')} record: not a post"])
    if operation == "delete":
        return Mapped(skipped=[f"post {post_uri(did, rkey)} deleted (a post already sent stays)"])
    if operation not in ("create", "update"):
        raise MappingError("unknown_shape", f"unknown commit operation {str(operation)[:20]!r}")
    record = need_dict(need(commit, "record"), "commit.record")
    profile = ctx.profiles.get(did) or {}
    handle = profile.get("handle")
    langs = record.get("langs")
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri") if isinstance(record.get("reply"), dict) else None
    mentions = [
        feature.get("did")
        for facet in record.get("facets") or [] if isinstance(facet, dict)
        for feature in facet.get("features") or []
        if isinstance(feature, dict) and feature.get("$type") == "app.bsky.richtext.facet#mention"
    ]
    verification = profile.get("verification") if isinstance(profile.get("verification"), dict) else {}
    return Mapped(posts=[post(
        id=post_uri(did, rkey),
        platform=PLATFORM,
        text=need(record, "text"),
        created_at=need(record, "createdAt"),
        author_id=did,
        handle=f"@{handle}" if handle and handle != "handle.invalid" else None,
        followers=count(profile.get("followersCount")),
        verified=verification.get("verifiedStatus") == "valid",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        lang=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        in_reply_to=parent if isinstance(parent, str) else None,
        brand=ctx.brand,
        metadata={"time_us": event.get("time_us"), "cid": commit.get("cid"), "mentions": mentions or None,
                  "edited": True if operation == "update" else None, "author_name": profile.get("displayName") or None,
                  "seen_at": epoch_to_iso(event["time_us"], unit="us") if isinstance(event.get("time_us"), int) else None},
    )])
