"""The worker's HTTP API for posts: ``POST /posts``, ``POST /corrections``, ``/healthz``, ``/readyz`` and ``/metrics``.

``POST /posts`` takes one post or a JSON array of posts. Either every post is
valid and all are published (202, with their ids, once the broker has
confirmed them; 503 with ``Retry-After`` when it does not in time), or none is published and
the answer lists each rejection (400, or 413 when a size limit was the
problem); rejected posts also go to the dead-letter topic, so bad input is
never silently dropped even when the client ignores the answer.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any

from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import metrics
from ..core.corrections import InvalidCorrection, parse_correction
from ..core.records import utcnow
from ..core.steps import dead_letter
from ..core.validation import InvalidPost, decode_json, validate_post
from ..runtime import Runtime

__all__ = ["authorised", "check_batch", "register"]


def authorised(header: str | None, token: str | None) -> bool:
    """Constant-time bearer-token check; no token configured means the endpoint is open.

    >>> authorised(None, None), authorised("Bearer s3cret", "s3cret"), authorised("Bearer nope", "s3cret")
    (True, True, False)
    """
    if not token:
        return True
    if not header or header[:7].lower() != "bearer ":
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


def check_batch(body: bytes, max_request_bytes: int, max_post_bytes: int) -> tuple[list[tuple[str, bytes]], list[dict[str, Any]]]:
    """Validate a request body: ((key, bytes) per accepted post, rejections with index, code, reason)."""
    try:
        decoded = decode_json(body, max_request_bytes)
    except InvalidPost as exc:
        return [], [{"index": None, "code": exc.code, "reason": exc.reason}]
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items:
        return [], [{"index": None, "code": "missing_field", "reason": "empty array: no posts"}]
    accepted: list[tuple[str, bytes]] = []
    rejected: list[dict[str, Any]] = []
    for index, obj in enumerate(items):
        raw = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        try:
            if len(raw) > max_post_bytes:
                raise InvalidPost("too_large", f"{len(raw)} bytes is over the {max_post_bytes}-byte limit")
            post = validate_post(obj)
        except InvalidPost as exc:
            rejected.append({"index": index, "code": exc.code, "reason": exc.reason, "raw": raw})
            continue
        accepted.append((post.key, raw))
    return accepted, rejected


def register(rt: Runtime) -> None:
    app, settings, posts_topic = rt.app, rt.settings, rt.topics.posts
    token = settings.api_token.get_secret_value() if settings.api_token else None

    class Posts(View):
        async def post(self, request: Request) -> Response:
            if not authorised(request.headers.get("Authorization"), token):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            length = request.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > settings.max_request_bytes:
                return self.json({"error": f"request body over {settings.max_request_bytes} bytes"}, status=413)
            body = await request.read()
            accepted, rejected = check_batch(body, settings.max_request_bytes, settings.max_post_bytes)
            if rejected:
                metrics.POSTS_RECEIVED.labels("http").inc(len(accepted) + len(rejected))
                for item in rejected:
                    metrics.POSTS_REJECTED.labels(item["code"]).inc()
                    record = dead_letter("validate", item["code"], item["reason"], item.pop("raw", body), utcnow(), "http")
                    metrics.DEAD_LETTERS.labels("validate").inc()
                    await rt.topics.dlq.send(key=item["code"], value=record.dumps())
                status = 413 if any(item["code"] == "too_large" for item in rejected) else 400
                return self.json({"accepted": [], "rejected": rejected}, status=status)
            pending = [await posts_topic.send(key=key.encode("utf-8"), value=raw) for key, raw in accepted]
            try:
                await asyncio.wait_for(asyncio.gather(*pending), timeout=settings.publish_timeout_s)
            except Exception as exc:  # 202 only once the broker has the posts: an accepted post is never lost
                return self.json({"error": (
                    f"the broker did not confirm the posts within {settings.publish_timeout_s:g} s "
                    f"({type(exc).__name__}); send them again: post ids make a repeat harmless"
                )}, status=503, headers={"Retry-After": "5"})
            return self.json({"accepted": [key for key, _ in accepted]}, status=202)

    class Corrections(View):
        async def post(self, request: Request) -> Response:
            if not authorised(request.headers.get("Authorization"), token):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            body = await request.read()
            try:
                correction = parse_correction(decode_json(body, settings.max_post_bytes), actor="http")
            except (InvalidPost, InvalidCorrection) as exc:
                return self.json({"error": str(exc)}, status=413 if getattr(exc, "code", "") == "too_large" else 400)
            metrics.CORRECTIONS.labels(correction.right_label).inc()
            await rt.topics.corrections.send(key=correction.post_key or correction.text[:64], value=correction.dumps())
            return self.json({"accepted": True}, status=202)

    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok"})

    topic_names = [settings.topic(name) for name in ("posts", "classified", "alerts", "events", "dlq", "actions", "notices")]
    topics_checked: dict[str, float] = {}

    def missing_topics() -> list[str]:
        """Ask the broker which of the pipeline's topics exist (blocking: run in a thread)."""
        from kafka.admin import KafkaAdminClient

        from ..kafka.security import kafka_python_kwargs

        admin = KafkaAdminClient(**kafka_python_kwargs(settings), request_timeout_ms=2000, bootstrap_timeout_ms=3000,
                                 client_id="pot-ready")
        try:
            present = set(admin.list_topics())
        finally:
            admin.close()
        return [name for name in topic_names if name not in present]

    class Ready(View):
        async def get(self, request: Request) -> Response:
            problems = []
            if not app.consumer.assignment():
                problems.append("no partitions assigned yet")
            if not rt.started:
                problems.append("still starting (tables recovering)")
            child = getattr(rt.classifier, "process_", None)
            if child is not None and not child.is_alive():
                problems.append("classifier process is not running (it restarts on the next batch)")
            if time.monotonic() - topics_checked.get("at", -1e9) > 15:
                try:
                    absent = await asyncio.get_running_loop().run_in_executor(None, missing_topics)
                except Exception as exc:
                    problems.append(f"broker unreachable ({settings.broker}): {type(exc).__name__}")
                else:
                    topics_checked["at"] = time.monotonic()
                    if absent:
                        problems.append("topics missing: " + ", ".join(absent))
            if problems:
                return self.json({"status": "not ready", "problems": problems}, status=503)
            return self.json({"status": "ready"})

    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.page("/posts")(Posts)
    app.page("/corrections")(Corrections)
    app.page("/healthz")(Health)
    app.page("/readyz")(Ready)
    app.page("/metrics")(Metrics)
