"""``POST /slack/interactions``: the Acknowledge, Resolve and "Wrong label" buttons on Slack alerts.

Slack signs each request (HMAC-SHA256 over ``v0:timestamp:body`` with the
app's signing secret, ``POT_SLACK_SIGNING_SECRET``); a request whose
signature is wrong, or whose timestamp is more than five minutes away, is
refused with 401 before anything in it is read, so a forged or replayed click
does nothing. Slack wants an answer within three seconds: the action is put
on its topic and answered at once, and the message is updated in place when
the worker that owns the alert has applied it (``chat.update``).

The same clicks can arrive over Socket Mode instead (:mod:`streams.api.slack_socket`,
no public URL needed); both paths hand the payload to :func:`handle_interaction`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from faust.web import Request, Response, View

from sinks.settings import SlackSettings
from sinks.slack_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, SlackSignatureError, verify_slack_request

from .. import metrics
from ..agents.clock import stored_clock
from ..core.records import Correction, isoformat
from ..core.vocabulary import LABELS
from ..runtime import Runtime

__all__ = ["actor_of", "handle_interaction", "parse_interaction", "register"]

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


def parse_interaction(body: bytes) -> dict[str, Any]:
    """The ``payload`` form field of an interaction, as JSON; ``ValueError`` when absent or malformed."""
    fields = parse_qs(body.decode("utf-8"), strict_parsing=False)
    raw = fields.get("payload", [None])[0]
    if raw is None:
        raise ValueError("no payload field")
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    return payload


def actor_of(payload: dict[str, Any]) -> str:
    user = payload.get("user") or {}
    name = user.get("username") or user.get("name") or user.get("id") or "unknown"
    return "slack:" + "".join(ch for ch in str(name)[:80] if ch.isprintable())


async def handle_interaction(rt: Runtime, payload: dict[str, Any]) -> None:
    """Apply every action of one interaction payload (a ``block_actions`` click), whichever way it came."""
    actor = actor_of(payload)
    for action in payload.get("actions") or []:
        if isinstance(action, dict):
            await _handle(rt, action, actor)


async def _handle(rt: Runtime, action: dict[str, Any], actor: str) -> None:
    action_id = action.get("action_id")
    if action_id in ("pot_ack", "pot_resolve"):
        alert_id = str(action.get("value") or "")[:64]
        assert rt.act is not None
        await rt.act(alert_id, "ack" if action_id == "pot_ack" else "resolve", actor, wait=False)
    elif action_id == "pot_relabel":
        value = str(((action.get("selected_option") or {}).get("value")) or "")
        alert_id, _, label = value.partition("|")
        if label not in LABELS:
            return
        clock = stored_clock(rt.tables.clocks.get(alert_id))
        alert = (clock.alert if clock is not None else None) or {}
        post = alert.get("post") or {}
        if not post.get("text"):
            log.info("wrong-label click for %s, which this worker does not hold", alert_id)
            return
        correction = Correction(
            text=post["text"], right_label=label, actor=actor, at=isoformat(rt.now()),
            post_key=f"{post['platform']}:{post['id']}", alert_id=alert_id,
            wrong_label=(alert.get("classification") or {}).get("label"),
            lang=(alert.get("classification") or {}).get("lang"),
        )
        metrics.CORRECTIONS.labels(label).inc()
        await rt.topics.corrections.send(key=correction.post_key, value=correction.dumps())


def register(rt: Runtime, slack: SlackSettings | None = None) -> None:
    app = rt.app
    slack = slack or rt.settings.slack
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else None

    class Interactions(View):
        async def post(self, request: Request) -> Response:
            if secret is None:
                return self.json({"error": "Slack interactivity is off: set POT_SLACK_SIGNING_SECRET"}, status=404)
            body = await request.read()
            if len(body) > MAX_BODY:
                return self.json({"error": "too large"}, status=413)
            try:
                verify_slack_request(
                    secret, request.headers.get(TIMESTAMP_HEADER), body, request.headers.get(SIGNATURE_HEADER), now=time.time()
                )
            except SlackSignatureError as exc:
                log.warning("refused a Slack request: %s", exc.reason)
                return self.json({"error": "invalid signature"}, status=401)
            try:
                payload = parse_interaction(body)
            except (ValueError, UnicodeDecodeError):
                return self.json({"error": "not an interaction payload"}, status=400)
            await handle_interaction(rt, payload)
            return self.json({})

    app.page("/slack/interactions")(Interactions)
