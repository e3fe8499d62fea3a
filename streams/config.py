"""Every setting, one tree: read from the environment (``POT_*``), a ``.env`` file, and the command line.

The worker's own settings are fields of :class:`Settings` (``POT_BROKER``);
the sections of :mod:`streams.config_sections` nest under it
(``POT_KAFKA_SASL_USERNAME`` is ``settings.kafka.sasl_username``), the receivers' ones being the models of
:mod:`sinks.settings` (defined there so that sinks need no ``streams``). Secrets
are typed as ``SecretStr`` so that printing the settings never shows them;
:mod:`streams.config_check` turns validation errors into sentences that name
the variable, and lists ``POT_*`` variables that no setting reads.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sinks.settings import (
    EmailSettings, PagerDutySettings, ReceiverSettings, SlackSettings, SmtpSettings, WebhookSettings, http_timeout_field,
)

from .config_sections import DeskSection, HFSection, KafkaSection
from .core.vocabulary import LABELS

__all__ = ["DEFAULT_WINDOWS_S", "Settings"]

DEFAULT_WINDOWS_S: dict[str, int] = {
    "complaint": 60 * 60,
    "question": 60 * 60,
    "suggestion": 24 * 60 * 60,
    "praise": 24 * 60 * 60,
}


class Settings(BaseSettings):
    """Everything a worker needs to know; every field can be set as ``POT_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="POT_", extra="ignore", env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True,
        env_nested_delimiter="_", env_nested_max_split=1,
    )

    broker: str | None = Field(
        default=None,
        description="kafka://host:port[,host:port] of a cluster; unset or `embedded` starts the in-memory embedded broker.",
    )
    broker_wait_s: float = Field(default=20.0, gt=0, description="How long to wait for the broker.")
    topic_prefix: str = Field(default="pot.", description="Prefix of every topic name.")
    partitions: int = Field(default=4, ge=1, description="Partitions of topics the monitor creates.")
    replication: int = Field(default=1, ge=1, description="Replication of topics and changelogs the monitor creates.")
    app_id: str = Field(default="points-of-truth", description="Consumer group and table namespace.")
    session_timeout_s: float = Field(default=6.0, gt=0, description="Consumer group session timeout.")

    web_host: str = Field(default="127.0.0.1", description="Address the HTTP API binds to (0.0.0.0 in containers).")
    web_port: int = Field(default=6066, ge=0, le=65535, description="Port of the HTTP API and /metrics.")
    api_token: SecretStr | None = Field(default=None, description="Bearer token for POST endpoints.")

    data_dir: Path = Field(default=Path("var"), description="Alert log, faust table state.")
    alerts_file: Path | None = Field(default=None, description="JSONL alert log; default data_dir/alerts.jsonl.")
    receivers: list[str] = Field(
        default_factory=lambda: ["console", "jsonl"], description="Receiver types alerts go to when no policy file is set."
    )

    classifier: str = Field(default="e5-head", description="Classifier name (entry point).")
    classify_in_process: bool = Field(
        default=True, description="Run the classifier in a child process (torch is faster on a main thread)."
    )
    shadow_classifier: str | None = Field(
        default=None, description="A second classifier run beside the primary; disagreements are counted and logged."
    )
    batch_size: int = Field(default=32, ge=1, le=1024, description="Posts per classifier call.")
    fetch_max_wait_ms: int = Field(
        default=100, ge=1, le=10000, description="Longest a Kafka fetch waits for data (latency when idle)."
    )
    batch_wait_s: float = Field(
        default=0.0, ge=0, description=(
            "Longest wait to fill a triage or classifier batch; 0 takes what has arrived (set by bench/latency_ab.py)."),
    )

    http_rate_per_s: float = Field(
        default=50.0, ge=0, description="Requests a second each client may make to POST /posts and /ingest/ (0: no limit).")
    http_burst: int = Field(default=100, ge=1, description="Requests a client may make at once before the rate applies.")

    max_post_bytes: int = Field(default=64 * 1024, ge=256, description=(
        "Largest post accepted, plain or made from a native payload (HTTP, pot send, connectors); bigger ones are dead-lettered."))
    publish_timeout_s: float = Field(default=10.0, gt=0, description="How long POST /posts waits for the broker's confirmation.")
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="Largest POST /posts body.")
    dedupe_retention_s: int = Field(default=7 * 24 * 3600, ge=60, description="How long a post id is remembered for dedupe.")

    windows_s: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_WINDOWS_S), description="Response window per label (seconds) without a policy file."
    )
    uncertain_below: float = Field(default=0.5, ge=0, le=1, description="Confidence below which a label is marked uncertain.")

    delivery_inline_attempts: int = Field(default=3, ge=1, le=20, description="Tries before a delivery is deferred.")
    delivery_max_delay_s: float = Field(default=10.0, gt=0, description="Longest wait between two tries (Retry-After beyond it defers).")
    delivery_max_attempts: int = Field(default=20, ge=1, description="Tries before a delivery goes to the dead-letter topic.")
    delivery_max_age_s: float = Field(default=3600.0, gt=0, description="Age after which a delivery goes to the dead-letter topic.")
    breaker_failures: int = Field(default=5, ge=1, description="Failures in a row that open a receiver's circuit.")
    breaker_reset_s: float = Field(default=30.0, gt=0, description="How long an open circuit skips its receiver.")

    policy_file: Path | None = Field(
        default=None, description="The routing policy (YAML); reloaded on SIGHUP or when the file changes."
    )
    clock_tick_s: float = Field(default=1.0, gt=0, le=60, description="How often the SLA clock looks for due steps.")
    digest_check_s: float = Field(default=30.0, gt=0, description="How often digests are checked for being due.")
    clock_offset_file: Path | None = Field(
        default=None, description="Seconds to add to the system time, read from this file (tests and fire drills)."
    )
    api_url: str = Field(default="http://127.0.0.1:6066", description="Where `pot ack`, `pot alerts`, `pot silence` reach a worker.")
    model_cache: Path | None = Field(
        default=None, description="Where rebuilt models live (read by classifiers/provision/resolve.py)."
    )
    e5_head: str | None = Field(
        default=None, description="The e5-head classifier's head: a shipped head's name or a folder (read by classifiers/e5_head.py)."
    )
    e5_runtime: str | None = Field(
        default=None,
        description="The e5-head classifier's encoder runtime: auto (openvino-bf16 on a CPU with bf16, else onnx-fp32), torch-fp32, onnx-fp32, ... (read by classifiers/e5_head.py; see docs/performance.md).",
    )
    http_timeout_s: float = http_timeout_field()

    kafka: KafkaSection = Field(default_factory=KafkaSection, description="POT_KAFKA_*: TLS and SASL of every Kafka client.")
    slack: SlackSettings = Field(default_factory=SlackSettings, description="POT_SLACK_*: the Slack receiver and buttons.")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings, description="POT_WEBHOOK_*: the webhook receiver.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings, description="POT_SMTP_*: the email receiver's server.")
    email: EmailSettings = Field(default_factory=EmailSettings, description="POT_EMAIL_*: the email receiver's addresses.")
    pagerduty: PagerDutySettings = Field(default_factory=PagerDutySettings, description="POT_PAGERDUTY_*: the PagerDuty receiver.")
    hf: HFSection = Field(default_factory=HFSection, description="POT_HF_*: the hf-sequence classifier.")
    desk: DeskSection = Field(default_factory=DeskSection, description="POT_DESK_*: the web desk's logins and sessions.")

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip() or value.strip().lower() == "embedded":
            return None
        value = value.strip()
        if "://" not in value:
            value = f"kafka://{value}"
        if not value.startswith("kafka://"):
            raise ValueError("broker must look like kafka://host:port")
        return value

    @field_validator("windows_s")
    @classmethod
    def _windows(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = set(value) - set(LABELS)
        if unknown:
            raise ValueError(f"windows_s names unknown labels: {sorted(unknown)}")
        if any(seconds <= 0 for seconds in value.values()):
            raise ValueError("every window must be a positive number of seconds")
        return value

    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` strings for kafka-python; empty until a broker is known."""
        if not self.broker:
            return []
        return [part.strip() for part in self.broker.removeprefix("kafka://").split(",") if part.strip()]

    @property
    def alerts_path(self) -> Path:
        return self.alerts_file or self.data_dir / "alerts.jsonl"

    @classmethod
    def satellites(cls) -> list[type[BaseSettings]]:
        """Settings classes that read their own ``POT_*`` prefix (the platforms' intake and connectors, issue 14):
        known to ``pot config`` and to the unknown-variable check, listed with the rest."""
        from .platforms import config as platforms

        return [platforms.IntakeSecrets, platforms.ConnectorList, platforms.MastodonSettings, platforms.BlueskySettings,
                platforms.RedditSettings, platforms.XSettings]

    def receiver_settings(self) -> ReceiverSettings:
        """What :mod:`sinks.registry` builds receivers from: this tree's own sections (the models of
        :mod:`sinks.settings`, so no copy and no re-parsing) and ``POT_HTTP_TIMEOUT_S``."""
        return ReceiverSettings(
            slack=self.slack, webhook=self.webhook, smtp=self.smtp, email=self.email, pagerduty=self.pagerduty,
            http_timeout_s=self.http_timeout_s,
        )

    def topic(self, name: str) -> str:
        """Full topic name for one of ``posts classified alerts events dlq``."""
        return f"{self.topic_prefix}{name}"
