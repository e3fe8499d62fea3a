"""Verifies that a request really came from Slack (interactive buttons, slash commands, events), as Slack documents it.

Slack signs ``v0:{X-Slack-Request-Timestamp}:{raw body}`` with HMAC-SHA256
under the app's signing secret and sends ``v0=<hex digest>`` in
``X-Slack-Signature``. A request is refused unless the signature matches
(compared in constant time, so timing reveals nothing about the expected
value) and the timestamp is within five minutes of now in either direction,
so a captured request cannot be replayed later. Verify the raw bytes before
parsing: decoding and re-encoding a form or JSON body changes it.

>>> body = b"command=%2Fack&text=al-1"
>>> signature = sign_slack_request("s3cret", "1700000000", body)
>>> verify_slack_request("s3cret", "1700000000", body, signature, now=1700000060)
>>> verify_slack_request("s3cret", "1700000000", body, signature, now=1700000400)
Traceback (most recent call last):
...
sinks.slack_signature.SlackSignatureError: stale_timestamp
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

SIGNATURE_HEADER = "X-Slack-Signature"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
VERSION = "v0"
Reason = Literal["missing_headers", "stale_timestamp", "bad_timestamp", "bad_signature"]
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class SlackSignatureError(Exception):
    """A request that must not be trusted; ``reason`` says why, and never carries the secret or the expected signature."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


def sign_slack_request(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack would send for this body at this timestamp (for tests and tools)."""
    basestring = f"{VERSION}:{timestamp}:".encode("ascii") + body
    return f"{VERSION}=" + hmac.new(secret.encode("utf-8"), basestring, hashlib.sha256).hexdigest()


def verify_slack_request(
    signing_secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float,
    tolerance_s: int = 300,
) -> None:
    """Return if the request is Slack's and fresh; raise :class:`SlackSignatureError` otherwise.

    ``timestamp`` and ``signature`` are the two headers as received (``None``
    when absent); ``now`` is Unix seconds, passed in so tests and replays of
    captured traffic control the clock. An empty signing secret is a
    configuration error, not a reason code: under an empty key anyone can sign.
    """
    if not signing_secret:
        raise ValueError("a Slack signing secret is required")
    if not timestamp or not signature:
        raise SlackSignatureError("missing_headers")
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise SlackSignatureError("bad_timestamp")
    if abs(now - int(timestamp)) > tolerance_s:
        raise SlackSignatureError("stale_timestamp")
    expected = sign_slack_request(signing_secret, timestamp, body).encode("ascii")
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise SlackSignatureError("bad_signature")
