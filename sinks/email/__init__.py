"""Emails each alert (plain text + HTML): rendering (:mod:`.render`, pure) apart from the SMTP transport
(:mod:`.transport`, behind a one-method seam), joined by the sink (:mod:`.sink`)."""

from .render import message_id_for, notice_message_id, render, reply_target, subject_for
from .sink import EmailSink
from .transport import DEFAULT_PORTS, TLS_MODES, EmailTransport, SmtpTransport, TlsMode

__all__ = [
    "DEFAULT_PORTS", "TLS_MODES", "EmailSink", "EmailTransport", "SmtpTransport", "TlsMode", "message_id_for",
    "notice_message_id", "render", "reply_target", "subject_for",
]
