"""The sink contract as an executable check, like ``classifiers.checks.check_classifier``: run
``check_sink(sink)`` in a sink plugin's own tests.

It delivers a plain alert, hostile ones (control and bidi characters, mrkdwn
and HTML injection, 20,000 characters, missing optional fields) and the same
alert twice; it sends every kind of follow-up with and without the alert's
ref, a digest, a surge and a kind the sink does not know. Each must come
back as :class:`sinks.base.Delivered`. With ``broken`` (the same sink type
wired to a receiver that fails), every failure must be a
:class:`sinks.base.DeliveryError` that says whether to retry and carries no
secret. An :class:`AssertionError` names the broken promise.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from typing import Any

from .base import Delivered, DeliveryError, Sink

__all__ = ["FOLLOW_UP_KINDS", "check_sink", "sample_alert", "sample_notices"]

FOLLOW_UP_KINDS = ("warning", "breach", "escalation", "reminder", "acknowledged", "resolved")


def sample_alert(alert_id: str = "al-0123456789abcdef01234567", **post: Any) -> dict[str, Any]:
    """An alert in its wire form, as the delivery agent hands it to sinks."""
    return {
        "v": 1, "alert_id": alert_id, "window_s": 3600, "deadline": "2026-11-23T10:00:00Z", "priority": "P2",
        "reasons": ["complaint: 1 h response window (policy for complaint posts)"], "receivers": ["desk"],
        "raised_at": "2026-11-23T09:00:05Z", "history": "2nd complaint in 7 days", "recent_labels": ["complaint"],
        "keyword_classes": [], "uncertain": False,
        "post": {
            "id": "p1", "platform": "twitter", "text": "My parcel is two weeks late and nobody answers.",
            "created_at": "2026-11-23T09:00:00Z", "url": "https://example.com/p/1", "lang": "en", "brand": "acme",
            "author": {"id": "u1", "handle": "@ana", "followers": 1200, "verified": False}, "in_reply_to": None,
            "metadata": None, "received_at": "2026-11-23T09:00:01.000+00:00", **post,
        },
        "classification": {
            "label": "complaint", "confidence": 0.93, "lang": "en", "model": "e5-head", "model_version": "1",
            "scores": {"complaint": 0.93, "question": 0.03, "praise": 0.01, "suggestion": 0.02, "other": 0.01},
        },
    }


def _hostile() -> list[dict[str, Any]]:
    bare = sample_alert("al-bare", url=None, lang=None, brand=None)
    bare["post"]["author"] = {"id": "u2"}
    bare["classification"]["lang"] = None
    return [
        sample_alert("al-inject", text="<!channel> <@U1> <https://evil|safe> **bold** <b>x</b> \x1b[2J\u202eevil\u202c",
                     author={"id": "u3", "handle": "@x\r\nBcc: victim@example.com", "followers": 0, "verified": True}),
        sample_alert("al-long", text="überlang 🚀 " * 2000, url="javascript:alert(1)"),
        bare,
    ]


def sample_notices(alert: dict[str, Any]) -> list[dict[str, Any]]:
    """One follow-up of each kind about ``alert``, a digest, a surge and a kind no sink knows."""
    base = {"v": 1, "at": "2026-11-23T09:45:00Z", "actor": "monitor", "detail": {}}
    notices = [
        {**base, "notice_id": f"{alert['alert_id']}:{kind}", "kind": kind, "receivers": ["desk"],
         "summary": f"{kind}: 15 min left", "alert": copy.deepcopy(alert)}
        for kind in FOLLOW_UP_KINDS
    ]
    entry = {"alert_id": alert["alert_id"], "label": "praise", "priority": "P4", "text": "love it <b>", "url": None,
             "lang": "en", "author": "@ana"}
    notices.append({**base, "notice_id": "digest:desk:1", "kind": "digest", "receivers": ["desk"], "alert": None,
                    "summary": "Digest: 2 alerts", "detail": {"entries": [entry, {**entry, "label": "suggestion"}], "dropped": 0}})
    notices.append({**base, "notice_id": "surge:all:1", "kind": "surge", "receivers": ["desk"], "alert": None,
                    "summary": "complaints surge: 40 in the last hour", "detail": {
                        "scope": "all", "count": 40, "baseline_mean": 3.0, "baseline_sd": 1.0,
                        "top_terms": [["late", 12], ["refund", 7]], "samples": ["where is my parcel", "<!here> refund"]}})
    notices.append({**base, "notice_id": "odd:1", "kind": "something-new", "receivers": ["desk"], "alert": None,
                    "summary": "a kind this sink has never seen"})
    return notices


def _fail(sink: Sink, promise: str, detail: object = "") -> AssertionError:
    return AssertionError(f"{type(sink).__name__} ({sink.name}): {promise}" + (f": {detail}" if detail != "" else ""))


async def _delivered(sink: Sink, what: str, call: Any) -> Delivered:
    try:
        result = await call
    except DeliveryError as exc:
        raise _fail(sink, f"{what} failed against a working receiver", exc) from exc
    if not isinstance(result, Delivered):
        raise _fail(sink, f"{what} must return Delivered", repr(result))
    if result.ref is not None and not isinstance(result.ref, str):
        raise _fail(sink, f"{what}: Delivered.ref must be a string or None", repr(result.ref))
    return result


async def _check(sink: Sink, secrets: Sequence[str], broken: Sink | None) -> None:
    if not isinstance(sink, Sink):
        raise _fail(sink, "must subclass sinks.base.Sink")
    if not isinstance(sink.name, str) or not sink.name:
        raise _fail(sink, "name must be a non-empty string")
    for secret in secrets:
        if secret and secret in repr(sink):
            raise _fail(sink, "repr() must not show a secret")
    await sink.start()
    try:
        alert = sample_alert()
        first = await _delivered(sink, "deliver", sink.deliver(copy.deepcopy(alert)))
        await _delivered(sink, "delivering the same alert again (at-least-once)", sink.deliver(copy.deepcopy(alert)))
        for hostile in _hostile():
            await _delivered(sink, f"deliver of a hostile alert ({hostile['alert_id']})", sink.deliver(hostile))
        for notice in sample_notices(alert):
            refs = (first.ref, None) if notice["alert"] else (None,)
            for ref in refs:
                await _delivered(sink, f"follow_up({notice['kind']!r}, ref={ref!r})", sink.follow_up(copy.deepcopy(notice), ref))
    finally:
        await sink.close()
    if broken is not None:
        await _check_failures(broken, secrets)


async def _check_failures(sink: Sink, secrets: Sequence[str]) -> None:
    await sink.start()
    try:
        calls = [("deliver", lambda: sink.deliver(sample_alert()))]
        if type(sink).follow_up is not Sink.follow_up:  # the default sends nothing, so cannot fail
            resolved = next(n for n in sample_notices(sample_alert()) if n["kind"] == "resolved")
            calls.append(("follow_up", lambda: sink.follow_up(resolved, "ref-1")))
        for what, call in calls:
            try:
                await call()
            except DeliveryError as exc:
                if not isinstance(exc.retryable, bool):
                    raise _fail(sink, f"{what}: DeliveryError.retryable must be a bool") from exc
                if any(secret and secret in str(exc) for secret in secrets):
                    raise _fail(sink, f"{what}: a failure's message must not carry a secret") from exc
            except Exception as exc:
                raise _fail(sink, f"{what} against a failing receiver must raise DeliveryError", repr(exc)) from exc
            else:
                raise _fail(sink, f"{what} against a failing receiver reported success")
    finally:
        await sink.close()


def check_sink(sink: Sink, *, secrets: Sequence[str] = (), broken: Sink | None = None) -> None:
    """Run the contract on ``sink`` (and its failures on ``broken``); raises AssertionError naming what broke."""
    asyncio.run(_check(sink, secrets, broken))
