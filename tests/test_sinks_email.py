"""The email sink against a real aiosmtpd server on a loopback port."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from sinks.base import DeliveryError
from sinks.email import EmailSink, message_id_for, subject_for
from tests.sink_servers import HOSTILE_HANDLE, HOSTILE_TEXT, Mailbox, free_port, make_alert, password_check, self_signed, smtp_server

SENDER = "points-of-truth <alerts@pot.example>"
PASSWORD = "smtp-pass-7e6d5c4b3a"


def plain_sink(port: int, **kwargs: object) -> EmailSink:
    options: dict = {"host": "127.0.0.1", "port": port, "tls": "none", "sender": SENDER, "recipients": ["care@acme.example"]}
    return EmailSink(**{**options, **kwargs})


def received(box: Mailbox) -> EmailMessage:
    (envelope,) = box.envelopes
    return email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[return-value]


def hostile_alert() -> dict:
    return make_alert(text=HOSTILE_TEXT, url="javascript:alert(document.cookie)", brand="<img src=x onerror=alert(1)>",
                      author={"id": "u-1", "handle": HOSTILE_HANDLE + "x" * 300, "followers": 7, "verified": False})


def test_hostile_post_cannot_inject_headers_or_markup() -> None:
    box = Mailbox()
    with smtp_server(box) as (host, port):
        result = asyncio.run(plain_sink(port).deliver(hostile_alert()))
    message = received(box)
    envelope = box.envelopes[0]
    assert envelope.rcpt_tos == ["care@acme.example"] and message["Bcc"] is None
    subject = message["Subject"]
    assert "\r" not in subject and "\n" not in subject and len(subject) <= 150
    assert subject.startswith("[P1] Complaint from mallory Bcc: victim@example.com")
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html)) and "<a " not in html
    assert "javascript:alert(document.cookie)" in text, "shown as text, never as a link"
    assert message["Message-ID"] == message_id_for(make_alert()["alert_id"], "pot.example") == result.ref
    assert message["Auto-Submitted"] == "auto-generated"


def test_http_links_and_readable_body() -> None:
    box = Mailbox()
    with smtp_server(box) as (host, port):
        asyncio.run(plain_sink(port).deliver(make_alert()))
    message = received(box)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert '<a href="https://x.com/parcel_pete/status/1790000000000000001">' in html
    assert "reply by 2024-05-01 13:00 UTC" in text and "> why is my parcel 2 weeks late??" in text
    assert "15,200 followers" in text and message["Subject"] == "[P1] Complaint from @parcel_pete: why is my parcel 2 weeks late??"


@pytest.mark.parametrize(
    ("where", "reply", "retryable"),
    [("data", "451 4.3.0 try again later", True), ("data", "554 5.7.1 rejected as spam", False),
     ("rcpt", "450 4.2.1 mailbox busy", True), ("rcpt", "550 5.1.1 no such user", False)],
)
def test_smtp_codes_are_classified(where: str, reply: str, retryable: bool) -> None:
    box = Mailbox()
    setattr(box, f"{where}_reply", reply)
    with smtp_server(box) as (host, port):
        with pytest.raises(DeliveryError) as caught:
            asyncio.run(plain_sink(port).deliver(make_alert()))
    assert caught.value.retryable is retryable and reply[:3] in str(caught.value)


def test_refused_connection_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(plain_sink(free_port(), timeout_s=2).deliver(make_alert()))
    assert caught.value.retryable


def test_starttls_with_auth_delivers_and_a_wrong_password_is_permanent(tmp_path: Path) -> None:
    contexts = self_signed(tmp_path)
    if contexts is None:
        pytest.skip("openssl is not available to make a test certificate")
    server_tls, client_tls = contexts
    box = Mailbox()
    options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True,
               "authenticator": password_check("pot", PASSWORD)}
    with smtp_server(box, **options) as (host, port):
        good = plain_sink(port, tls="starttls", username="pot", password=PASSWORD, tls_context=client_tls)
        asyncio.run(good.deliver(make_alert()))
        bad = plain_sink(port, tls="starttls", username="pot", password="wrong-" + PASSWORD, tls_context=client_tls)
        with pytest.raises(DeliveryError) as wrong:
            asyncio.run(bad.deliver(make_alert()))
        untrusted = plain_sink(port, tls="starttls", username="pot", password=PASSWORD)
        with pytest.raises(DeliveryError) as cert:
            asyncio.run(untrusted.deliver(make_alert()))
    assert len(box.envelopes) == 1
    assert not wrong.value.retryable and "535" in str(wrong.value) and PASSWORD not in str(wrong.value)
    assert not cert.value.retryable and "certificate" in str(cert.value)


def test_starttls_required_but_not_offered_is_permanent() -> None:
    box = Mailbox()
    with smtp_server(box) as (host, port):
        with pytest.raises(DeliveryError) as caught:
            asyncio.run(plain_sink(port, tls="starttls", username="pot", password=PASSWORD).deliver(make_alert()))
    assert not caught.value.retryable and not box.envelopes


def test_implicit_tls_delivers(tmp_path: Path) -> None:
    contexts = self_signed(tmp_path)
    if contexts is None:
        pytest.skip("openssl is not available to make a test certificate")
    server_tls, client_tls = contexts
    box = Mailbox()
    with smtp_server(box, ssl_context=server_tls) as (host, port):
        asyncio.run(plain_sink(port, tls="tls", tls_context=client_tls).deliver(make_alert()))
    assert received(box)["Subject"].startswith("[P1] Complaint")


def parse(envelope) -> EmailMessage:
    return email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[return-value]


def notice(kind: str, alert: dict | None, **extra: object) -> dict:
    return {"notice_id": f"{(alert or {}).get('alert_id', 'n')}:{kind}", "kind": kind, "receivers": ["email"],
            "at": "2024-05-01T12:40:00Z", "summary": f"{kind} by care-lead", "actor": "care-lead", "alert": alert,
            "detail": {}, **extra}


def test_a_follow_up_threads_under_the_first_mail() -> None:
    alert = hostile_alert()
    hostile = "acknowledged by mallory\r\nBcc: victim@example.com <script>x</script>"
    follow = notice("acknowledged", alert, summary=hostile, actor="mallory\r\nX-Evil: 1 <b>")
    box = Mailbox()
    with smtp_server(box) as (host, port):
        sink = plain_sink(port)
        first = asyncio.run(sink.deliver(alert))
        second = asyncio.run(sink.follow_up(follow, first.ref))
    original, reply = (parse(envelope) for envelope in box.envelopes)
    assert first.ref == original["Message-ID"] and second.ref == reply["Message-ID"] != first.ref
    assert reply["In-Reply-To"] == reply["References"] == original["Message-ID"]
    assert reply["Subject"] == "Re: " + original["Subject"] == "Re: " + subject_for(alert)
    assert "\r" not in reply["Subject"] and "\n" not in reply["Subject"]
    assert reply["Bcc"] is None and reply["X-Evil"] is None and box.envelopes[1].rcpt_tos == ["care@acme.example"]
    assert reply["X-POT-Notice-Id"] == follow["notice_id"] and reply["X-POT-Alert-Id"] == alert["alert_id"]
    html = reply.get_body(("html",)).get_content()
    text = reply.get_body(("plain",)).get_content()
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html and "<b>" not in html and "<a " not in html
    assert "Acknowledged" in html and "by mallory X-Evil: 1 &lt;b&gt;" in html
    assert text.startswith("ACKNOWLEDGED: acknowledged by mallory Bcc: victim@example.com") and "> <!channel>" in text


@pytest.mark.parametrize(("kind", "title"), [("warning", "WARNING"), ("reminder", "REMINDER"), ("breach", "WINDOW CLOSED"),
                                             ("resolved", "RESOLVED")])
def test_every_alert_follow_up_is_a_threaded_mail(kind: str, title: str) -> None:
    ref = message_id_for(make_alert()["alert_id"], "pot.example")
    message = plain_sink(25).follow_up_message(notice(kind, make_alert()), ref)
    assert message is not None and message["In-Reply-To"] == ref and message["Subject"].startswith("Re: [P1] Complaint")
    assert message.get_body(("plain",)).get_content().startswith(f"{title}: {kind} by care-lead")


@pytest.mark.parametrize("ref", [None, "", "not a message id", "<a@b>\r\nBcc: victim@example.com"])
def test_without_a_usable_ref_a_follow_up_stands_alone(ref: str | None) -> None:
    message = plain_sink(25).follow_up_message(notice("escalation", make_alert(), summary="escalated (level 1)"), ref)
    assert message is not None and message["In-Reply-To"] is None and message["References"] is None
    assert message["Subject"] == "Escalated: [P1] Complaint from @parcel_pete: why is my parcel 2 weeks late??"
    assert "why is my parcel 2 weeks late??" in message.get_body(("html",)).get_content(), "the alert is in the mail"


def test_a_bare_message_id_ref_gets_its_angle_brackets() -> None:
    message = plain_sink(25).follow_up_message(notice("reminder", make_alert()), "al-1.alert@pot.example")
    assert message is not None and message["In-Reply-To"] == "<al-1.alert@pot.example>"


def test_digest_lists_each_entry_and_links_only_http_urls() -> None:
    entries = [
        {"alert_id": "al-a", "label": "suggestion", "priority": "P4", "text": HOSTILE_TEXT + " " + "y" * 600,
         "url": "javascript:alert(1)", "lang": "en", "author": HOSTILE_HANDLE},
        {"alert_id": "al-b", "label": "praise", "priority": "P4", "text": "love the app", "url": "https://x.com/fan/status/2",
         "lang": "en", "author": "@fan"},
        {"alert_id": "al-c", "label": "suggestion", "priority": "P4", "text": "dark mode\nplease", "url": None,
         "lang": "de", "author": None},
    ]
    digest = notice("digest", None, notice_id="digest:email:1714561200", summary="3 alerts in this digest: 2 suggestion, 1 praise",
                    detail={"entries": entries, "since": "2024-05-01T11:00:00Z"})
    box = Mailbox()
    with smtp_server(box) as (host, port):
        result = asyncio.run(plain_sink(port).follow_up(digest, None))
    message = received(box)
    assert message["Subject"] == "Digest: 3 alerts (2 suggestion, 1 praise)" and result.ref == message["Message-ID"]
    assert message["In-Reply-To"] is None and message["X-POT-Alert-Id"] is None
    assert message["X-POT-Notice-Id"] == "digest:email:1714561200"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert re.findall(r'href="([^"]*)"', html) == ["https://x.com/fan/status/2"]
    assert "javascript:" not in html and "javascript:" not in text
    assert "&lt;!channel&gt; &lt;@U123&gt;" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "mallory Bcc: victim@example.com &lt;!here&gt;" in html and "since 2024-05-01 11:00 UTC" in html
    assert "y" * 300 not in html and "…" in html, "entry text is truncated"
    assert "SUGGESTION P4 from unknown (de)" in text and "dark mode please" in text and "love the app" in text


def test_digest_subject_counts_and_stays_one_line() -> None:
    entries = [{"alert_id": f"al-{i}", "label": "praise\r\nBcc: victim@example.com", "text": "x"} for i in range(12)]
    message = plain_sink(25).follow_up_message(notice("digest", None, detail={"entries": entries}), None)
    assert message is not None
    subject = message["Subject"]
    assert subject == "Digest: 12 alerts (12 praise Bcc: victim@…)" and "\n" not in subject and message["Bcc"] is None


def test_surge_shows_summary_terms_and_escaped_samples() -> None:
    surge = notice("surge", None, notice_id="surge:brand:acme:1714568400",
                   summary="complaint surge (brand:acme): 40 in the last hour\r\nBcc: victim@example.com",
                   detail={"top_terms": [["refund", 12], ["<b>late</b>", 5]], "samples": [HOSTILE_TEXT, "where is my refund"]})
    message = plain_sink(25).follow_up_message(surge, None)
    assert message is not None
    assert message["Subject"] == "Surge: complaint surge (brand:acme): 40 in the last hour Bcc: victim@example.com"
    html = message.get_body(("html",)).get_content()
    assert "<code>refund</code> × 12" in html and "<code>&lt;b&gt;late&lt;/b&gt;</code> × 5" in html
    assert "&lt;!channel&gt;" in html and "<script>" not in html and "where is my refund" in html


def test_an_unknown_kind_without_an_alert_sends_nothing() -> None:
    result = asyncio.run(plain_sink(free_port()).follow_up(notice("weather", None), None))
    assert result.ref is None
