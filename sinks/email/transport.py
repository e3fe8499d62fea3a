"""The SMTP transport behind the email sink's seam: one method, ``send(message, sender, recipients)``.

:class:`SmtpTransport` sends with aiosmtplib (STARTTLS, implicit TLS or
plain), one connection per message: alerts are rare and servers drop idle
connections, so there is nothing to keep open between messages. It classifies
failures once: SMTP 4xx replies, refused connections and timeouts are
retryable; 5xx replies, an unsupported STARTTLS/AUTH and untrusted
certificates are not. The password never appears in an error.

Tests and other mail services swap in any object with the same ``send``
(:class:`EmailTransport`), without patching.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage
from typing import Literal, Protocol

import aiosmtplib

from ..base import DeliveryError
from ..render import one_line

__all__ = ["DEFAULT_PORTS", "TLS_MODES", "EmailTransport", "SmtpTransport", "TlsMode"]

log = logging.getLogger(__name__)

TlsMode = Literal["starttls", "tls", "none"]
TLS_MODES: tuple[str, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class EmailTransport(Protocol):
    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, object]:
        """Send one message; returns the recipients refused (some may be), raises :class:`DeliveryError`."""
        ...


class SmtpTransport:
    def __init__(
        self,
        host: str,
        port: int | None = None,
        tls: TlsMode = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 15.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {', '.join(TLS_MODES)}")
        if bool(username) != bool(password):
            raise ValueError("SMTP username and password go together")
        self.host, self.port, self.tls = host, port or DEFAULT_PORTS[tls], tls
        self.username, self._password = username or None, password or None
        self.timeout_s, self.tls_context = timeout_s, tls_context

    def __repr__(self) -> str:
        return f"SmtpTransport(host={self.host!r}, port={self.port}, tls={self.tls!r})"

    async def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> dict[str, object]:
        try:
            refused, _ = await aiosmtplib.send(
                message, sender=sender, recipients=recipients,
                hostname=self.host, port=self.port, username=self.username, password=self._password,
                use_tls=self.tls == "tls", start_tls=self.tls == "starttls",
                timeout=self.timeout_s, tls_context=self.tls_context,
            )
        except Exception as exc:
            error = self._classify(exc)
            raise error from None
        return dict(refused)

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
