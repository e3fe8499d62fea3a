"""The email sink: an alert (or follow-up) rendered by :mod:`.render`, sent by a :mod:`.transport`.

Follow-ups (:meth:`EmailSink.follow_up`) are mails of their own, since email
cannot change a sent message: an alert's follow-up replies to the alert's
mail (``In-Reply-To``/``References``, ``Re:`` subject) so clients thread it,
and carries the alert again for readers who only see the latest mail.
Digests and surges stand alone. Each follow-up's Message-ID is derived from
its notice id, so a retried send is the same mail.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from ..base import Delivered, Sink
from ..render import one_line
from .render import (
    compose, message_id_for, notice_message_id, render, render_digest, render_follow_up, render_surge, reply_target,
)
from .transport import EmailTransport, SmtpTransport, TlsMode

__all__ = ["EmailSink"]

log = logging.getLogger(__name__)


class EmailSink(Sink):
    """Sends one multipart email per alert; ``Delivered.ref`` is its Message-ID.

    The SMTP settings build the default :class:`SmtpTransport`; ``transport``
    replaces it (tests, another mail service).
    """

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
        transport: EmailTransport | None = None,
    ) -> None:
        if not recipients:
            raise ValueError("an email sink needs at least one recipient")
        smtp = SmtpTransport(host, port, tls, username, password, timeout_s, tls_context)
        self.transport: EmailTransport = transport or smtp
        self.host, self.port, self.tls = smtp.host, smtp.port, smtp.tls
        self.sender, self.recipients = sender, list(recipients)
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
        return compose(subject, text, html, message_id, self.sender, self.recipients)

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
        refused = await self.transport.send(message, self.sender, self.recipients)
        if refused:
            log.warning("email %s: %d of %d recipients refused", message["Message-ID"], len(refused), len(self.recipients))
        return Delivered(ref=str(message["Message-ID"]))
