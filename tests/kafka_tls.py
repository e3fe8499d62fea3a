"""Real TLS in front of the embedded broker for tests: a throwaway PKI (openssl) and stunnel terminating TLS.

The vendored Tansu cannot speak TLS itself (its CLI refuses ``--cert`` with
``--key``; alone, either leaves the listener plaintext), so stunnel4 accepts
TLS (optionally requiring a client certificate signed by our CA) and forwards
to Tansu, which advertises the TLS port so that every client reconnects
through it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from streams.kafka.broker import EmbeddedBroker, _tcp_open, free_port


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
                 "-days", "2", "-subj", f"/CN=pot test {name}", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, extra in (("server", ["-extfile", "san.ext"]), ("client", [])):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN=pot-{name}", cwd=folder)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", *extra, cwd=folder)
    return Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
               folder / "client.key", folder / "other-ca.pem")


def stunnel_binary() -> str | None:
    return shutil.which("stunnel4") or shutil.which("stunnel")


def start_stunnel(folder: Path, pki: Pki, port: int, connect: str, mtls: bool = False) -> subprocess.Popen[bytes]:
    """stunnel accepting TLS on ``port`` (client certificates required when ``mtls``) and forwarding to ``connect``."""
    binary = stunnel_binary()
    assert binary, "stunnel4 is not installed (.ci/run installs it: apt-get install stunnel4)"
    verify = f"CAfile = {pki.ca}\nverifyChain = yes\nrequireCert = yes\n" if mtls else ""
    conf = folder / "stunnel.conf"
    conf.write_text(
        f"foreground = yes\npid =\ndebug = 3\n[kafka]\naccept = 127.0.0.1:{port}\n"
        f"connect = {connect}\ncert = {pki.server_cert}\nkey = {pki.server_key}\n{verify}"
    )
    with open(folder / "stunnel.log", "ab") as log:
        return subprocess.Popen([binary, str(conf)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_for_stunnel(stunnel: subprocess.Popen[bytes], address: str, folder: Path) -> None:
    deadline = time.monotonic() + 15
    while not _tcp_open(address, 0.5):
        assert stunnel.poll() is None and time.monotonic() < deadline, (folder / "stunnel.log").read_text()
        time.sleep(0.1)


class TlsBroker:
    """Tansu on a loopback port behind stunnel; ``bootstrap`` is the TLS port. ``mtls``: client certificates required."""

    def __init__(self, folder: Path, pki: Pki, mtls: bool) -> None:
        self.folder, self.pki, self.mtls = folder, pki, mtls
        folder.mkdir(parents=True, exist_ok=True)
        self.tls_port = free_port()
        self.broker = EmbeddedBroker(log_path=folder / "tansu.log")
        self.stunnel: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.tls_port}"

    def __enter__(self) -> "TlsBroker":
        self.broker.advertised = f"tcp://127.0.0.1:{self.tls_port}"
        self.stunnel = start_stunnel(self.folder, self.pki, self.tls_port, self.broker.bootstrap, self.mtls)
        self.broker.start()
        wait_for_stunnel(self.stunnel, self.bootstrap, self.folder)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stunnel is not None and self.stunnel.poll() is None:
            self.stunnel.terminate()
            self.stunnel.wait(10)
        self.broker.stop()
