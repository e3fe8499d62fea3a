"""The receivers' settings, one model each: ``POT_SLACK_*``, ``POT_WEBHOOK_*``, ``POT_SMTP_*``, ``POT_EMAIL_*``,
``POT_PAGERDUTY_*``, and ``POT_HTTP_TIMEOUT_S``.

Why here and not in ``streams/config_sections.py``: ``sinks/`` imports nothing from ``streams/``
(docs/architecture.md, checked by ``tests/test_layout.py``), so that a third-party sink, ``check_sink`` and
the registry work without the worker. ``streams`` may import ``sinks``, so the direction is this one: each model
is defined once, here, and the settings tree (:class:`streams.config.Settings`) nests these very classes as its
sections (``settings.slack`` *is* a :class:`SlackSettings`). The worker hands :mod:`sinks.registry` a typed
:class:`ReceiverSettings` built from the tree; nothing is rendered to strings and parsed again. Outside the
worker (tests, deploy checks, a plugin), :meth:`ReceiverSettings.from_env` reads a ``POT_*`` mapping through the
same models.

Every field is optional: a receiver type that no policy names needs none of its settings, and the registry says
which variables a named one lacks. Blank values count as unset; secrets are ``SecretStr``.

>>> s = ReceiverSettings.from_env({"POT_SLACK_BOT_TOKEN": "xoxb-1", "POT_SLACK_APP_TOKEN": " xapp-1 ", "POT_SMTP_TLS": "TLS"})
>>> s.slack.socket_mode, s.slack.channel, s.slack.web_api_url, s.smtp.tls, "xoxb-1" in repr(s)
(True, None, 'https://slack.com/api', 'tls', False)
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo

__all__ = [
    "DEFAULT_API_URL", "EmailSettings", "PagerDutySettings", "ReceiverSettings", "SlackSettings", "SmtpSettings",
    "WebhookSettings", "http_timeout_field", "variables",
]

DEFAULT_API_URL = "https://slack.com/api"


def http_timeout_field() -> Any:
    """``POT_HTTP_TIMEOUT_S``, declared once: a root setting of the tree, and a field of :class:`ReceiverSettings`."""
    return Field(default=10.0, gt=0, description="How long an HTTP receiver (Slack, webhook, PagerDuty) may take to answer.")


class _Receiver(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value


class SlackSettings(_Receiver):
    """A Slack app's three credentials, each for one job: the bot token posts and updates alerts, the app-level
    token opens Socket Mode (clicks without a public URL), the signing secret checks clicks over HTTP. Each
    receiver of the policy names its own channel; ``channel`` is only the default."""

    bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-...) for the Web API and buttons.")
    app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-..., scope connections:write): turns on Socket Mode."
    )
    channel: str | None = Field(default=None, description="Default channel when a route names none.")
    webhook_url: SecretStr | None = Field(default=None, description="Incoming webhook (no buttons), instead of a bot.")
    api_url: str | None = Field(default=None, description="Slack Web API base URL (tests point it elsewhere).")
    signing_secret: SecretStr | None = Field(default=None, description="Checks signed button clicks (/slack/actions).")
    rate_per_s: float | None = Field(
        default=None, gt=0, description="Web API calls a second per Slack receiver (default about 1, Slack's own limit)."
    )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is on exactly when an app-level token is set."""
        return self.app_token is not None

    @property
    def web_api_url(self) -> str:
        """``api_url``, or Slack's own when unset (left unset in the model so ``pot config`` shows it as not set)."""
        return self.api_url or DEFAULT_API_URL


class WebhookSettings(_Receiver):
    url: SecretStr | None = Field(default=None, description="http(s) URL alerts are POSTed to (may embed a token).")
    secret: SecretStr | None = Field(default=None, description="HMAC key of the X-Pot-Signature header.")


class SmtpSettings(_Receiver):
    host: str | None = Field(default=None, description="SMTP server.")
    port: int | None = Field(default=None, ge=1, le=65535, description="Default 587 (starttls), 465 (tls), 25 (none).")
    tls: Literal["starttls", "tls", "none"] | None = Field(default=None, description="starttls, tls or none.")
    user: str | None = Field(default=None, description="SMTP login (goes with POT_SMTP_PASSWORD).")
    password: SecretStr | None = Field(default=None, description="SMTP password.")

    @field_validator("tls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return (value.strip().lower() or None) if isinstance(value, str) else value


class EmailSettings(_Receiver):
    sender: str | None = Field(
        default=None, validation_alias=AliasChoices("from"), description="From: address (POT_EMAIL_FROM)."
    )
    to: str | None = Field(default=None, description="Default recipients, comma-separated.")


class PagerDutySettings(_Receiver):
    routing_key: SecretStr | None = Field(default=None, description="Events API v2 integration (routing) key.")
    url: str | None = Field(default=None, description="Events API URL (tests point it elsewhere).")


class ReceiverSettings(BaseModel):
    """What :mod:`sinks.registry` builds receivers from. Each field name is the variable prefix after ``POT_``
    and the name of the same section in the settings tree."""

    model_config = ConfigDict(extra="ignore")

    slack: SlackSettings = Field(default_factory=SlackSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    pagerduty: PagerDutySettings = Field(default_factory=PagerDutySettings)
    http_timeout_s: float = http_timeout_field()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReceiverSettings:
        """The settings ``env`` (``POT_*`` → text) holds, and only those; a ``ValueError`` names each invalid
        variable and the form expected, never the value."""
        found = variables()
        values: dict[str, Any] = {}
        for name, text in env.items():
            path = found.get(name.upper())
            if path is not None and text.strip():
                section = values.setdefault(path[0], {}) if len(path) > 1 else values
                section[path[-1]] = text
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ValueError("; ".join(_problem(error, found) for error in exc.errors(include_url=False))) from None


def _env_name(name: str, field: FieldInfo) -> str:
    choices = getattr(field.validation_alias, "choices", None)
    return str(choices[0]) if choices else name


def variables() -> dict[str, tuple[str, ...]]:
    """Every variable :class:`ReceiverSettings` reads → where it lands: ``POT_SMTP_TLS`` → ``("smtp", "tls")``."""
    found: dict[str, tuple[str, ...]] = {}
    for section, field in ReceiverSettings.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, sub in model.model_fields.items():
                found[f"POT_{section}_{_env_name(name, sub)}".upper()] = (section, name)
        else:
            found[f"POT_{section}".upper()] = (section,)
    return found


def _problem(error: Any, found: dict[str, tuple[str, ...]]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    names = {path: name for name, path in found.items()}
    variable = names.get(loc[:2]) or names.get(loc[:1]) or "POT_" + "_".join(loc).upper()
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "literal_error":
        section = ReceiverSettings.model_fields[loc[0]].annotation
        annotation = section.model_fields[loc[1]].annotation  # type: ignore[union-attr]
        choices = [arg for part in typing.get_args(annotation) for arg in typing.get_args(part)]
        return f"{variable} must be one of {', '.join(choices)}"
    return f"{variable} must be {message.removeprefix('Input should be ')}"
