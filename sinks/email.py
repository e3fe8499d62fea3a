"""Emails each alert (plain text + HTML) over SMTP with aiosmtplib: STARTTLS, implicit TLS or plain.

Post fields are untrusted. The subject is one bounded line (no CR/LF, so a
handle cannot add headers), the HTML is rendered by jinja2 with autoescape
on, and only http(s) URLs become links. The Message-ID is derived from the
alert id, so a retried send is recognisably the same message and follow-ups
can thread under it (``In-Reply-To: message_id_for(...)``).

Follow-ups (:meth:`EmailSink.follow_up`) are mails of their own, since email
cannot change a sent message: an alert's follow-up replies to the alert's
mail (``In-Reply-To``/``References``, ``Re:`` subject) so clients thread it,
and carries the alert again for readers who only see the latest mail.
Digests and surges stand alone. Each follow-up's Message-ID is derived from
its notice id for the same reason as an alert's.

One SMTP connection per alert, opened in :meth:`EmailSink.deliver`: alerts
are rare and servers drop idle connections, so there is no client to keep
between :meth:`start` and :meth:`close`.

SMTP 4xx replies, refused connections and timeouts are retryable; 5xx
replies, an unsupported STARTTLS/AUTH and untrusted certificates are not.

>>> message_id_for("al-0123abcd", "example.com")
'<al-0123abcd.alert@example.com>'
>>> reply_target("<al-0123abcd.alert@example.com>"), reply_target("x@y>\\r\\nBcc: v@example.com")
('<al-0123abcd.alert@example.com>', None)
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
from collections import Counter
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
_MSG_ID = re.compile(r"<?([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}@[A-Za-z0-9.\[\]-]{1,253})>?")
DIGEST_LISTED = 200
DIGEST_TEXT_LIMIT = 300
SURGE_TERMS = 15
SURGE_SAMPLES = 10
SAMPLE_LIMIT = 500
FOLLOW_UP_TITLES = {
    "warning": "Warning", "breach": "Window closed", "escalation": "Escalated", "reminder": "Reminder",
    "acknowledged": "Acknowledged", "resolved": "Resolved",
}
_FOLLOW_UP_COLOURS = {"warning": "#b7950b", "breach": "#c0392b", "escalation": "#c0392b", "reminder": "#b7950b",
                      "acknowledged": "#1f7a99", "resolved": "#1e8449"}

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


def notice_message_id(notice_id: str, domain: str) -> str:
    """A follow-up's own Message-ID: stable per notice (a retried send is the same mail), never the alert's.

    The readable part is cut and sanitised, so a hash of the whole notice id
    keeps two long ids that share a prefix apart.
    """
    local = _UNSAFE_ID.sub("-", str(notice_id))[:80] or "notice"
    digest = hashlib.sha256(str(notice_id).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    host = _UNSAFE_DOMAIN.sub("", domain)[:253] or "points-of-truth.invalid"
    return f"<{local}.{digest}.notice@{host}>"


def reply_target(ref: str | None) -> str | None:
    """``ref`` as a ``<msg-id>`` to reply to, or ``None`` when it is absent or not a plain Message-ID.

    A ref that is not one (whitespace, a line break, a second address) is not
    used at all rather than repaired: it goes into headers.
    """
    if not isinstance(ref, str):
        return None
    match = _MSG_ID.fullmatch(ref.strip())
    return f"<{match.group(1)}>" if match else None


def subject_for(alert: dict[str, Any]) -> str:
    """``[P1] Complaint from @handle: first words``, one line, at most :data:`SUBJECT_LIMIT` characters."""
    post, cls = alert["post"], alert["classification"]
    who = author_name(post.get("author") or {})
    text = f"[{alert.get('priority', '?')}] {str(cls.get('label', '?')).capitalize()} from {who}: {post.get('text') or ''}"
    return one_line(text, SUBJECT_LIMIT)


def alert_context(alert: dict[str, Any]) -> dict[str, Any]:
    """What the alert templates show, every post field made safe; shared by alerts and their follow-ups."""
    post, cls = alert["post"], alert["classification"]
    author = post.get("author") or {}
    raw_url = post.get("url")
    link = http_url(raw_url)
    text = truncate(clean_control(str(post.get("text") or "")).strip(), TEXT_LIMIT) or "(empty post)"
    return {
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


def _render_pair(name: str, context: dict[str, Any]) -> tuple[str, str]:
    return _templates.get_template(f"{name}.txt").render(context), _templates.get_template(f"{name}.html").render(context)


def render(alert: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, HTML body) for one alert; pure, so tests can look at it."""
    context = alert_context(alert)
    return (context["subject"], *_render_pair("alert", context))


def _notice_context(notice: dict[str, Any]) -> dict[str, Any]:
    kind = one_line(notice.get("kind"), 30)
    return {
        "kind": kind,
        "title": FOLLOW_UP_TITLES.get(kind, kind.capitalize() or "Notice"),
        "summary": one_line(notice.get("summary"), 500),
        "actor": one_line(notice.get("actor"), 80),
        "at": deadline_utc(notice.get("at")),
        "notice_id": one_line(notice.get("notice_id"), 128),
        "status_colour": _FOLLOW_UP_COLOURS.get(kind, "#616061"),
    }


def render_follow_up(notice: dict[str, Any], threaded: bool) -> tuple[str, str, str]:
    """(subject, text, HTML) for a follow-up about one alert: a status banner, then the alert again.

    A reply keeps the original subject behind ``Re:`` untouched (clients such
    as Gmail thread only when the subjects match); a mail with nothing to
    reply to (an escalation level that never had the alert) says what it is.
    """
    alert = notice["alert"]
    context = {**alert_context(alert), **_notice_context(notice)}
    original = context["subject"]
    subject = f"Re: {original}" if threaded else one_line(f"{context['title']}: {original}", SUBJECT_LIMIT)
    return (subject, *_render_pair("follow_up", {**context, "subject": subject}))


def _digest_entry(entry: Any) -> dict[str, Any]:
    entry = entry if isinstance(entry, dict) else {}
    link = http_url(entry.get("url"))
    text = one_line(entry.get("text"), DIGEST_TEXT_LIMIT) or "(empty post)"
    return {
        "label": one_line(entry.get("label") or "?", 20),
        "priority": one_line(entry.get("priority") or "?", 4),
        "author": one_line(entry.get("author") or "unknown", 80),
        "lang": one_line(entry.get("lang"), 16),
        "text": text,
        "url": link or "",
        "url_host": url_host(link) if link else "",
        "alert_id": one_line(entry.get("alert_id"), 64),
    }


def render_digest(notice: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, HTML) for a digest: ``Digest: 12 alerts (8 suggestion, 4 praise)`` and one item per alert.

    Only http(s) URLs are shown, as links; anything else is left out, because
    a digest line has no room to explain why a URL is not clickable.
    """
    detail = notice.get("detail") or {}
    raw_entries = detail.get("entries") if isinstance(detail.get("entries"), list) else []
    entries = [_digest_entry(entry) for entry in raw_entries]
    counts = Counter(entry["label"] for entry in entries)
    total = len(entries)
    breakdown = ", ".join(f"{n} {label}" for label, n in counts.most_common())
    subject = one_line(f"Digest: {total} alert{'' if total == 1 else 's'}" + (f" ({breakdown})" if breakdown else ""), SUBJECT_LIMIT)
    context = {
        **_notice_context(notice),
        "subject": subject,
        "since": deadline_utc(detail.get("since")) if detail.get("since") else "",
        "entries": entries[:DIGEST_LISTED],
        "unlisted": max(0, total - DIGEST_LISTED),
    }
    return (subject, *_render_pair("digest", context))


def render_surge(notice: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, HTML) for a complaint surge: the summary, the top terms and a few of the posts."""
    detail = notice.get("detail") or {}
    terms = []
    for item in (detail.get("top_terms") if isinstance(detail.get("top_terms"), list) else [])[:SURGE_TERMS]:
        term, count = (item[0], item[1]) if isinstance(item, (list, tuple)) and len(item) == 2 else (item, "")
        terms.append({"term": one_line(term, 60), "count": one_line(count, 12)})
    samples = [one_line(sample, SAMPLE_LIMIT) for sample in
               (detail.get("samples") if isinstance(detail.get("samples"), list) else [])[:SURGE_SAMPLES]]
    context = {**_notice_context(notice), "terms": terms, "samples": samples}
    subject = one_line(f"Surge: {context['summary']}", SUBJECT_LIMIT)
    return (subject, *_render_pair("surge", {**context, "subject": subject}))


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
        message = self._compose(subject, text, html, message_id_for(str(alert.get("alert_id", "")), self.domain))
        message["X-POT-Alert-Id"] = one_line(alert.get("alert_id"), 64)
        return message

    def follow_up_message(self, notice: dict[str, Any], ref: str | None) -> EmailMessage | None:
        """The email for one notice, or ``None`` for a kind email does not know how to show.

        Alert follow-ups reply to ``ref`` (the alert's Message-ID here);
        digests and surges are not replies to anything.
        """
        alert, kind = notice.get("alert"), notice.get("kind")
        parent = None
        if isinstance(alert, dict):
            parent = reply_target(ref)
            subject, text, html = render_follow_up(notice, threaded=parent is not None)
        elif kind == "digest":
            subject, text, html = render_digest(notice)
        elif kind == "surge":
            subject, text, html = render_surge(notice)
        else:
            return None
        message = self._compose(subject, text, html, notice_message_id(str(notice.get("notice_id", "")), self.domain))
        if parent:
            message["In-Reply-To"] = parent
            message["References"] = parent
        message["X-POT-Notice-Id"] = one_line(notice.get("notice_id"), 128)
        if isinstance(alert, dict):
            message["X-POT-Alert-Id"] = one_line(alert.get("alert_id"), 64)
        return message

    def _compose(self, subject: str, text: str, html: str, message_id: str) -> EmailMessage:
        message = EmailMessage(policy=SMTP)
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    async def deliver(self, alert: dict[str, Any]) -> Delivered:
        return await self._send(self.message(alert))

    async def follow_up(self, notice: dict[str, Any], ref: str | None) -> Delivered:
        """Mail the follow-up (email cannot edit what it sent, so warnings and reminders are mails too).

        ``Delivered.ref`` is the new mail's Message-ID; an unknown kind with no
        alert sends nothing, which the contract says is not a failure.
        """
        message = self.follow_up_message(notice, ref)
        if message is None:
            log.warning("email: no mail for a %r notice without an alert", one_line(notice.get("kind"), 30))
            return Delivered(ref=None)
        return await self._send(message)

    async def _send(self, message: EmailMessage) -> Delivered:
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
