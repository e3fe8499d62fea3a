"""Emails each alert (plain text + HTML) over SMTP with aiosmtplib: STARTTLS, implicit TLS or plain.

Post fields are untrusted. The subject is one bounded line (no CR/LF, so a
handle cannot add headers), the HTML is rendered by jinja2 with autoescape
on, and only http(s) URLs become links. The Message-ID is derived from the
alert id, so a retried send is recognisably the same message and follow-ups
can thread under it (``In-Reply-To: message_id_for(...)``).

One SMTP connection per alert, opened in :meth:`EmailSink.deliver`: alerts
are rare and servers drop idle connections, so there is no client to keep
between :meth:`start` and :meth:`close`.

SMTP 4xx replies, refused connections and timeouts are retryable; 5xx
replies, an unsupported STARTTLS/AUTH and untrusted certificates are not.

>>> message_id_for("al-0123abcd", "example.com")
'<al-0123abcd.alert@example.com>'
"""

from __future__ import annotations

import logging
import re
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .base import Delivered, DeliveryError, Sink
from .render import PRIORITY_NAMES, author_name, deadline_utc, followers, http_url, one_line, url_host
from .text import clean_control, truncate

log = logging.getLogger(__name__)

TlsMode = Literal["starttls", "tls", "none"]
TLS_MODES: tuple[str, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SUBJECT_LIMIT = 150
TEXT_LIMIT = 4000
_COLOURS = {"complaint": "#c0392b", "question": "#1f7a99", "suggestion": "#b7950b", "praise": "#1e8449"}
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
_UNSAFE_DOMAIN = re.compile(r"[^A-Za-z0-9.-]")

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def message_id_for(alert_id: str, domain: str) -> str:
    """The Message-ID of an alert's email: stable per alert, so replies and follow-ups can reference it."""
    local = _UNSAFE_ID.sub("-", str(alert_id))[:128] or "alert"
    host = _UNSAFE_DOMAIN.sub("", domain)[:253] or "points-of-truth.invalid"
    return f"<{local}.alert@{host}>"


def subject_for(alert: dict[str, Any]) -> str:
    """``[P1] Complaint from @handle: first words``, one line, at most :data:`SUBJECT_LIMIT` characters."""
    post, cls = alert["post"], alert["classification"]
    who = author_name(post.get("author") or {})
    text = f"[{alert.get('priority', '?')}] {str(cls.get('label', '?')).capitalize()} from {who}: {post.get('text') or ''}"
    return one_line(text, SUBJECT_LIMIT)


def render(alert: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, HTML body) for one alert; pure, so tests can look at it."""
    post, cls = alert["post"], alert["classification"]
    author = post.get("author") or {}
    raw_url = post.get("url")
    link = http_url(raw_url)
    text = truncate(clean_control(str(post.get("text") or "")).strip(), TEXT_LIMIT) or "(empty post)"
    context = {
        "subject": subject_for(alert),
        "label": one_line(cls.get("label", "?"), 20),
        "priority": one_line(alert.get("priority", "?"), 4),
        "priority_name": PRIORITY_NAMES.get(str(alert.get("priority")), "unknown"),
        "colour": _COLOURS.get(str(cls.get("label")), "#616061"),
        "deadline": deadline_utc(alert.get("deadline")),
        "author": author_name(author),
        "followers": followers(author),
        "verified": bool(author.get("verified")),
        "platform": one_line(post.get("platform"), 40),
        "lang": one_line(cls.get("lang") or post.get("lang") or "?", 16),
        "brand": one_line(post.get("brand"), 80),
        "text": text,
        "text_lines": text.splitlines(),
        "url": link or one_line(raw_url, 300),
        "url_is_link": link is not None,
        "url_host": url_host(link) if link else "",
        "reasons": [one_line(reason, 200) for reason in alert.get("reasons") or []],
        "confidence": f"{float(cls.get('confidence') or 0):.0%}",
        "model": one_line(f"{cls.get('model', '?')} {cls.get('model_version', '')}", 60),
        "alert_id": one_line(alert.get("alert_id"), 64),
    }
    return (context["subject"], _templates.get_template("alert.txt").render(context),
            _templates.get_template("alert.html").render(context))


class EmailSink(Sink):
    """Sends one multipart email per alert; ``Delivered.ref`` is its Message-ID."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        sender: str,
        recipients: list[str],
        port: int | None = None,
        tls: TlsMode = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 15.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {', '.join(TLS_MODES)}")
        if not recipients:
            raise ValueError("an email sink needs at least one recipient")
        if bool(username) != bool(password):
            raise ValueError("SMTP username and password go together")
        self.host, self.port, self.tls = host, port or DEFAULT_PORTS[tls], tls
        self.sender, self.recipients = sender, list(recipients)
        self.username, self._password = username or None, password or None
        self.timeout_s, self.tls_context = timeout_s, tls_context
        self.domain = parseaddr(sender)[1].rpartition("@")[2]

    def __repr__(self) -> str:
        return f"EmailSink(host={self.host!r}, port={self.port}, tls={self.tls!r}, recipients={len(self.recipients)})"

    def message(self, alert: dict[str, Any]) -> EmailMessage:
        """The email for one alert, headers included; exposed so tests and previews need no server."""
        subject, text, html = render(alert)
        message = EmailMessage(policy=SMTP)
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id_for(str(alert.get("alert_id", "")), self.domain)
        message["Auto-Submitted"] = "auto-generated"
        message["X-POT-Alert-Id"] = one_line(alert.get("alert_id"), 64)
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        message = self.message(alert)
        try:
            refused, _ = await aiosmtplib.send(
                message, sender=self.sender, recipients=self.recipients,
                hostname=self.host, port=self.port, username=self.username, password=self._password,
                use_tls=self.tls == "tls", start_tls=self.tls == "starttls",
                timeout=self.timeout_s, tls_context=self.tls_context,
            )
        except Exception as exc:
            error = self._classify(exc)
            raise error from None
        if refused:
            log.warning("email %s: %d of %d recipients refused", message["Message-ID"], len(refused), len(self.recipients))
        return Delivered(ref=str(message["Message-ID"]))

    def _classify(self, exc: Exception) -> DeliveryError:
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = sorted({refusal.code for refusal in exc.recipients})
            return DeliveryError(f"email: every recipient refused (SMTP {codes})", retryable=any(c < 500 for c in codes))
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            text = self._scrub(one_line(exc.message, 160))
            return DeliveryError(f"email: SMTP {exc.code} {text}", retryable=exc.code < 500)
        if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(exc.__cause__, ssl.SSLCertVerificationError):
            return DeliveryError("email: the SMTP server's TLS certificate is not trusted", retryable=False)
        if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
            return DeliveryError(f"email: {type(exc).__name__} (timed out)", retryable=True)
        if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError)):
            return DeliveryError(f"email: {type(exc).__name__} (cannot reach the SMTP server)", retryable=True)
        if isinstance(exc, aiosmtplib.SMTPException):
            return DeliveryError(f"email: {self._scrub(one_line(str(exc), 160))}", retryable=False)
        return DeliveryError(f"email: {type(exc).__name__}", retryable=False)

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "[redacted]") if self._password else text
