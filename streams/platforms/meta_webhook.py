"""Meta (Facebook Page and Instagram) webhooks: the subscription handshake and the payload signature.

Meta verifies an endpoint with ``GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`` and
expects ``C`` back; every delivery is signed ``X-Hub-Signature-256: sha256=HMAC-SHA256(app secret, body)``.

>>> handshake({"hub.mode": "subscribe", "hub.verify_token": "t0k", "hub.challenge": "1158201444"}, "t0k")
(200, '1158201444')
>>> handshake({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, "t0k")[0]
403
>>> body = b'{"object": "page", "entry": []}'
>>> verify_signature(body, sign(body, "s3cret"), "s3cret"), verify_signature(body, sign(body, "other"), "s3cret")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

META_FORMATS = ("facebook", "instagram")
SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """Constant-time check of ``X-Hub-Signature-256`` over the raw request body."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode())


def handshake(params: Mapping[str, str], verify_token: str | None) -> tuple[int, str]:
    """(status, body) for the verification GET: the challenge when the token matches, else 403."""
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return 403, "verification refused"
    given = params.get("hub.verify_token") or ""
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return 403, "verification refused"
    challenge = params.get("hub.challenge") or ""
    if not challenge or len(challenge) > 256:
        return 400, "no hub.challenge"
    return 200, challenge
