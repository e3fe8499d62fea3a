"""``POST /ingest/{format}``: native payloads over HTTP, mapped, validated and published.

- ``facebook`` and ``instagram`` are Meta webhooks: ``GET`` answers the verification handshake
  (``hub.challenge`` back when ``hub.verify_token`` is ``POT_META_VERIFY_TOKEN``), and a ``POST``
  is taken only with a valid ``X-Hub-Signature-256`` (HMAC-SHA256 of the body with
  ``POT_META_APP_SECRET``). Meta retries what is not answered 200, so a delivery with some items
  that do not map still gets 200 once the rest is on the topic (those items are dead-lettered).
- every other format takes the bearer token of ``POST /posts`` and answers 202 with the keys
  accepted, the items rejected (with reasons and stage; also dead-lettered) and the items skipped; 400
  (413 for posts over ``POT_MAX_POST_BYTES``) when nothing in the body made a post.
- 503 with ``Retry-After`` when the broker does not confirm in time: nothing is acknowledged that
  is not on the topic, and post ids make a repeat harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from faust.web import Request, Response, View

from ..platforms import metrics as platform_metrics
from ..platforms.config import IntakeSecrets
from ..platforms.intake import IntakeResult, map_document, native_dead_letter
from ..platforms.meta_webhook import META_FORMATS, SIGNATURE_HEADER, handshake, verify_signature
from ..platforms.metrics import INGESTED
from ..platforms.registry import UnknownFormat, canonical_platform, get
from ..runtime import Runtime

__all__ = ["answer_status", "dead_letter_rejected", "register"]


def register(rt: Runtime, authorised: Callable[[str | None], bool]) -> None:
    """``GET``/``POST /ingest/{format}`` on the runtime's app; posts go to ``rt.topics.posts``, what does
    not map to the dead-letter topic through :meth:`Runtime.dead_letter`; creates the intake and connector
    metrics series (:func:`streams.platforms.metrics.initialise`)."""
    platform_metrics.initialise()
    app, settings, posts_topic = rt.app, rt.settings, rt.topics.posts
    secrets = IntakeSecrets()
    app_secret = secrets.meta_app_secret.get_secret_value() if secrets.meta_app_secret else None
    verify_token = secrets.meta_verify_token.get_secret_value() if secrets.meta_verify_token else None

    def known(fmt: str) -> str | None:
        try:
            get(fmt)
        except UnknownFormat:
            return None
        return canonical_platform(fmt)

    class Ingest(View):
        async def get(self, request: Request, format: str) -> Response:
            fmt = known(format)
            if fmt not in META_FORMATS:
                return self.json({"error": "GET is the Meta verification handshake; send payloads with POST"}, status=405)
            status, body = handshake(request.query, verify_token)
            return self.text(body, status=status)

        async def post(self, request: Request, format: str) -> Response:
            fmt = known(format)
            if fmt is None:
                return self.json({"error": f"unknown format {format[:40]!r}"}, status=404)
            length = request.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > settings.max_request_bytes:
                return self.json({"error": f"request body over {settings.max_request_bytes} bytes"}, status=413)
            body = await request.read()
            if fmt in META_FORMATS:
                if not app_secret:
                    return self.json({"error": "POT_META_APP_SECRET is not set: Meta deliveries cannot be checked"}, status=503)
                if not verify_signature(body, request.headers.get(SIGNATURE_HEADER), app_secret):
                    return self.json({"error": f"bad or missing {SIGNATURE_HEADER}"}, status=401)
            elif not authorised(request.headers.get("Authorization")):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            result = map_document(fmt, body, max_bytes=settings.max_request_bytes,
                                  max_post_bytes=settings.max_post_bytes)
            await dead_letter_rejected(rt, fmt, result)
            pending = [await posts_topic.send(key=post.key.encode(), value=raw) for _, post, raw in result.posts]
            try:
                await asyncio.wait_for(asyncio.gather(*pending), timeout=settings.publish_timeout_s)
            except Exception as exc:
                return self.json({"error": (
                    f"the broker did not confirm the posts within {settings.publish_timeout_s:g} s "
                    f"({type(exc).__name__}); send them again: post ids make a repeat harmless")},
                    status=503, headers={"Retry-After": "5"})
            INGESTED.labels(fmt, "accepted").inc(len(result.posts))
            INGESTED.labels(fmt, "skipped").inc(len(result.skipped))
            answer = {
                "accepted": [post.key for _, post, _ in result.posts],
                "rejected": [{"line": r.line, "code": r.code, "reason": r.reason, "stage": r.stage} for r in result.rejected],
                "skipped": [reason for _, reason in result.skipped],
            }
            if fmt in META_FORMATS:
                return self.json(answer, status=200)
            return self.json(answer, status=answer_status(result))

    app.page("/ingest/{format}")(Ingest)


def answer_status(result: IntakeResult) -> int:
    """202 when anything mapped or was skipped; when nothing did, 413 if a post was over ``POT_MAX_POST_BYTES``
    (as ``POST /posts`` answers), else 400. Meta formats are answered 200 before this is asked."""
    if result.posts or result.skipped or not result.rejected:
        return 202
    return 413 if any(r.code == "too_large" for r in result.rejected) else 400


async def dead_letter_rejected(rt: Runtime, fmt: str, result: IntakeResult) -> None:
    """Every rejected item to the dead-letter topic, its native payload kept whole (and counted)."""
    for r in result.rejected:
        INGESTED.labels(fmt, "rejected").inc()
        await rt.dead_letter(native_dead_letter(r, rt.now(), f"http /ingest/{fmt}:{r.line}"))
