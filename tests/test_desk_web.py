"""The web desk without a server: logins, sessions, CSRF, the queue view, and escaping of hostile text in every
field a page shows (post, author, brand, route, reasons, trail)."""

from __future__ import annotations

import json
import os
import re

import pytest

from streams.api.desk.auth import DeskUsers, Keys, LoginThrottle, add_user, parse_users
from streams.api.desk.render import render
from streams.api.desk.views import parse_filters, row_of, safe_next
from streams.kafka.queue_view import EventLog, QueueView

EVIL = '<img src=x onerror=alert(1)>"\'&\u202e'


def hostile_clock(alert_id: str = "al-1", state: str = "open") -> dict:
    return {
        "alert_id": alert_id, "state": state, "label": "complaint", "priority": "P1", "raised_at": 1000.0,
        "warn_at": 3700.0, "deadline": 4600.0, "fired": ["warning"], "receivers": [f"slack{EVIL}"], "route": f"root/{EVIL}",
        "acked_by": f"eve{EVIL}" if state != "open" else None, "acked_at": 2000.0 if state != "open" else None,
        "text": f"short {EVIL}",
        "alert": {
            "post": {"id": f"1{EVIL}", "platform": f"x{EVIL}", "text": f"<script>window.__pwned=1</script>{EVIL}",
                     "url": "javascript:alert(1)", "brand": f"acme{EVIL}", "lang": f"en{EVIL}",
                     "author": {"id": f"u{EVIL}", "handle": f"h{EVIL}", "followers": 5, "verified": True}},
            "classification": {"label": "complaint", "confidence": 0.9, "model": f"m{EVIL}", "lang": f"en{EVIL}"},
            "reasons": [f"because {EVIL}"], "history": f"3rd complaint {EVIL}", "recent_labels": [f"praise{EVIL}"],
        },
    }


def tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html)}


ALLOWED = {"article", "div", "span", "p", "a", "ul", "li", "form", "input", "button", "select", "option", "section",
           "h1", "h2", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "code", "strong", "em", "br",
           "html", "head", "meta", "title", "link", "script", "body", "header", "nav", "main", "label"}


@pytest.mark.parametrize("state", ["open", "acknowledged"])
def test_every_field_is_escaped(state):
    clock = hostile_clock(state=state)
    row = row_of(clock, now=2000.0)
    rows = render("rows.html", rows=[row], csrf="t", labels=["praise", "complaint"], here="/desk", now=2000.0)
    trail = [{"alert_id": "al-1", "kind": f"raised{EVIL}", "at": f"now{EVIL}", "actor": f"a{EVIL}", "detail": {f"k{EVIL}": [EVIL]}}]
    page = render("alert.html", user="ana", csrf="t", header_login=False, now=2000.0, poll_ms=2000, row=row,
                  alert_id="al-1", trail=trail, labels=["praise"], message="", here="/desk/alerts/al-1")
    for html in (rows, page):
        assert "<img" not in html and "<script>window" not in html
        assert tags(html) <= ALLOWED
        assert "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;" in html
        assert "\u202e" not in html and "\\u202e" in html
        assert 'href="javascript' not in html
    assert page.count("<script") == 1 and 'src="/desk/static/desk.js"' in page


def test_users_file_sessions_and_csrf(tmp_path):
    path = tmp_path / "users.yaml"
    add_user(path, "ana", "a-long-password")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    users = DeskUsers(path)
    assert users.check("ana", "a-long-password") and not users.check("ana", "nope") and not users.check("bo", "x")
    add_user(path, "bo", "bo-long-password")
    os.utime(path, (1, 1))  # a changed file is re-read
    assert users.names() == ["ana", "bo"]
    path.write_text("users: [not, a, mapping]")
    os.utime(path, (2, 2))
    assert users.names() == [], "an invalid file lets no one in"
    with pytest.raises(ValueError, match="password_hash"):
        parse_users("users:\n  ana: {password: plain}\n")
    with pytest.raises(ValueError, match="name"):
        parse_users("users:\n  '<b>': {password_hash: 'scrypt$1$1$1$a$b'}\n")
    with pytest.raises(ValueError):
        add_user(path, "no spaces allowed", "x" * 10)

    keys, other = Keys(b"s" * 32), Keys(b"t" * 32)
    cookie = keys.session_cookie("ana", now=0, ttl_s=60)
    session = keys.session(cookie, now=30)
    assert session is not None and other.session(cookie, now=30) is None, "a cookie signed with another secret"
    body, _, mac = cookie.partition(".")
    forged = json.dumps({"u": "admin", "s": "x", "e": 99}).encode()
    import base64

    assert keys.session(base64.urlsafe_b64encode(forged).decode().rstrip("=") + "." + mac, now=30) is None
    second = keys.session(keys.session_cookie("ana", now=0, ttl_s=60), now=30)
    assert keys.csrf_token(session) != keys.csrf_token(second), "CSRF tokens are per session"
    assert not keys.csrf_ok(session, keys.csrf_token(second)) and not keys.csrf_ok(session, None)
    nonce = "n1"
    assert keys.login_ok(nonce, keys.login_token(nonce)) and not keys.login_ok("n2", keys.login_token(nonce))


def test_login_throttle():
    throttle = LoginThrottle(limit=3, window_s=60)
    for i in range(3):
        assert not throttle.blocked("ana", "10.0.0.1", now=i)
        throttle.fail("ana", f"10.0.0.{i}", now=i)
    assert throttle.blocked("ana", "10.9.9.9", now=5), "by name, from any address"
    assert not throttle.blocked("bo", "10.9.9.9", now=5)
    assert not throttle.blocked("ana", "10.0.0.1", now=70)


def test_queue_view_filters_sorts_and_forgets():
    view = QueueView()

    def put(alert_id: str, **clock) -> None:
        view.apply(json.dumps(alert_id).encode(), json.dumps({"alert_id": alert_id, **clock}).encode())

    alert = lambda brand, lang: {"post": {"platform": "x", "brand": brand}, "classification": {"lang": lang}}  # noqa: E731
    put("late", state="open", label="complaint", priority="P2", deadline=500.0, route="r/a", alert=alert("acme", "en"))
    put("soon", state="open", label="question", priority="P3", deadline=200.0, route="r/b", alert=alert("globex", "ro"))
    put("done", state="acknowledged", label="complaint", priority="P1", deadline=100.0, alert=alert("acme", "en"))
    put("gone", state="resolved", label="praise", priority="P4", deadline=50.0, alert=alert("acme", "en"))
    ids = lambda **q: [c["alert_id"] for c in view.rows(100.0, parse_filters(q))]  # noqa: E731
    assert ids() == ["soon", "late", "done"], "open by time left, then acknowledged; resolved hidden"
    assert ids(state="all") == ["soon", "late", "done", "gone"]
    assert ids(brand="acme") == ["late", "done"] and ids(lang="ro") == ["soon"] and ids(route="r/a") == ["late"]
    assert ids(label="complaint", state="open") == ["late"] and ids(priority="P1") == ["done"]
    assert view.choices()["brand"] == ["acme", "globex"]
    view.apply(b'"gone"', None)
    assert ids(state="all") == ["soon", "late", "done"]
    view.apply(b"not json", b"{}")
    view.apply(b'"bad"', b"not json")
    assert len(view.clocks) == 3


def test_event_log_trail_and_retention():
    now = [10_000_000.0]
    log = EventLog(keep_s=3600, clock=lambda: now[0])
    log.apply(b'"a"', json.dumps({"alert_id": "a", "kind": "raised", "at": "1970-04-26T17:46:40Z", "__faust": {}}).encode())
    log.apply(b'"a"', json.dumps({"alert_id": "a", "kind": "acknowledged", "at": "1970-04-26T17:47:00Z"}).encode())
    log.apply(b'"x"', b"garbage")
    assert [e["kind"] for e in log.trail("a")] == ["raised", "acknowledged"] and "__faust" not in log.trail("a")[0]
    now[0] += 7200
    log.prune()
    assert log.trail("a") == []


def test_safe_next_and_filters():
    assert safe_next("/desk?label=complaint") == "/desk?label=complaint"
    assert safe_next("/desk\\@evil") == "/desk" and safe_next("/elsewhere") == "/desk"
    assert parse_filters({"state": "bogus"})["state"] == {"open", "acknowledged"}
    assert parse_filters({"label": "praise", "brand": ""}) == {"label": {"praise"}, "state": {"open", "acknowledged"}}


def test_platform_filter_folds_aliases():
    """Posts are stored as ``x``; a user who filters by ``twitter`` (typed, any case) must see them, and an
    alert raised before aliases were folded (its post says ``twitter``) is listed with them, under one choice."""
    view = QueueView()
    for alert_id, platform in (("new", "x"), ("old", "twitter"), ("toot", "mastodon")):
        clock = {"alert_id": alert_id, "state": "open", "deadline": 200.0, "alert": {"post": {"platform": platform}}}
        view.apply(json.dumps(alert_id).encode(), json.dumps(clock).encode())
    ids = lambda **q: sorted(c["alert_id"] for c in view.rows(100.0, parse_filters(q)))  # noqa: E731
    assert ids(platform="twitter") == ["new", "old"]
    assert ids(platform=" Twitter ") == ids(platform="x") == ["new", "old"]
    assert ids(platform="fediverse") == ["toot"]
    assert view.choices()["platform"] == ["mastodon", "x"]
