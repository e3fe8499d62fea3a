"""A SASL/SCRAM door in front of the embedded broker for tests: Kafka's SASL exchange answered by a real SCRAM server.

The vendored Tansu negotiates SCRAM but cannot keep a user (its storage is memory only, and no user can be
created on a broker that already authenticates), so a successful login cannot be shown against it. This door
does what a SASL listener of a Kafka broker does and nothing more: it answers SaslHandshake (v1; v0, whose tokens
travel unframed, is refused) and SaslAuthenticate (v0-2) itself, checking the client's SCRAM messages with scramp's server (RFC 5802 and
7677, salted and iterated as Kafka stores SCRAM credentials) and PLAIN's one message (RFC 4616), refuses every other request before a login, and
after one pipes the connection to Tansu byte for byte. Tansu advertises the door's port, so every client comes
back through it, as through stunnel for TLS (tests/kafka_tls.py). Given a PKI, stunnel stands in front of the door
(SASL_SSL, as managed Kafka is reached).

``logins`` records each login as (mechanism, user, accepted): the far end of the exchange, counted.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from pathlib import Path

from scramp import ScramException, ScramMechanism

from streams.kafka.broker import EmbeddedBroker, free_port

from .kafka_tls import Pki, start_stunnel, wait_for_stunnel

SASL_HANDSHAKE, SASL_AUTHENTICATE, API_VERSIONS = 17, 36, 18
UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE, UNSUPPORTED_VERSION, SASL_AUTHENTICATION_FAILED = 33, 34, 35, 58
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
DOOR_MECHANISMS = (*MECHANISMS, "PLAIN")


def _uvarint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _put_uvarint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _request_body(frame: bytes, flexible: bool) -> bytes:
    """The body of a request frame after its header (v1, or v2 with tagged fields when ``flexible``)."""
    (client_id_len,) = struct.unpack_from(">h", frame, 8)
    at = 10 + max(client_id_len, 0)
    if flexible:
        tags, at = _uvarint(frame, at)
        for _ in range(tags):
            _, at = _uvarint(frame, at)
            size, at = _uvarint(frame, at)
            at += size
    return frame[at:]


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


class ScramBroker:
    """Tansu behind a SASL/SCRAM door (and TLS when ``pki`` is given); ``bootstrap`` is where clients connect.
    ``users``: name -> password, for both mechanisms."""

    def __init__(self, folder: Path, users: dict[str, str], pki: Pki | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.pki = folder, pki
        self.port = free_port()
        self.tls_port = free_port() if pki else None
        self.stunnel = None
        self.broker = EmbeddedBroker(log_path=folder / "tansu.log")
        self.broker.advertised = f"tcp://{self.bootstrap}"
        self.users = dict(users)
        self.credentials = {
            mechanism: {user: ScramMechanism(mechanism).make_auth_info(password, iteration_count=4096)
                        for user, password in users.items()}
            for mechanism in MECHANISMS
        }
        self.logins: list[tuple[str, str, bool]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.tls_port or self.port}"

    def __enter__(self) -> "ScramBroker":
        self._thread.start()
        try:
            self._server = asyncio.run_coroutine_threadsafe(
                asyncio.start_server(self._client, "127.0.0.1", self.port), self._loop
            ).result(10)
            if self.pki is not None and self.tls_port is not None:
                self.stunnel = start_stunnel(self.folder, self.pki, self.tls_port, f"127.0.0.1:{self.port}")
                wait_for_stunnel(self.stunnel, self.bootstrap, self.folder)
            self.broker.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stunnel is not None and self.stunnel.poll() is None:
            self.stunnel.terminate()
            self.stunnel.wait(10)
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
        self.broker.stop()

    async def _shut(self) -> None:
        """Close the door and every connection through it, on the door's own loop."""
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        mechanism: str | None = None
        server = None
        who = {"user": "?"}

        def credentials(user: str) -> tuple[bytes, bytes, bytes, int]:
            who["user"] = user
            return self.credentials[mechanism or ""][user]

        try:
            while True:
                frame = await reader.readexactly(struct.unpack(">i", await reader.readexactly(4))[0])
                api_key, version, correlation = struct.unpack_from(">hhi", frame, 0)
                if api_key == SASL_HANDSHAKE and version == 0:
                    writer.write(_frame(struct.pack(">ihi", correlation, UNSUPPORTED_VERSION, 0)))
                    await writer.drain()
                    return
                if api_key == SASL_HANDSHAKE:
                    body = _request_body(frame, False)
                    (size,) = struct.unpack_from(">h", body, 0)
                    asked = body[2 : 2 + size].decode()
                    mechanism = asked if asked in DOOR_MECHANISMS else None
                    names = b"".join(struct.pack(">h", len(m)) + m.encode() for m in DOOR_MECHANISMS)
                    error = 0 if mechanism else UNSUPPORTED_SASL_MECHANISM
                    writer.write(_frame(struct.pack(">ihi", correlation, error, len(DOOR_MECHANISMS)) + names))
                    await writer.drain()
                    if mechanism is None:
                        return
                    if mechanism in MECHANISMS:
                        server = ScramMechanism(mechanism).make_server(credentials)
                elif api_key == SASL_AUTHENTICATE:
                    flexible = version >= 2
                    body = _request_body(frame, flexible)
                    if flexible:
                        size, at = _uvarint(body, 0)
                        token = body[at : at + size - 1]
                    else:
                        (size,) = struct.unpack_from(">i", body, 0)
                        token = body[4 : 4 + size]
                    answer, error, message = b"", 0, None
                    try:
                        if mechanism == "PLAIN":  # RFC 4616: authzid NUL authcid NUL passwd
                            _, who["user"], password = token.decode().split("\0")
                            if self.users.get(who["user"]) != password:
                                raise ScramException("wrong PLAIN password")
                            upstream = await asyncio.open_connection(*self.broker.bootstrap.split(":"))
                            self.logins.append((mechanism, who["user"], True))
                        elif server is None:
                            error, message = ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake"
                        elif server.stage is None:
                            server.set_client_first(token.decode())
                            answer = server.get_server_first().encode()
                        else:
                            server.set_client_final(token.decode())
                            answer = server.get_server_final().encode()
                            upstream = await asyncio.open_connection(*self.broker.bootstrap.split(":"))
                            self.logins.append((mechanism or "", who["user"], True))
                    except (ScramException, KeyError, ValueError):
                        error = SASL_AUTHENTICATION_FAILED
                        message = f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
                        self.logins.append((mechanism or "", who["user"], False))
                    writer.write(_frame(self._authenticate_response(correlation, version, error, message, answer)))
                    await writer.drain()
                    if error:
                        return
                    if upstream is not None:
                        await self._pipe(reader, writer, *upstream)
                        return
                elif api_key == API_VERSIONS:
                    up_reader, up_writer = await asyncio.open_connection(*self.broker.bootstrap.split(":"))
                    try:
                        up_writer.write(_frame(frame))
                        await up_writer.drain()
                        answer = await up_reader.readexactly(struct.unpack(">i", await up_reader.readexactly(4))[0])
                    finally:
                        up_writer.close()
                    writer.write(_frame(answer))
                    await writer.drain()
                else:
                    return  # as a SASL listener does: nothing but ApiVersions before a login
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()
            if upstream is not None:
                upstream[1].close()

    @staticmethod
    def _authenticate_response(correlation: int, version: int, error: int, message: str | None, answer: bytes) -> bytes:
        if version >= 2:
            text = b"\x00" if message is None else _put_uvarint(len(message.encode()) + 1) + message.encode()
            return (struct.pack(">i", correlation) + b"\x00" + struct.pack(">h", error) + text
                    + _put_uvarint(len(answer) + 1) + answer + struct.pack(">q", 0) + b"\x00")
        text = struct.pack(">h", -1) if message is None else struct.pack(">h", len(message.encode())) + message.encode()
        out = struct.pack(">ih", correlation, error) + text + struct.pack(">i", len(answer)) + answer
        return out + (struct.pack(">q", 0) if version >= 1 else b"")

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
