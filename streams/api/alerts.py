"""The desk's HTTP API: list alerts, acknowledge and resolve them, and manage silences.

``POST /alerts/{id}/ack`` and ``/resolve`` (bearer token; JSON body
``{"actor": "ana"}``) answer what happened in words: 200 ``acknowledged``,
200 ``already acknowledged`` (acks are idempotent), 409 ``already resolved``,
404 ``unknown alert``. The change itself is an action on the ``actions``
topic, applied by the worker that owns the alert's partition; the request
waits briefly for it so that the answer reflects the new state.

``GET /alerts?state=open`` lists the alerts in this worker's partitions with
time left; with several workers, ask each (or read the ``events`` topic).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from faust.web import Request, Response, View
from pydantic import ValidationError

from ..agents.clock import stored_clock
from ..core import sla
from ..core.records import Action, isoformat
from ..core.silences import Silence
from ..runtime import Runtime

__all__ = ["register"]

STATES = ("open", "acknowledged", "resolved")
ACTOR_MAX = 200


def _actor(body: bytes) -> str | None:
    """The person acting, from ``{"actor": ...}``; ``None`` when the body is unusable."""
    if not body.strip():
        return "http"
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    actor = obj.get("actor", "http") if isinstance(obj, dict) else None
    if not isinstance(actor, str) or not actor.strip() or len(actor) > ACTOR_MAX:
        return None
    return "".join(ch for ch in actor.strip() if ch.isprintable())


def register(rt: Runtime, authorised: Any) -> None:
    app, settings = rt.app, rt.settings
    clocks, actions, clock = rt.tables.clocks, rt.topics.actions, rt.clock

    def owns_everything() -> bool:
        topic = actions.get_topic_name()
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
        return mine >= set(range(settings.partitions))

    class Alerts(View):
        async def get(self, request: Request) -> Response:
            state = request.query.get("state")
            if state is not None and state not in STATES:
                return self.json({"error": f"state must be one of {', '.join(STATES)}"}, status=400)
            now = clock.time()
            states = [stored_clock(c) for c in list(clocks.values())]
            rows = [sla.view(c, now) for c in states if c is not None and (state is None or c.state == state)]
            rows.sort(key=lambda r: r["seconds_left"])
            return self.json({"alerts": rows, "complete": owns_everything(), "now": isoformat(clock.now())})

    class AlertAction(View):
        async def post(self, request: Request, alert_id: str, verb: str) -> Response:
            if not authorised(request.headers.get("Authorization")):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            if verb not in ("ack", "resolve"):
                return self.json({"error": "use /alerts/{id}/ack or /alerts/{id}/resolve"}, status=404)
            actor = _actor(await request.read())
            if actor is None:
                return self.json({"error": "body must be JSON like {\"actor\": \"your name\"}"}, status=400)
            answer, status = await act(alert_id, verb, actor)
            return self.json(answer, status=status)

    async def act(alert_id: str, verb: str, actor: str, wait: bool = True) -> tuple[dict[str, Any], int]:
        current = stored_clock(clocks.get(alert_id))
        if current is None and owns_everything():
            return {"status": "unknown alert", "alert_id": alert_id}, 404
        if current is not None:
            _, preview = sla.apply(current, {"kind": verb, "actor": actor}, clock.time())
            if preview.status == "already_resolved":
                return {"status": "already resolved", "alert_id": alert_id, **_who(preview.detail)}, 409
            if preview.status == "already_acknowledged":
                return {"status": "already acknowledged", "alert_id": alert_id, **_who(preview.detail)}, 200
        await actions.send(key=alert_id, value=Action(alert_id=alert_id, kind=verb, at=isoformat(clock.now()), actor=actor).dumps())
        if current is None or not wait:
            return {"status": "sent to the worker that owns this alert", "alert_id": alert_id}, 202
        done = "acknowledged" if verb == "ack" else "resolved"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            state = (clocks.get(alert_id) or {}).get("state")
            if state == done or (verb == "ack" and state == "resolved"):
                return {"status": done, "alert_id": alert_id, "by": actor}, 200
            await asyncio.sleep(0.05)
        return {"status": f"{done} requested; not applied yet", "alert_id": alert_id}, 202

    class Silences(View):
        async def get(self, request: Request) -> Response:
            now = clock.time()
            rows = [s.model_dump() | {"active": s.active(now)} for s in rt.silences.values()]
            if request.query.get("all") not in ("1", "true"):
                rows = [r for r in rows if r["ends_at"] > now]
            return self.json({"silences": sorted(rows, key=lambda r: r["ends_at"])})

        async def post(self, request: Request) -> Response:
            if not authorised(request.headers.get("Authorization")):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            body = await request.read()
            if len(body) > 16 * 1024:
                return self.json({"error": "silence over 16 KiB"}, status=413)
            try:
                obj = json.loads(body)
                if not isinstance(obj, dict):
                    raise ValueError("a JSON object is needed")
                now = clock.time()
                duration = float(obj.pop("duration_s", 0) or 0)
                obj.setdefault("starts_at", now)
                if duration:
                    obj["ends_at"] = obj["starts_at"] + duration
                silence = Silence.model_validate(obj)
            except (ValueError, ValidationError, TypeError) as exc:
                first = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                return self.json({"error": f"invalid silence: {first}"}, status=400)
            if silence.ends_at <= silence.starts_at:
                return self.json({"error": "invalid silence: it must end after it starts (give duration_s or ends_at)"}, status=400)
            await rt.topics.silences.send(key=silence.id, value=silence.model_dump())
            return self.json({"silence": silence.model_dump()}, status=201)

    class SilenceItem(View):
        async def delete(self, request: Request, silence_id: str) -> Response:
            if not authorised(request.headers.get("Authorization")):
                return self.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
            silence = rt.silences.get(silence_id)
            if silence is None:
                return self.json({"error": f"no silence {silence_id}"}, status=404)
            ended = silence.model_copy(update={"ends_at": min(silence.ends_at, clock.time())})
            await rt.topics.silences.send(key=silence.id, value=ended.model_dump())
            return self.json({"silence": ended.model_dump(), "status": "expired"})

    app.page("/alerts")(Alerts)
    app.page("/alerts/{alert_id}/{verb}")(AlertAction)
    app.page("/silences")(Silences)
    app.page("/silences/{silence_id}")(SilenceItem)
    rt.act = act


def _who(detail: dict[str, Any]) -> dict[str, Any]:
    at = detail.get("at")
    return {"by": detail.get("by"), "at": isoformat_epoch(at) if at else None}


def isoformat_epoch(at: float) -> str:
    from datetime import datetime, timezone

    return isoformat(datetime.fromtimestamp(at, timezone.utc))
