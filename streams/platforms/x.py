"""X API v2: tweet objects with ``expansions=author_id`` (filtered stream messages and search pages).

A filtered-stream line holds one tweet in ``data`` and ``matching_rules``; a recent-search page
holds a list in ``data`` and ``meta``. Both carry the authors in ``includes.users``.

>>> page = {"data": [{"id": "1", "text": "hi @acme", "author_id": "7", "created_at": "2026-11-23T09:00:00.000Z"}],
...         "includes": {"users": [{"id": "7", "username": "ana", "public_metrics": {"followers_count": 12}}]}}
>>> p = map_x(page).posts[0]
>>> p["author"]["handle"], p["author"]["followers"], p["url"]
('@ana', 12, 'https://x.com/ana/status/1')
"""

from __future__ import annotations

from typing import Any

from .base import Context, Mapped, MappingError, as_id, count, need, post

PLATFORM = "x"
REQUEST_FIELDS = {
    "tweet.fields": "created_at,lang,author_id,referenced_tweets,conversation_id,note_tweet",
    "expansions": "author_id",
    "user.fields": "username,public_metrics,verified",
}
"""The query parameters that make the stream and search return what the mapper reads."""


def unescape_text(text: str) -> str:
    """X escapes ``&``, ``<`` and ``>`` in tweet text as HTML entities; nothing else.

    >>> unescape_text("fish &amp; chips &lt;3 &quot;")
    'fish & chips <3 &quot;'
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def map_x(payload: Any, ctx: Context = Context()) -> Mapped:
    if not isinstance(payload, dict) or "data" not in payload:
        if isinstance(payload, dict) and "errors" in payload:
            raise MappingError("unknown_shape", "an X error message, not a tweet: " + str(payload["errors"])[:200])
        raise MappingError("unknown_shape", "not an X API v2 response: no `data`")
    data = payload["data"]
    tweets = data if isinstance(data, list) else [data]
    users = {u.get("id"): u for u in (payload.get("includes") or {}).get("users", []) if isinstance(u, dict)}
    rules = [r.get("tag") or r.get("id") for r in payload.get("matching_rules", []) if isinstance(r, dict)]
    out = Mapped()
    for tweet in tweets:
        out.posts.append(_tweet(tweet, users, rules, ctx))
    return out


def _tweet(tweet: Any, users: dict[Any, dict[str, Any]], rules: list[Any], ctx: Context) -> dict[str, Any]:
    if not isinstance(tweet, dict):
        raise MappingError("wrong_type", "a tweet must be a JSON object")
    tid = as_id(need(tweet, "id"), "data.id")
    author_id = as_id(need(tweet, "author_id"), "data.author_id")
    user = users.get(author_id) or {}
    username = user.get("username")
    long_text = (tweet.get("note_tweet") or {}).get("text") if isinstance(tweet.get("note_tweet"), dict) else None
    text = unescape_text(long_text or need(tweet, "text"))
    reply_to = next(
        (as_id(ref.get("id"), "referenced_tweets.id") for ref in tweet.get("referenced_tweets") or []
         if isinstance(ref, dict) and ref.get("type") == "replied_to"),
        None,
    )
    return post(
        id=tid,
        platform=PLATFORM,
        text=text,
        created_at=need(tweet, "created_at"),
        author_id=author_id,
        handle=f"@{username}" if username else None,
        followers=count((user.get("public_metrics") or {}).get("followers_count")),
        verified=user.get("verified") is True,
        url=f"https://x.com/{username}/status/{tid}" if username else f"https://x.com/i/web/status/{tid}",
        lang=tweet.get("lang") if tweet.get("lang") not in (None, "und", "zxx", "qme", "qht") else None,
        in_reply_to=reply_to,
        brand=ctx.brand,
        metadata={"conversation_id": tweet.get("conversation_id"), "matching_rules": rules or None,
                  "author_name": user.get("name")},
    )
