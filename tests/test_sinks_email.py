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
from sinks.email import EmailSink, message_id_for
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
