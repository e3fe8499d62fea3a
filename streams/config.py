"""Settings for a worker, read from the environment (``POT_*``) and the command line.

Secrets (the API token) come from the environment only and are typed as
``SecretStr`` so that printing the settings never shows them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    model_config = SettingsConfigDict(env_prefix="POT_", extra="ignore")

    broker: str | None = Field(
        default=None,
        description="kafka://host:port[,host:port]; empty starts the embedded broker.",
    )
    broker_wait_s: float = Field(default=20.0, gt=0, description="How long to wait for the broker.")
    topic_prefix: str = Field(default="pot.", description="Prefix of every topic name.")
    partitions: int = Field(default=4, ge=1, description="Partitions of topics the monitor creates.")
    replication: int = Field(default=1, ge=1)
    app_id: str = Field(default="points-of-truth", description="Consumer group and table namespace.")
    session_timeout_s: float = Field(default=6.0, gt=0)

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    api_token: SecretStr | None = Field(default=None, description="Bearer token for POST endpoints.")

    data_dir: Path = Field(default=Path("var"), description="Alert log, faust table state.")
    alerts_file: Path | None = Field(default=None, description="JSONL alert log; default data_dir/alerts.jsonl.")
    receivers: list[str] = Field(default_factory=lambda: ["console", "jsonl"])

    classifier: str = Field(default="e5-head", description="Classifier name (entry point).")
    classify_in_process: bool = Field(
        default=True, description="Run the classifier in a child process (torch is faster on a main thread)."
    )
    shadow_classifier: str | None = Field(
        default=None, description="A second classifier run beside the primary; disagreements are counted and logged."
    )
    batch_size: int = Field(default=32, ge=1, le=1024)
    fetch_max_wait_ms: int = Field(
        default=100, ge=1, le=10000, description="Longest a Kafka fetch waits for data (latency when idle)."
    )
    batch_wait_s: float = Field(default=0.05, ge=0)

    max_post_bytes: int = Field(default=64 * 1024, ge=256)
    publish_timeout_s: float = Field(default=10.0, gt=0, description="How long POST /posts waits for the broker's confirmation.")
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    dedupe_retention_s: int = Field(default=7 * 24 * 3600, ge=60)

    windows_s: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_WINDOWS_S))
    uncertain_below: float = Field(default=0.5, ge=0, le=1)

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

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
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

    def topic(self, name: str) -> str:
        """Full topic name for one of ``posts classified alerts events dlq``."""
        return f"{self.topic_prefix}{name}"
