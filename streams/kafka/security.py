"""TLS and SASL for every Kafka client, from the one ``POT_KAFKA_*`` section of the settings.

Each client library spells the same settings its own way; these functions are
the only place that knows how, so a secured cluster is set once and reached by
all of them:

* :func:`kafka_python_kwargs`: kafka-python's ``KafkaProducer``,
  ``KafkaConsumer`` and ``KafkaAdminClient`` (``pot send``, topic creation,
  readiness, whole-topic readers, the connectors);
* :func:`aiokafka_kwargs`: aiokafka clients of our own (the silences feed,
  queue views);
* :func:`faust_broker_kwargs`: the faust app (``broker`` and
  ``broker_credentials``, which faust hands on to its aiokafka producer,
  consumer and admin).

All of them use :func:`ssl_context`, built with Python's
``ssl`` module: the CA bundle (or the system's), a client certificate for
mTLS, hostname checks on.

>>> from streams.config import Settings
>>> kafka_python_kwargs(Settings(broker="k1:9092,k2:9092"))
{'bootstrap_servers': ['k1:9092', 'k2:9092'], 'security_protocol': 'PLAINTEXT'}
"""

from __future__ import annotations

import ssl
from typing import Any

from ..config import Settings
from ..config_sections import KafkaSection

__all__ = ["aiokafka_kwargs", "describe", "faust_broker_kwargs", "kafka_python_kwargs", "ssl_context"]

def ssl_context(kafka: KafkaSection) -> ssl.SSLContext | None:
    """The TLS context of a ``SSL``/``SASL_SSL`` section (``None`` otherwise)."""
    if not kafka.tls:
        return None
    context = ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    context.check_hostname = kafka.ssl_check_hostname
    if kafka.ssl_certfile:
        password = kafka.ssl_key_password.get_secret_value() if kafka.ssl_key_password else None
        context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None, password)
    return context


def _sasl(kafka: KafkaSection) -> dict[str, Any]:
    if not kafka.sasl:
        return {}
    assert kafka.sasl_password is not None  # the section refuses SASL without one
    return {
        "sasl_mechanism": kafka.sasl_mechanism,
        "sasl_plain_username": kafka.sasl_username,
        "sasl_plain_password": kafka.sasl_password.get_secret_value(),
    }


def kafka_python_kwargs(settings: Settings) -> dict[str, Any]:
    """``bootstrap_servers`` and the security keyword arguments of any kafka-python client."""
    kafka = settings.kafka
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers, "security_protocol": kafka.security_protocol}
    context = ssl_context(kafka)
    if context is not None:
        kwargs["ssl_context"] = context
    return kwargs | _sasl(kafka)


def aiokafka_kwargs(settings: Settings) -> dict[str, Any]:
    """The same for aiokafka clients (its keyword names match kafka-python's for these settings)."""
    return kafka_python_kwargs(settings)


def faust_broker_kwargs(settings: Settings) -> dict[str, Any]:
    """``broker`` and ``broker_credentials`` for ``faust.App``: SASL (with TLS for SASL_SSL) or TLS alone."""
    import faust

    kafka = settings.kafka
    kwargs: dict[str, Any] = {"broker": settings.broker}
    context = ssl_context(kafka)
    if kafka.sasl:
        assert kafka.sasl_password is not None
        kwargs["broker_credentials"] = faust.SASLCredentials(
            username=kafka.sasl_username, password=kafka.sasl_password.get_secret_value(),
            ssl_context=context, mechanism=kafka.sasl_mechanism,
        )
    elif context is not None:
        kwargs["broker_credentials"] = faust.SSLCredentials(context)
    return kwargs


def describe(settings: Settings) -> str:
    """How the clients connect, for start-up lines and errors (never the password)."""
    kafka = settings.kafka
    parts = [kafka.security_protocol]
    if kafka.sasl:
        parts.append(f"{kafka.sasl_mechanism} as {kafka.sasl_username}")
    if kafka.tls:
        parts.append(f"CA {kafka.ssl_cafile}" if kafka.ssl_cafile else "system CAs")
        if kafka.ssl_certfile:
            parts.append(f"client certificate {kafka.ssl_certfile}")
    return ", ".join(parts)
