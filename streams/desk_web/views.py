"""The desk's pages on the worker's web server: the queue, an alert with its trail, the actions, login, reports.

=========================================  ===============================================================
``GET  /desk``                             open alerts, most urgent first, filters; live via ``/desk/rows``
``GET  /desk/rows``                        the queue's rows (JSON: a change key and, when changed, HTML)
``GET  /desk/alerts/{id}``                 one alert: the post, its author, reasons, buttons, the event trail
``POST /desk/alerts/{id}/{ack|resolve|relabel}``   the buttons (CSRF token); the user is the event's actor
``GET|POST /desk/login``, ``POST /desk/logout``    users-file login (or a trusted header from a proxy)
``GET  /desk/reports[.png|.csv|.json]``    response times per group and week (:mod:`streams.reports`)
``GET  /desk/static/{file}``               the page's CSS and JS (no inline script: a strict CSP holds)
=========================================  ===============================================================

Every page and action needs a user; customer text is escaped by the templates (autoescape).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlencode

import faust
from faust.web import Request, Response, View

from .. import reports
from ..config import LABELS
from ..queue_view import FILTERS, EventLog, QueueView, dims_of
from .auth import DeskUsers, Keys, LoginThrottle, Session, valid_username
from .render import render
from .settings import DeskSettings

log = logging.getLogger(__name__)

SESSION_COOKIE = "pot_desk"
LOGIN_COOKIE = "pot_desk_login"
STATES = {"active": ("open", "acknowledged"), "open": ("open",), "acknowledged": ("acknowledged",),
          "resolved": ("resolved",), "all": ("open", "acknowledged", "resolved")}
MESSAGES = {
    "acknowledged": "Acknowledged.", "resolved": "Resolved.", "already_acknowledged": "It was already acknowledged.",
    "already_resolved": "It was already resolved.", "sent": "Sent to the worker that owns this alert.",
    "relabelled": "Thank you: the correction is recorded.", "unknown": "No such alert.", "csrf": "",
    "logged_out": "You are logged out.",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
REPORT_SINCE = ("1d", "7d", "14d", "30d", "90d")
_plot_lock = threading.Lock()


@dataclass
class DeskContext:
    """What the pages need from the worker; built by :func:`streams.desk_web.register_desk_web`."""

    desk: DeskSettings
    users: DeskUsers
    keys: Keys
    queue: QueueView
    events: EventLog
    now: Callable[[], datetime]
    act: Callable[..., Awaitable[tuple[dict[str, Any], int]]]
    relabel: Callable[[dict[str, Any], str, str], Awaitable[None]]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


@dataclass
class Who:
    user: str
    session: Session
    new_cookie: str | None = None


def safe_next(value: Any) -> str:
    """Only a path inside the desk: never an open redirect.

    >>> safe_next("/desk/alerts/al-1"), safe_next("//evil.example"), safe_next("https://evil"), safe_next(None)
    ('/desk/alerts/al-1', '/desk', '/desk', '/desk')
    """
    if not isinstance(value, str) or not value.startswith("/desk") or value.startswith("//") or "\\" in value:
        return "/desk"
    return value


def parse_filters(query: Mapping[str, str]) -> dict[str, set[str]]:
    """Query parameters to queue filters; ``state`` is one of :data:`STATES` (default ``active``)."""
    out: dict[str, set[str]] = {}
    for name in FILTERS:
        value = (query.get(name) or "").strip()
        if name == "state":
            out["state"] = set(STATES.get(value, STATES["active"]))
        elif value:
            out[name] = {value}
    return out


def row_of(clock: Mapping[str, Any], now: float) -> dict[str, Any]:
    """What a page shows of one alert, from its clock and the alert it carries."""
    alert = clock.get("alert") or {}
    post = alert.get("post") or {}
    author = post.get("author") or {}
    classification = alert.get("classification") or {}
    fired = list(clock.get("fired") or [])
    deadline = float(clock.get("deadline") or 0)
    state = clock.get("state") or "open"
    stopped_at = clock.get("acked_at") if state != "open" else None
    return {
        "id": clock.get("alert_id"), "state": state, "label": clock.get("label"), "priority": clock.get("priority"),
        "deadline": deadline, "raised_at": clock.get("raised_at"), "warn_at": clock.get("warn_at"),
        "left": deadline - now, "stopped_left": (deadline - float(stopped_at)) if stopped_at is not None else None,
        "acked_by": clock.get("acked_by"), "acked_at": clock.get("acked_at"), "resolved_by": clock.get("resolved_by"),
        "resolved_at": clock.get("resolved_at"), "fired": fired,
        "warned": "warning" in fired, "breached": "breach" in fired or (state == "open" and deadline <= now),
        "text": post.get("text") or clock.get("text") or "", "url": post.get("url"), "post_id": post.get("id"),
        "handle": author.get("handle"), "author_id": author.get("id"), "followers": author.get("followers"),
        "verified": author.get("verified"), "history": alert.get("history"), "recent_labels": alert.get("recent_labels") or [],
        "reasons": alert.get("reasons") or [], "receivers": clock.get("receivers") or [],
        "confidence": classification.get("confidence"), "model": classification.get("model"),
        "uncertain": alert.get("uncertain"), "window_s": alert.get("window_s"), **{k: v for k, v in dims_of(clock).items() if k not in ("label", "priority", "state")},
    }


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
        from .. import sla

        known = ctx.queue.get(alert_id)
        if known is None and ctx.queue.ready:
            return "unknown"  # the view holds every partition's alerts: no worker has this one
        if known is not None:
            _, preview = sla.apply(known, {"kind": verb, "actor": user}, time_now())
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

    def with_message(path: str, code: str) -> str:
        base, _, fragment = path.partition("#")
        return f"{base}{'&' if '?' in base else '?'}msg={quote(code)}" + (f"#{fragment}" if fragment else "")

    class Login(DeskView):
        async def get(self, request: Request) -> Response:
            if desk.trusted_header or not desk.login_configured:
                return self.go("/desk")
            return self.login_page(request, "")

        def login_page(self, request: Request, error: str, status: int = 200) -> Response:
            nonce = __import__("secrets").token_urlsafe(16)
            body = render("login.html", user=None, header_login=False, error=error, token=ctx.keys.login_token(nonce),
                          next=safe_next(request.query.get("next")), message=MESSAGES.get(request.query.get("msg", ""), ""))
            response = self.secure(self.html(body, status=status))
            response.set_cookie(LOGIN_COOKIE, nonce, path="/desk", httponly=True, samesite="Strict",  # type: ignore[attr-defined]
                                secure=desk.cookie_secure, max_age=3600)
            return response

        async def post(self, request: Request) -> Response:
            if desk.trusted_header or not desk.login_configured:
                return self.go("/desk")
            data = await request.post()
            if not ctx.keys.login_ok(request.cookies.get(LOGIN_COOKIE), data.get("csrf")):  # type: ignore[arg-type]
                return self.login_page(request, "The form expired: try again.", status=403)
            name = str(data.get("username") or "").strip()
            password = str(data.get("password") or "")
            address = request.remote or "?"
            if ctx.throttle.blocked(name, address):
                return self.login_page(request, "Too many failed tries: wait a minute.", status=429)
            ok = valid_username(name) and await asyncio.to_thread(ctx.users.check, name, password)
            if not ok:
                ctx.throttle.fail(name, address)
                log.warning("desk login failed for %r from %s", name[:64], address)
                return self.login_page(request, "Unknown user or wrong password.", status=401)
            cookie = ctx.keys.session_cookie(name, time.time(), desk.session_s)
            response = self.go(safe_next(data.get("next")))
            self.set_session(response, cookie)
            response.del_cookie(LOGIN_COOKIE, path="/desk")  # type: ignore[attr-defined]
            log.info("desk login: %s", name)
            return response

    class Logout(DeskView):
        async def post(self, request: Request) -> Response:
            who, _, refused = await self.form(request)
            if refused is not None:
                return refused
            response = self.go("/desk/login?msg=logged_out")
            response.del_cookie(SESSION_COOKIE, path="/desk")  # type: ignore[attr-defined]
            return response

    def report_of(query: Mapping[str, str]) -> tuple[reports.Report | None, str, tuple[str, ...], str]:
        since = (query.get("since") or "7d").strip()
        try:
            by = reports.parse_by(",".join(v for v in query.getall("by", [])) if hasattr(query, "getall") else query.get("by"))  # type: ignore[attr-defined]
            report = reports.build(ctx.events.events(), ctx.now(), reports.parse_since(since), by)
        except ValueError as exc:
            return None, since, (), str(exc)
        return report, since, by, ""

    class Reports(DeskView):
        async def get(self, request: Request) -> Response:
            who = self.identify(request)
            if not isinstance(who, Who):
                return who
            report, since, by, error = report_of(request.query)
            params = urlencode([("since", since), *[("by", b) for b in by]])
            return self.page(
                "reports.html", who, status=400 if error else 200, report=report, since=since, by=by, error=error,
                dimensions=reports.DIMENSIONS, since_choices=REPORT_SINCE, columns=reports.COLUMNS, cell=reports.cell,
                params=params, ready=ctx.events.ready,
            )

    class ReportFile(DeskView):
        async def get(self, request: Request, fmt: str) -> Response:
            who = self.identify(request)
            if not isinstance(who, Who):
                return who
            report, _, _, error = report_of(request.query)
            if report is None:
                return self.secure(self.text(error, status=400), who)
            if fmt == "json":
                return self.secure(self.text(reports.to_json(report), content_type="application/json"), who)
            if fmt == "csv":
                response = self.text(reports.to_csv(report), content_type="text/csv")
                response.headers["Content-Disposition"] = 'attachment; filename="pot-report.csv"'
                return self.secure(response, who)
            if fmt == "png":
                buffer = io.BytesIO()

                def draw() -> None:
                    with _plot_lock:
                        reports.plot(report, buffer)

                await asyncio.to_thread(draw)
                response = self.bytes(buffer.getvalue(), content_type="image/png")
                return self.secure(response, who)
            return self.secure(self.text("use .png, .csv or .json", status=404), who)

    static = {name: (files("streams.desk_web").joinpath("static", name).read_bytes(), kind)
              for name, kind in (("desk.css", "text/css"), ("desk.js", "application/javascript"))}

    class Static(DeskView):
        async def get(self, request: Request, name: str) -> Response:
            if name not in static:
                return self.secure(self.text("not found", status=404))
            body, kind = static[name]
            response = self.bytes(body, content_type=kind)
            self.secure(response)
            response.headers["Cache-Control"] = "max-age=300"
            return response

    app.page("/desk")(Queue)
    app.page("/desk/rows")(Rows)
    app.page("/desk/alerts/{alert_id}")(AlertPage)
    app.page("/desk/alerts/{alert_id}/{verb}")(AlertAction)
    app.page("/desk/login")(Login)
    app.page("/desk/logout")(Logout)
    app.page("/desk/reports")(Reports)
    app.page("/desk/reports.{fmt}")(ReportFile)
    app.page("/desk/static/{name}")(Static)
