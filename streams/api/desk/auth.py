"""Who is at the desk: users with scrypt-hashed passwords, signed session cookies, CSRF tokens, or a trusted
header set by an authenticating proxy. Pure functions and small classes; the views call them.

Passwords are hashed with the standard library's ``hashlib.scrypt`` (n=2**14, r=8, p=1, 16-byte salt), stored as
``scrypt$n$r$p$salt$hash`` (base64) in the users file, and compared in constant time.

>>> stored = hash_password("correct horse", n=2**10)
>>> verify_password("correct horse", stored), verify_password("wrong", stored), verify_password("x", "garbage")
(True, False, False)
>>> keys = Keys(b"k" * 32)
>>> cookie = keys.session_cookie("ana", now=1000.0, ttl_s=3600)
>>> session = keys.session(cookie, now=2000.0)
>>> session.user, keys.session(cookie, now=5000.0), keys.session(cookie[:-2] + "xx", now=2000.0)
('ana', None, None)
>>> keys.csrf_ok(session, keys.csrf_token(session)), keys.csrf_ok(session, "forged")
(True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DeskUsers", "Keys", "LoginThrottle", "Session", "hash_password", "verify_password", "valid_username"]

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_USER = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def valid_username(name: str) -> bool:
    """Letters, digits and ``. _ @ + -``, up to 64: names that are safe in logs, events and cookies.

    >>> valid_username("ana.pop@acme"), valid_username("<script>"), valid_username("")
    (True, False, False)
    """
    return bool(_USER.match(name))


def hash_password(password: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=256 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


class DeskUsers:
    """The users file (YAML ``users: {name: {password_hash: "scrypt$..."}}``), re-read when it changes, so
    adding a user needs no restart. A missing or invalid file leaves no one able to log in, and says why."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._mtime: float | None = None
        self._users: dict[str, str] = {}

    def _refresh(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            if self._users:
                log.error("desk users file %s is gone: no one can log in", self.path)
            self._users, self._mtime = {}, None
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self._users = parse_users(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            log.error("desk users file %s is invalid (%s): no one can log in", self.path, exc)
            self._users = {}

    def names(self) -> list[str]:
        self._refresh()
        return sorted(self._users)

    def check(self, name: str, password: str) -> bool:
        self._refresh()
        stored = self._users.get(name)
        if stored is None:
            verify_password(password, _DUMMY)  # the same work for unknown names: no timing oracle for who exists
            return False
        return verify_password(password, stored)


_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def parse_users(text: str) -> dict[str, str]:
    """Name → stored hash; ``ValueError`` naming what is wrong.

    >>> parse_users("users:\\n  ana: {password_hash: 'scrypt$1$1$1$a$b'}\\n")
    {'ana': 'scrypt$1$1$1$a$b'}
    """
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"not YAML: {exc}") from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise ValueError("it needs a 'users' mapping")
    out = {}
    for name, entry in users.items():
        if not isinstance(name, str) or not valid_username(name):
            raise ValueError(f"users.{name}: a name of letters, digits and . _ @ + - is needed")
        stored = entry.get("password_hash") if isinstance(entry, dict) else None
        if not isinstance(stored, str) or not stored.startswith("scrypt$"):
            raise ValueError(f"users.{name}.password_hash: a hash from `pot desk hash-password` is needed")
        out[name] = stored
    return out


def add_user(path: Path, name: str, password: str) -> None:
    """Add or replace one user in a users file (created when missing, mode 0600)."""
    if not valid_username(name):
        raise ValueError("a name of letters, digits and . _ @ + - is needed")
    data: dict[str, Any] = {}
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("users", {})[name] = {"password_hash": hash_password(password)}
    path.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    path.chmod(0o600)


@dataclass(frozen=True)
class Session:
    user: str
    sid: str
    expires: float


class Keys:
    """Signs session cookies and derives CSRF tokens from one secret (HMAC-SHA256)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the desk secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest())

    def session_cookie(self, user: str, now: float, ttl_s: float) -> str:
        body = _b64(json.dumps({"u": user, "s": secrets.token_urlsafe(16), "e": int(now + ttl_s)}).encode())
        return f"{body}.{self._mac('session', body)}"

    def session(self, cookie: str | None, now: float) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        body, _, mac = cookie.partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac("session", body).encode()):
            return None
        try:
            data = json.loads(_unb64(body))
            session = Session(str(data["u"]), str(data["s"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > now and valid_username(session.user) else None

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf", session.sid)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf_token(session).encode())

    def login_token(self, nonce: str) -> str:
        """The login form's CSRF token, tied to a pre-login cookie (double submit, signed)."""
        return self._mac("login", nonce)

    def login_ok(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce) and bool(token) and hmac.compare_digest(str(token).encode(), self.login_token(str(nonce)).encode())


def load_secret(configured: str | None, path: Path) -> bytes:
    """The configured secret, or one kept in ``path`` (created 0600 on first use) so sessions survive a restart.
    Several workers behind one address need the same configured secret."""
    if configured:
        return configured.encode("utf-8")
    try:
        text = path.read_text().strip()
        if len(text) >= 32:
            return text.encode()
    except OSError:
        pass
    text = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    return text.encode()


class LoginThrottle:
    """After ``limit`` failures for a name or an address within ``window_s``, refuse further tries for
    ``window_s``: guessing passwords through the form is slow.

    >>> t = LoginThrottle(limit=2, window_s=60)
    >>> t.fail("ana", "1.2.3.4", now=0); t.fail("ana", "5.6.7.8", now=1); t.blocked("ana", "9.9.9.9", now=2)
    True
    >>> t.blocked("bo", "9.9.9.9", now=2), t.blocked("ana", "9.9.9.9", now=62)
    (False, False)
    """

    def __init__(self, limit: int = 5, window_s: float = 60.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._fails: dict[str, list[float]] = {}

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._fails.get(key, []) if now - t < self.window_s]
        if kept:
            self._fails[key] = kept
        else:
            self._fails.pop(key, None)
        return kept

    def blocked(self, name: str, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return any(len(self._recent(k, now)) >= self.limit for k in (f"u:{name}", f"a:{address}"))

    def fail(self, name: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._fails) > 10_000:
            self._fails.clear()
        for key in (f"u:{name}", f"a:{address}"):
            self._fails.setdefault(key, []).append(now)
