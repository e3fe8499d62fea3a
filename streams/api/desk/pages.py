"""The desk's other pages: login and logout, the reports (HTML, PNG, CSV, JSON), the static CSS and JS."""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

import faust
from faust.web import Request, Response

from ...core import report_format, reports
from .auth import valid_username
from .common import LOGIN_COOKIE, MESSAGES, SESSION_COOKIE, DeskContext, Who, safe_next
from .render import render

__all__ = ["register_pages"]

log = logging.getLogger(__name__)
REPORT_SINCE = ("1d", "7d", "14d", "30d", "90d")
_plot_lock = threading.Lock()


def register_pages(app: faust.App, ctx: DeskContext, DeskView: Any) -> None:  # noqa: N803 (a class)
    desk = ctx.desk

    class Login(DeskView):
        async def get(self, request: Request) -> Response:
            if desk.trusted_header or not desk.login_configured:
                return self.go("/desk")
            return self.login_page(request, "")

        def login_page(self, request: Request, error: str, status: int = 200) -> Response:
            nonce = secrets.token_urlsafe(16)
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
                dimensions=reports.DIMENSIONS, since_choices=REPORT_SINCE, columns=report_format.COLUMNS, cell=report_format.cell,
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
                return self.secure(self.text(report_format.to_json(report), content_type="application/json"), who)
            if fmt == "csv":
                response = self.text(report_format.to_csv(report), content_type="text/csv")
                response.headers["Content-Disposition"] = 'attachment; filename="pot-report.csv"'
                return self.secure(response, who)
            if fmt == "png":
                buffer = io.BytesIO()

                def draw() -> None:
                    with _plot_lock:
                        report_format.plot(report, buffer)

                await asyncio.to_thread(draw)
                response = self.bytes(buffer.getvalue(), content_type="image/png")
                return self.secure(response, who)
            return self.secure(self.text("use .png, .csv or .json", status=404), who)

    static = {name: (files("streams.api.desk").joinpath("static", name).read_bytes(), kind)
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

    app.page("/desk/login")(Login)
    app.page("/desk/logout")(Logout)
    app.page("/desk/reports")(Reports)
    app.page("/desk/reports.{fmt}")(ReportFile)
    app.page("/desk/static/{name}")(Static)
