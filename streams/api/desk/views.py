"""The desk's pages on the worker's web server: the queue, an alert with its trail, the actions, login, reports.

=========================================  ===============================================================
``GET  /desk``                             open alerts, most urgent first, filters; live via ``/desk/rows``
``GET  /desk/rows``                        the queue's rows (JSON: a change key and, when changed, HTML)
``GET  /desk/alerts/{id}``                 one alert: the post, its author, reasons, buttons, the event trail
``POST /desk/alerts/{id}/{ack|resolve|relabel}``   the buttons (CSRF token); the user is the event's actor
``GET|POST /desk/login``, ``POST /desk/logout``    users-file login (or a trusted header from a proxy)
``GET  /desk/reports[.png|.csv|.json]``    response times per group and week (:mod:`streams.core.reports`)
``GET  /desk/static/{file}``               the page's CSS and JS (no inline script: a strict CSP holds)
=========================================  ===============================================================

Every page and action needs a user; customer text is escaped by the templates (autoescape).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import faust
from faust.web import Request, Response, View

from ...core.vocabulary import LABELS
from ...kafka.queue_view import FILTERS
from .auth import valid_username
from .common import HEADERS, MESSAGES, SESSION_COOKIE, STATES, DeskContext, Who, parse_filters, row_of, safe_next, with_message
from .render import render

__all__ = ["parse_filters", "register_views", "row_of", "safe_next"]


def register_views(app: faust.App, ctx: DeskContext) -> None:
    desk = ctx.desk

    class DeskView(View):
        """Shared by the desk's pages: who is asking, security headers, cookies."""

        def secure(self, response: Response, who: Who | None = None) -> Response:
            for name, value in HEADERS.items():
                response.headers[name] = value
            if who is not None and who.new_cookie:
                self.set_session(response, who.new_cookie)
            return response

        def set_session(self, response: Response, cookie: str) -> None:
            response.set_cookie(  # type: ignore[attr-defined]
                SESSION_COOKIE, cookie, path="/desk", httponly=True, samesite="Lax", secure=desk.cookie_secure,
                max_age=desk.session_s,
            )

        def page(self, template: str, who: Who | None, status: int = 200, **context: Any) -> Response:
            csrf = ctx.keys.csrf_token(who.session) if who else ""
            body = render(template, user=who.user if who else None, csrf=csrf, header_login=bool(desk.trusted_header),
                          now=time_now(), poll_ms=int(desk.poll_s * 1000), **context)
            return self.secure(self.html(body, status=status), who)

        def go(self, location: str, who: Who | None = None) -> Response:
            return self.secure(self.text("", status=303, headers={"Location": location}), who)

        def identify(self, request: Request, posting: bool = False) -> Who | Response:
            """The user, or the response to send instead (login page, 401/403/503)."""
            if not desk.login_configured:
                return self.secure(self.html(render("off.html", user=None, header_login=False), status=503))
            now = time.time()
            session = ctx.keys.session(request.cookies.get(SESSION_COOKIE), now)
            if desk.trusted_header:
                user = (request.headers.get(desk.trusted_header) or "").strip()
                if not valid_username(user):
                    return self.secure(self.html(render("denied.html", user=None, header_login=True,
                                                        reason="The authenticating proxy did not say who you are."), status=401))
                if session is not None and session.user == user:
                    return Who(user, session)
                if posting:
                    return self.forbidden()
                cookie = ctx.keys.session_cookie(user, now, desk.session_s)
                return Who(user, ctx.keys.session(cookie, now), cookie)  # type: ignore[arg-type]
            if session is None or session.user not in ctx.users.names():
                if posting:
                    return self.forbidden()
                return self.go("/desk/login?" + urlencode({"next": safe_next(request.path_qs)}))
            return Who(session.user, session)

        def forbidden(self) -> Response:
            return self.secure(self.html(render("denied.html", user=None, header_login=bool(desk.trusted_header),
                                                reason="This form has expired or did not come from the desk: reload the page and try again."),
                                         status=403))

        async def form(self, request: Request) -> tuple[Who | None, Mapping[str, str], Response | None]:
            """A posted form from a logged-in user with a valid CSRF token and a same-origin ``Origin``."""
            who = self.identify(request, posting=True)
            if not isinstance(who, Who):
                return None, {}, who
            origin = request.headers.get("Origin")
            if origin and origin != "null" and origin.split("://", 1)[-1] != request.host:
                return None, {}, self.forbidden()
            data = await request.post()
            if not ctx.keys.csrf_ok(who.session, data.get("csrf")):  # type: ignore[arg-type]
                return None, {}, self.forbidden()
            return who, data, None  # type: ignore[return-value]

    def time_now() -> float:
        return ctx.now().timestamp()

    class Queue(DeskView):
        async def get(self, request: Request) -> Response:
            who = self.identify(request)
            if not isinstance(who, Who):
                return who
            now = time_now()
            query = {name: request.query.get(name, "") for name in FILTERS}
            kept = urlencode([(name, value) for name, value in query.items() if value])
            rows = [row_of(c, now) for c in ctx.queue.rows(now, parse_filters(request.query))]
            return self.page(
                "queue.html", who, rows=rows, query=query, choices=ctx.queue.choices(), states=list(STATES),
                labels=LABELS, key=rows_key(request.query, now), ready=ctx.queue.ready,
                message=MESSAGES.get(request.query.get("msg", ""), ""), here="/desk" + (f"?{kept}" if kept else ""),
            )

    def rows_key(query: Mapping[str, str], now: float) -> str:
        filters = "&".join(f"{n}={query.get(n, '')}" for n in FILTERS)
        raw = f"{ctx.queue.version}|{ctx.queue.ready}|{int(now // 60)}|{filters}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    class Rows(DeskView):
        async def get(self, request: Request) -> Response:
            who = self.identify(request)
            if not isinstance(who, Who):
                return self.secure(self.json({"login": True}, status=401))
            now = time_now()
            key = rows_key(request.query, now)
            answer: dict[str, Any] = {"key": key, "now": now, "ready": ctx.queue.ready}
            if request.query.get("key") != key:
                rows = [row_of(c, now) for c in ctx.queue.rows(now, parse_filters(request.query))]
                here = safe_next(request.query.get("here"))
                answer["html"] = render("rows.html", rows=rows, csrf=ctx.keys.csrf_token(who.session), labels=LABELS,
                                        here=here, now=now)
                answer["count"] = len(rows)
            return self.secure(self.json(answer), who)

    class AlertPage(DeskView):
        async def get(self, request: Request, alert_id: str) -> Response:
            who = self.identify(request)
            if not isinstance(who, Who):
                return who
            now = time_now()
            clock = ctx.queue.get(alert_id)
            trail = ctx.events.trail(alert_id)
            if clock is None and not trail:
                return self.page("missing.html", who, status=404, alert_id=alert_id, ready=ctx.queue.ready)
            return self.page(
                "alert.html", who, row=row_of(clock, now) if clock else None, alert_id=alert_id, trail=trail,
                labels=LABELS, message=MESSAGES.get(request.query.get("msg", ""), ""), here=request.path,
            )

    class AlertAction(DeskView):
        async def post(self, request: Request, alert_id: str, verb: str) -> Response:
            who, data, refused = await self.form(request)
            if refused is not None:
                return refused
            assert who is not None
            back = safe_next(data.get("next"))
            if verb == "relabel":
                label = data.get("right_label")
                clock = ctx.queue.get(alert_id)
                if label not in LABELS or clock is None:
                    return self.go(with_message(back, "unknown"), who)
                await ctx.relabel(clock, str(label), who.user)
                return self.go(with_message(back, "relabelled"), who)
            if verb not in ("ack", "resolve"):
                return self.secure(self.text("use ack, resolve or relabel", status=404), who)
            code = await act(alert_id, verb, who.user)
            return self.go(with_message(back, code), who)

    async def act(alert_id: str, verb: str, user: str) -> str:
        """Acknowledge or resolve through the worker's own path (``streams.api_alerts``); a short wait for the
        change to reach this worker's view, so the page it returns to shows it."""
        from ...core import sla
        from ...core.vocabulary import ClockState

        known = ctx.queue.get(alert_id)
        if known is None and ctx.queue.ready:
            return "unknown"  # the view holds every partition's alerts: no worker has this one
        if known is not None:
            _, preview = sla.apply(ClockState.from_dict(known), {"kind": verb, "actor": user}, time_now())
            if preview.status in ("already_acknowledged", "already_resolved"):
                return preview.status
        answer, status = await ctx.act(alert_id, verb, user)
        text = str(answer.get("status", ""))
        if status == 404:
            return "unknown"
        code = {"acknowledged": "acknowledged", "resolved": "resolved", "already acknowledged": "already_acknowledged",
                "already resolved": "already_resolved"}.get(text, "sent")
        done = "acknowledged" if verb == "ack" else "resolved"
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            state = (ctx.queue.get(alert_id) or {}).get("state")
            if state == done or (verb == "ack" and state == "resolved"):
                return done
            await asyncio.sleep(0.05)
        return code

    app.page("/desk")(Queue)
    app.page("/desk/rows")(Rows)
    app.page("/desk/alerts/{alert_id}")(AlertPage)
    app.page("/desk/alerts/{alert_id}/{verb}")(AlertAction)

    from .pages import register_pages

    register_pages(app, ctx, DeskView)
