"""What we know of an author from their recent posts: the context a support person wants beside an alert.

The state per author is a plain dict (a faust table value, recovered from its
changelog after a restart): first and last seen, platforms, and the labels of
their posts with times, pruned to the policy's ``history.keep`` window. It
feeds the modifiers (a repeat complainer gets a tighter window) and the one
line each alert carries ("3rd complaint in 7 days").

>>> ctx = new_context()
>>> for day in (1, 3, 5):
...     ctx = record_post(ctx, at=day * 86400.0, label="complaint", platform="x", keep_s=30 * 86400)
>>> summary(ctx, now=5 * 86400.0, label="complaint")
'3rd complaint in 7 days'
"""

from __future__ import annotations

from typing import Any

WEEK_S = 7 * 86400
MAX_POSTS = 500
"""A bound on remembered posts per author, so one prolific account cannot grow a table value without limit."""


def new_context() -> dict[str, Any]:
    return {"first_seen": None, "last_seen": None, "platforms": [], "posts": []}


def record_post(ctx: dict[str, Any] | None, at: float, label: str, platform: str, keep_s: float) -> dict[str, Any]:
    """A new context with this post counted; posts older than ``keep_s`` dropped. The input is not changed."""
    ctx = ctx or new_context()
    posts = [p for p in ctx.get("posts", []) if at - p[0] < keep_s]
    posts.append([at, label])
    posts.sort(key=lambda p: p[0])
    platforms = list(ctx.get("platforms", []))
    if platform not in platforms:
        platforms.append(platform)
    first = ctx.get("first_seen")
    return {
        "first_seen": at if first is None else min(first, at),
        "last_seen": at if ctx.get("last_seen") is None else max(ctx["last_seen"], at),
        "platforms": platforms,
        "posts": posts[-MAX_POSTS:],
    }


def count(ctx: dict[str, Any], label: str, now: float, within_s: float) -> int:
    """Posts with ``label`` in the ``within_s`` before ``now`` (inclusive of now)."""
    return sum(1 for at, lab in ctx.get("posts", []) if lab == label and 0 <= now - at <= within_s)


def recent_labels(ctx: dict[str, Any], n: int) -> list[str]:
    """Labels of the last ``n`` posts, newest first."""
    return [label for _, label in reversed(ctx.get("posts", [])[-n:])] if n else []


def ordinal(n: int) -> str:
    """English ordinals for the history line.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def summary(ctx: dict[str, Any], now: float, label: str) -> str:
    """One line for the alert, saying the most useful thing first: a repeat, a fan, or a first contact."""
    posts = ctx.get("posts", [])
    same_week = count(ctx, label, now, WEEK_S)
    if same_week >= 2:
        return f"{ordinal(same_week)} {label} in 7 days"
    praised = sum(1 for _, lab in posts if lab == "praise")
    if praised >= 2:
        return f"praised us {praised} times" + (f"; now a {label}" if label != "praise" else "")
    if len(posts) <= 1:
        return "first post we have seen from this author"
    days = max(1, round((now - posts[0][0]) / 86400))
    return f"{len(posts)} posts in {days} day" + ("s" if days != 1 else "")
