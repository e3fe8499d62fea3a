"""Receivers that count every request they get, for the loss and duplicate tests of a real worker.

The JSONL alert log drops repeated alert ids itself, so it cannot show a
duplicate; these can. One :class:`Receivers` runs, on loopback, a signed
webhook receiver (``http.server`` in a thread), the Slack Web API look-alike
of :mod:`tests.sink_servers` (``chat.postMessage`` with metadata,
``conversations.history``; served by its ``serve_in_thread``) and an
aiosmtpd SMTP server, and gives the worker's environment and the policy's
``receivers:`` for all three. :meth:`Receivers.tally` counts, per receiver,
what a person would see: webhook requests answered 2xx, Slack top-level
messages, mails.
"""

from __future__ import annotations

import asyncio
import email
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.sink_servers import FakeSlack, Mailbox, free_port, serve_in_thread, smtp_server

SECRET = "hook-secret-counting-7c2e"
SLACK_TOKEN = "xoxb-counting-slack-token-41f9"
POLICY_RECEIVERS = "hook: {type: webhook}\n  chat: {type: slack}\n  mail: {type: email}\n  audit: {type: jsonl}"
NAMES = ("hook", "chat", "mail")


@dataclass
class Hit:
    at: float
    alert_id: str
    key: str
    status: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class WebhookLog:
    """Every POST the webhook receiver got. ``behave(alert_id) -> (status, seconds to wait first)``."""

    hits: list[Hit] = field(default_factory=list)
    behave: Callable[[str], tuple[int, float]] = lambda alert_id: (200, 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        log = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                alert_id = body.get("alert_id") or (body.get("alert") or {}).get("alert_id") or body.get("notice_id", "")
                if body.get("type") == "notice":
                    alert_id = f"notice:{body.get('notice_id')}"
                status, wait_s = log.behave(alert_id)
                if wait_s:
                    time.sleep(wait_s)
                with log.lock:
                    log.hits.append(Hit(time.time(), alert_id, self.headers.get("Idempotency-Key", ""), status, body))
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def delivered(self) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if 200 <= hit.status < 300]

    def notices(self) -> list[dict[str, Any]]:
        """The follow-ups delivered (answered 2xx), each as often as it came."""
        return [hit.body for hit in self.delivered() if hit.body.get("type") == "notice"]


class Receivers:
    """The three counting receivers; use as a context manager."""

    def __init__(self) -> None:
        self.webhook = WebhookLog()
        self.slack = FakeSlack(SLACK_TOKEN, real_time=True)
        self.mailbox = Mailbox()

    def __enter__(self) -> Receivers:
        self._http = ThreadingHTTPServer(("127.0.0.1", free_port()), self.webhook.handler())
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._slack_cm = serve_in_thread(self.slack.app())
        self._slack_base, self._slack_loop = self._slack_cm.__enter__()
        self._smtp_cm = smtp_server(self.mailbox)
        self._smtp = self._smtp_cm.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._http.shutdown()
        self._slack_cm.__exit__(None, None, None)
        self._smtp_cm.__exit__(None, None, None)

    def env(self, slack_rate: float = 500.0) -> dict[str, str]:
        host, port = self._smtp
        return {
            "POT_WEBHOOK_URL": f"http://127.0.0.1:{self._http.server_address[1]}/hooks/pot", "POT_WEBHOOK_SECRET": SECRET,
            "POT_SLACK_BOT_TOKEN": SLACK_TOKEN, "POT_SLACK_CHANNEL": self.slack.channel,
            "POT_SLACK_API_URL": f"{self._slack_base}/api", "POT_SLACK_RATE_PER_S": str(slack_rate),
            "POT_SMTP_HOST": host, "POT_SMTP_PORT": str(port), "POT_SMTP_TLS": "none",
            "POT_EMAIL_FROM": "pot@example.com", "POT_EMAIL_TO": "desk@example.com",
        }

    def _slack_posts(self) -> list[str]:
        async def read() -> list[str]:
            return self.slack.alert_posts()

        return asyncio.run_coroutine_threadsafe(read(), self._slack_loop).result(30)

    def tally(self) -> dict[str, Counter]:
        """Per receiver: alert id → how many times a person got it."""
        mails = [email.message_from_bytes(envelope.content) for envelope in list(self.mailbox.envelopes)]
        return {
            "hook": Counter(hit.alert_id for hit in self.webhook.delivered() if hit.alert_id.startswith("al-")),
            "chat": Counter(self._slack_posts()),
            "mail": Counter(str(m["X-POT-Alert-Id"]) for m in mails if m["X-POT-Alert-Id"] and not m["X-POT-Notice-Id"]),
        }

    def report(self, expected: set[str]) -> dict[str, dict[str, int]]:
        """Per receiver: lost (expected, never received), duplicated (received more than once), extra."""
        return {
            name: {"lost": len(expected - set(counts)), "duplicated": sum(n - 1 for n in counts.values() if n > 1),
                   "extra": len(set(counts) - expected)}
            for name, counts in self.tally().items()
        }

    def wait_for_all(self, expected: set[str], timeout: float) -> dict[str, dict[str, int]]:
        """Wait until every receiver has every expected alert (or the time is up); return :meth:`report`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.report(expected)
            if all(r["lost"] == 0 for r in report.values()):
                return report
            time.sleep(1.0)
        return self.report(expected)

    def duplicate_keys(self) -> list[tuple[str, list[str]]]:
        """Alerts the webhook got twice or more, with the Idempotency-Key of each delivery."""
        keys: dict[str, list[str]] = {}
        for hit in self.webhook.delivered():
            keys.setdefault(hit.alert_id, []).append(hit.key)
        return [(alert_id, ks) for alert_id, ks in keys.items() if len(ks) > 1]
