"""Kafka TLS and SASL, set once (POT_KAFKA_*) and used by every client.

Real TLS and mTLS: stunnel4 in front of the embedded broker (tests/kafka_tls.py), reached by `pot send`
(kafka-python), whole-topic readers (kafka-python), aiokafka, and a whole `pot run` (faust). SASL: the
vendored Tansu negotiates SCRAM when started with --authentication, but no user can be created on it
(`tansu user create` cannot authenticate to an authenticated broker; kafka-python's
AlterUserScramCredentials is refused before SASL: NotAuthenticated). Against it: a wrong password or no
credentials end in a clear error naming the variables and a non-zero exit. Successful SCRAM-SHA-256,
SCRAM-SHA-512 and PLAIN logins are shown through tests/kafka_scram.py's door (Kafka's SASL exchange
answered by scramp's RFC 5802 server, then a byte pipe to Tansu), over plaintext and TLS, by `pot send`,
the readers and a whole `pot run`; the door counts every login it accepted or refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from streams.config import Settings
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.readers import read_records
from streams.kafka.security import aiokafka_kwargs, faust_broker_kwargs, kafka_python_kwargs

from .conftest import start_monitor, stop_monitor, wait_for
from .kafka_scram import MECHANISMS, ScramBroker
from .kafka_tls import TlsBroker, make_pki, stunnel_binary

POST = {"id": "tls-1", "platform": "x", "text": "my card was charged twice and nobody answers", "author": {"id": "ann"},
        "created_at": "2026-01-05T10:00:00Z", "lang": "en"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POT_")}
    return {**env, "POT_BROKER_WAIT_S": "8", **extra}


def _settings(monkeypatch, **env: str) -> Settings:
    for name in [k for k in os.environ if k.startswith("POT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def _pot(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, input=stdin, timeout=180)


def _tls_env(broker: str, pki, client_cert: bool = True, ca: Path | None = None) -> dict[str, str]:
    env = {"POT_BROKER": broker, "POT_KAFKA_SECURITY_PROTOCOL": "SSL", "POT_KAFKA_SSL_CAFILE": str(ca or pki.ca),
           "POT_TOPIC_PREFIX": "sec."}
    if client_cert:
        env |= {"POT_KAFKA_SSL_CERTFILE": str(pki.client_cert), "POT_KAFKA_SSL_KEYFILE": str(pki.client_key)}
    return env


def _alert_through(monitor, post: dict) -> dict:
    """POST one post to a running monitor and wait for its alert: the whole worker reached the broker both ways."""
    headers = {"Authorization": "Bearer test-token-5f1c2a9e7b"}
    assert httpx.post(f"{monitor.web}/posts", json=post, headers=headers, timeout=30).status_code == 202
    return wait_for(lambda: monitor.alerts(), f"an alert for {post['id']} through the secured broker", timeout=90)[0]


# ---------------------------------------------------------------- what each client is given


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_settings_reach_every_client(monkeypatch, protocol, mechanism):
    import faust
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient

    settings = _settings(monkeypatch, POT_BROKER="k1:9093", POT_KAFKA_SECURITY_PROTOCOL=protocol.lower(),
                         POT_KAFKA_SASL_MECHANISM=mechanism, POT_KAFKA_SASL_USERNAME="api-key",
                         POT_KAFKA_SASL_PASSWORD="api-secret")
    expected = {"security_protocol": protocol, "sasl_mechanism": mechanism, "sasl_plain_username": "api-key",
                "sasl_plain_password": "api-secret"}

    kwargs = kafka_python_kwargs(settings)
    assert kwargs.items() >= expected.items() and kwargs["bootstrap_servers"] == ["k1:9093"]
    assert ("ssl_context" in kwargs) == (protocol == "SASL_SSL")
    for client in (KafkaProducer, KafkaConsumer, KafkaAdminClient):  # kafka-python rejects keywords it does not know
        assert set(kwargs) <= set(client.DEFAULT_CONFIG), client

    async def built() -> None:
        for cls in (AIOKafkaProducer, AIOKafkaConsumer):
            made = cls(**aiokafka_kwargs(settings))
            client = made.client if isinstance(made, AIOKafkaProducer) else made._client
            await made.stop()
            assert (client._security_protocol, client._sasl_mechanism, client._sasl_plain_username,
                    client._sasl_plain_password) == (protocol, mechanism, "api-key", "api-secret")
            assert (client._ssl_context is not None) == (protocol == "SASL_SSL")
    asyncio.run(built())

    app = faust.App("sec-test", autodiscover=False, **faust_broker_kwargs(settings))
    credentials = app.conf.broker_credentials
    assert "api-secret" not in repr(credentials)
    # what faust hands its aiokafka producer, consumer and admin client
    assert credentials_to_aiokafka_auth(credentials).items() >= expected.items()


def test_ssl_settings_build_one_context_with_the_client_certificate(monkeypatch, pki):
    import faust
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    settings = _settings(monkeypatch, **_tls_env("k1:9093", pki))
    kwargs = kafka_python_kwargs(settings)
    assert kwargs["security_protocol"] == "SSL" and "sasl_mechanism" not in kwargs
    assert kwargs["ssl_context"].check_hostname
    auth = credentials_to_aiokafka_auth(faust.App("t", autodiscover=False, **faust_broker_kwargs(settings)).conf.broker_credentials)
    assert auth["security_protocol"] == "SSL" and auth["ssl_context"] is not None


def test_plaintext_gives_no_security_arguments(monkeypatch):
    settings = _settings(monkeypatch, POT_BROKER="k1:9092")
    assert kafka_python_kwargs(settings) == {"bootstrap_servers": ["k1:9092"], "security_protocol": "PLAINTEXT"}
    assert faust_broker_kwargs(settings) == {"broker": "kafka://k1:9092"}


# ---------------------------------------------------------------- real TLS through stunnel


needs_stunnel = pytest.mark.skipif(stunnel_binary() is None, reason="stunnel4 not installed (.ci/run installs it)")


@needs_stunnel
def test_mtls_pot_send_and_readers(tmp_path, pki):
    with TlsBroker(tmp_path, pki, mtls=True) as broker:
        env = _clean_env(**_tls_env(broker.bootstrap, pki))
        sent = _pot("send", "-", env=env, cwd=tmp_path, stdin=json.dumps(POST) + "\n")
        assert sent.returncode == 0, sent.stderr
        assert "sent 1 post(s)" in sent.stderr + sent.stdout

        settings = Settings(**{"broker": broker.bootstrap, "topic_prefix": "sec."}, kafka={
            "security_protocol": "SSL", "ssl_cafile": pki.ca, "ssl_certfile": pki.client_cert, "ssl_keyfile": pki.client_key})
        values = [json.loads(r.value) for r in read_records(kafka_python_kwargs(settings), "sec.posts")]
        assert [v["id"] for v in values] == ["tls-1"]

        async def aio_read() -> list[str]:
            from aiokafka import AIOKafkaConsumer, TopicPartition

            consumer = AIOKafkaConsumer(**aiokafka_kwargs(settings), enable_auto_commit=False)
            await consumer.start()
            try:
                consumer.assign([TopicPartition("sec.posts", p) for p in consumer.partitions_for_topic("sec.posts") or {0}])
                await consumer.seek_to_beginning()
                batches = await consumer.getmany(timeout_ms=5000)
                return [json.loads(r.value)["id"] for rs in batches.values() for r in rs]
            finally:
                await consumer.stop()
        assert asyncio.run(aio_read()) == ["tls-1"]

        no_cert = _pot("send", "-", env=_clean_env(**_tls_env(broker.bootstrap, pki, client_cert=False)), cwd=tmp_path,
                       stdin=json.dumps(POST) + "\n")
        assert no_cert.returncode == 3
        assert "POT_KAFKA_SSL_CERTFILE" in no_cert.stderr and f"POT_BROKER=kafka://{broker.bootstrap}" in no_cert.stderr

        wrong_ca = _pot("send", "-", env=_clean_env(**_tls_env(broker.bootstrap, pki, ca=pki.other_ca)), cwd=tmp_path,
                        stdin=json.dumps(POST) + "\n")
        assert wrong_ca.returncode == 3 and "POT_KAFKA_SSL_CAFILE" in wrong_ca.stderr

        plaintext = _pot("send", "-", env=_clean_env(POT_BROKER=broker.bootstrap), cwd=tmp_path, stdin=json.dumps(POST) + "\n")
        assert plaintext.returncode == 3 and "POT_KAFKA_SECURITY_PROTOCOL" in plaintext.stderr


@needs_stunnel
@pytest.mark.e2e
def test_pot_run_over_mtls_alerts_and_readyz_follows_the_broker(tmp_path, pki):
    """The whole worker (faust's producer, consumer, tables, admin) on an mTLS-only broker; /readyz says when it goes."""
    with TlsBroker(tmp_path / "tls", pki, mtls=True) as broker:
        tls = _tls_env(broker.bootstrap, pki) | {"POT_TOPIC_PREFIX": "e2e."}
        monitor = start_monitor(tmp_path / "run", tls)
        try:
            log = monitor.log()
            assert "Kafka at kafka://" in log and "SSL" in log and "embedded broker" not in log
            assert _alert_through(monitor, POST)["post"]["id"] == "tls-1"
            assert httpx.get(f"{monitor.web}/readyz", timeout=10).status_code == 200
            broker.stunnel.terminate()
            broker.stunnel.wait(10)
            def not_ready() -> dict | None:
                try:
                    answer = httpx.get(f"{monitor.web}/readyz", timeout=10)
                except httpx.HTTPError:
                    return None
                return answer.json() if answer.status_code == 503 else None

            gone = wait_for(not_ready, "/readyz to notice the broker is gone", timeout=60)
            assert any("broker unreachable" in p for p in gone["problems"])
        finally:
            stop_monitor(monitor)


# ---------------------------------------------------------------- SASL against Tansu --authentication


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("sasl") / "tansu.log", authentication=True) as broker:
        yield broker


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256"])
def test_wrong_password_is_a_clear_error_and_exit_3(tmp_path, sasl_broker, mechanism):
    env = _clean_env(POT_BROKER=sasl_broker.bootstrap, POT_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                     POT_KAFKA_SASL_MECHANISM=mechanism, POT_KAFKA_SASL_USERNAME="alice",
                     POT_KAFKA_SASL_PASSWORD="not-her-password", POT_BROKER_WAIT_S="4")
    result = _pot("send", "-", env=env, cwd=tmp_path, stdin=json.dumps(POST) + "\n")
    assert result.returncode == 3
    assert f"SASL {mechanism} as 'alice' was not accepted" in result.stderr
    assert "POT_KAFKA_SASL_PASSWORD" in result.stderr and "not-her-password" not in result.stderr + result.stdout


def test_no_credentials_against_an_authenticating_broker(tmp_path, sasl_broker):
    result = _pot("send", "-", env=_clean_env(POT_BROKER=sasl_broker.bootstrap, POT_BROKER_WAIT_S="3"), cwd=tmp_path,
                  stdin=json.dumps(POST) + "\n")
    assert result.returncode == 3 and "POT_KAFKA_SECURITY_PROTOCOL" in result.stderr


def test_pot_run_never_falls_back_to_the_embedded_broker(tmp_path, sasl_broker):
    env = _clean_env(POT_BROKER=sasl_broker.bootstrap, POT_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                     POT_KAFKA_SASL_MECHANISM="SCRAM-SHA-512", POT_KAFKA_SASL_USERNAME="alice",
                     POT_KAFKA_SASL_PASSWORD="wrong", POT_BROKER_WAIT_S="3", POT_DATA_DIR=str(tmp_path / "d"))
    result = _pot("run", env=env, cwd=tmp_path)
    assert result.returncode == 3
    assert f"POT_BROKER=kafka://{sasl_broker.bootstrap}" in result.stderr and "nothing was started" in result.stderr
    assert "embedded broker (tansu)" not in result.stderr and not (tmp_path / "d" / "broker.url").exists()


def test_pot_run_refuses_security_settings_without_a_broker(tmp_path):
    env = _clean_env(POT_KAFKA_SECURITY_PROTOCOL="SSL", POT_DATA_DIR=str(tmp_path / "d"))
    result = _pot("run", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "POT_BROKER is unset" in result.stderr


def test_a_misspelt_broker_variable_stops_pot_run(tmp_path):
    result = _pot("run", env=_clean_env(POT_BROKR="kafka://cluster:9092", POT_DATA_DIR=str(tmp_path / "d")), cwd=tmp_path)
    assert result.returncode == 2
    assert "POT_BROKR is not a setting (did you mean POT_BROKER?)" in result.stderr
    assert "embedded broker (tansu)" not in result.stderr


# ---------------------------------------------------------------- a successful SCRAM login (tests/kafka_scram.py)

SCRAM_POST = {**POST, "id": "scram-1"}


def _scram_env(door: ScramBroker, mechanism: str, password: str = "s3cret-pw", pki=None) -> dict[str, str]:
    env = {"POT_BROKER": door.bootstrap, "POT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL" if pki else "SASL_PLAINTEXT",
           "POT_KAFKA_SASL_MECHANISM": mechanism, "POT_KAFKA_SASL_USERNAME": "alice", "POT_KAFKA_SASL_PASSWORD": password,
           "POT_TOPIC_PREFIX": "sec."}
    return env | ({"POT_KAFKA_SSL_CAFILE": str(pki.ca)} if pki else {})


@pytest.mark.parametrize(("mechanism", "tls"), [("SCRAM-SHA-256", False), ("SCRAM-SHA-512", False), ("PLAIN", True)])
def test_a_sasl_login_lets_pot_send_and_the_readers_through(tmp_path, pki, mechanism, tls):
    if tls and stunnel_binary() is None:
        pytest.skip("stunnel4 not installed (.ci/run installs it)")
    with ScramBroker(tmp_path, {"alice": "s3cret-pw"}, pki=pki if tls else None) as door:
        env = _scram_env(door, mechanism, pki=pki if tls else None)
        sent = _pot("send", "-", env=_clean_env(**env), cwd=tmp_path, stdin=json.dumps(SCRAM_POST) + "\n")
        assert sent.returncode == 0, sent.stderr
        settings = Settings(**{"broker": door.bootstrap, "topic_prefix": "sec."}, kafka={
            "security_protocol": env["POT_KAFKA_SECURITY_PROTOCOL"], "sasl_mechanism": mechanism, "sasl_username": "alice",
            "sasl_password": "s3cret-pw", **({"ssl_cafile": pki.ca} if tls else {})})
        assert [json.loads(r.value)["id"] for r in read_records(kafka_python_kwargs(settings), "sec.posts")] == ["scram-1"]
        assert door.logins and set(door.logins) == {(mechanism, "alice", True)}

        wrong = _pot("send", "-", env=_clean_env(**_scram_env(door, mechanism, "not-her-password", pki=pki if tls else None),
                                                 POT_BROKER_WAIT_S="10"), cwd=tmp_path, stdin=json.dumps(SCRAM_POST) + "\n")
        assert wrong.returncode == 3
        assert f"SASL {mechanism} as 'alice' was not accepted" in wrong.stderr
        assert "not-her-password" not in wrong.stderr + wrong.stdout
        assert (mechanism, "alice", False) in door.logins


@needs_stunnel
@pytest.mark.e2e
def test_pot_run_over_sasl_ssl_with_scram_alerts(tmp_path, pki):
    """The whole worker (faust's producer, consumer group, tables, admin) logs in with SCRAM-SHA-512 over TLS."""
    with ScramBroker(tmp_path / "door", {"alice": "s3cret-pw"}, pki=pki) as door:
        monitor = start_monitor(tmp_path / "run", _scram_env(door, "SCRAM-SHA-512", pki=pki) | {"POT_TOPIC_PREFIX": "e2e."})
        try:
            log = monitor.log()
            assert "Kafka at kafka://" in log and "SCRAM-SHA-512 as alice" in log and "s3cret-pw" not in log
            assert _alert_through(monitor, SCRAM_POST)["post"]["id"] == "scram-1"
            assert len(door.logins) >= 2 and set(door.logins) == {("SCRAM-SHA-512", "alice", True)}
        finally:
            stop_monitor(monitor)
