"""The sections of the settings tree that are not the worker's own: Kafka security, receivers, models.

Each section is a pydantic model nested in :class:`streams.config.Settings`
and read from ``POT_<SECTION>_<FIELD>`` (``POT_KAFKA_SASL_USERNAME`` is
``settings.kafka.sasl_username``). Secrets are ``SecretStr``: printing the
settings, or an error about them, never shows their value.

The receivers' sections (``slack``, ``webhook``, ``smtp``, ``email``, ``pagerduty``) are not defined here but
in :mod:`sinks.settings`, one model per receiver, and nested here as they are: ``sinks/`` may not import
``streams/`` (a sink, the registry and ``check_sink`` work without the worker), while ``streams/`` may import
``sinks/``, so the one definition lives on the sinks' side and the tree reuses it.

Cross-field rules raise errors that already name the variables involved, so
the message a user sees says which variable to set and to what.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sinks.settings import EmailSettings, PagerDutySettings, SlackSettings, SmtpSettings, WebhookSettings

__all__ = ["DeskSection", "HFSection", "KafkaSection", "SECTIONS", "SECURITY_PROTOCOLS", "SASL_MECHANISMS"]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _existing_file(variable: str, value: Path | None) -> Path | None:
    if value is not None and not value.expanduser().is_file():
        raise ValueError(f"{variable}: no such file: {value}")
    return value.expanduser() if value is not None else None


class KafkaSection(_Section):
    """How every Kafka client (the worker, `pot send`, readers, connectors) reaches a secured cluster."""

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (managed Kafka: SASL_SSL)."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; required with SASL_*."
    )
    sasl_username: str | None = Field(default=None, description="SASL user (Confluent Cloud: the API key).")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password (Confluent Cloud: the API secret).")
    ssl_cafile: Path | None = Field(default=None, description="PEM CA bundle to trust; default: the system's.")
    ssl_certfile: Path | None = Field(default=None, description="PEM client certificate (mTLS).")
    ssl_keyfile: Path | None = Field(default=None, description="PEM private key of the client certificate.")
    ssl_key_password: SecretStr | None = Field(default=None, description="Password of an encrypted private key.")
    ssl_check_hostname: bool = Field(default=True, description="Check the broker's certificate names its host.")

    @field_validator("security_protocol", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("sasl_mechanism", mode="before")
    @classmethod
    def _mechanism(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper().replace("_", "-")
            return value or None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "KafkaSection":
        self.ssl_cafile = _existing_file("POT_KAFKA_SSL_CAFILE", self.ssl_cafile)
        self.ssl_certfile = _existing_file("POT_KAFKA_SSL_CERTFILE", self.ssl_certfile)
        self.ssl_keyfile = _existing_file("POT_KAFKA_SSL_KEYFILE", self.ssl_keyfile)
        if self.sasl:
            missing = [name for name, value in (
                ("POT_KAFKA_SASL_MECHANISM", self.sasl_mechanism), ("POT_KAFKA_SASL_USERNAME", self.sasl_username),
                ("POT_KAFKA_SASL_PASSWORD", self.sasl_password),
            ) if not value]
            if missing:
                raise ValueError(f"POT_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs {', '.join(missing)}")
        elif self.sasl_mechanism or self.sasl_username or self.sasl_password:
            raise ValueError(
                "POT_KAFKA_SASL_* is set but POT_KAFKA_SECURITY_PROTOCOL is "
                f"{self.security_protocol}; set it to SASL_SSL (or SASL_PLAINTEXT)"
            )
        if not self.tls and (self.ssl_cafile or self.ssl_certfile or self.ssl_keyfile):
            raise ValueError(
                f"POT_KAFKA_SSL_* is set but POT_KAFKA_SECURITY_PROTOCOL is {self.security_protocol}; "
                "set it to SSL or SASL_SSL"
            )
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("POT_KAFKA_SSL_KEYFILE needs POT_KAFKA_SSL_CERTFILE (the client certificate)")
        return self

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")


class HFSection(_Section):
    """Read by ``classifiers/hf_sequence.py`` itself (another branch owns it); listed here so it is known."""

    model: str | None = Field(default=None, description="Hugging Face model id or path for the hf-sequence classifier.")
    label_map: str | None = Field(default=None, description='JSON object of model label → ours, e.g. {"NEG": "complaint"}.')


class DeskSection(_Section):
    """Login is off until one of ``users_file`` or ``trusted_header`` is set; the desk answers 503 till then."""

    users_file: Path | None = Field(default=None, description="YAML users with scrypt hashes (`pot desk add-user`).")
    trusted_header: str | None = Field(
        default=None,
        description="Take the user from this request header (e.g. X-Forwarded-User from oauth2-proxy). Only when every "
        "request comes through that proxy: anyone who reaches the worker directly could set it.",
    )
    secret: SecretStr | None = Field(
        default=None, description="Signs sessions and CSRF tokens; the same on every worker behind one address. "
        "Default: a random one kept in DATA_DIR/desk.secret.",
    )
    session_s: int = Field(default=12 * 3600, ge=60, description="How long a login lasts.")
    cookie_secure: bool = Field(default=False, description="Mark cookies Secure (set when served over HTTPS).")
    poll_s: float = Field(default=2.0, gt=0, le=60, description="How often an open desk page asks for changes.")
    keep_days: float = Field(default=100.0, gt=0, description="Events kept in memory for trails and reports.")

    @property
    def login_configured(self) -> bool:
        return self.users_file is not None or bool(self.trusted_header)


SECTIONS: dict[str, type[BaseModel]] = {
    "kafka": KafkaSection, "slack": SlackSettings, "webhook": WebhookSettings, "smtp": SmtpSettings,
    "email": EmailSettings, "pagerduty": PagerDutySettings, "hf": HFSection, "desk": DeskSection,
}
"""Section name (the variable prefix after ``POT_``) → its model."""
