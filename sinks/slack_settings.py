"""The Slack app's settings (``POT_SLACK_*``) in one small pydantic-settings class.

A Slack app has three credentials, each for one job: the bot token
(``xoxb-``, posts and updates alert messages), the app-level token
(``xapp-``, opens the Socket Mode connection that brings button clicks in
without a public URL) and the signing secret (checks clicks that arrive over
HTTP instead). All three are ``SecretStr``: printing the settings never shows
them. No channel is needed here: each Slack receiver of the routing policy
names its own; ``POT_SLACK_CHANNEL`` is only the default for receivers that do
not.

>>> s = SlackSettings.from_env({"POT_SLACK_BOT_TOKEN": "xoxb-1", "POT_SLACK_APP_TOKEN": " xapp-1 "})
>>> s.socket_mode, s.channel, "xoxb-1" in repr(s)
(True, None, False)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = ["DEFAULT_API_URL", "SlackSettings"]

DEFAULT_API_URL = "https://slack.com/api"


class SlackSettings(BaseSettings):
    """Every field is ``POT_SLACK_<NAME>``; empty values count as unset."""

    model_config = SettingsConfigDict(env_prefix="POT_SLACK_", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-...): posts and updates alerts.")
    app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-..., scope connections:write): turns on Socket Mode."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret: turns on POST /slack/interactions (the HTTP interactivity URL)."
    )
    channel: str | None = Field(
        default=None, description="Channel for Slack receivers whose policy entry names none (optional)."
    )
    webhook_url: SecretStr | None = Field(
        default=None, description="Incoming-webhook URL, instead of a bot token (no buttons, no updates)."
    )
    api_url: str = Field(default=DEFAULT_API_URL, description="Slack's Web API (change only for tests).")

    @field_validator("bot_token", "app_token", "signing_secret", "webhook_url", "channel", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is on exactly when an app-level token is set."""
        return self.app_token is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        """The settings from ``env`` alone (the process environment when ``None``), so callers that pass a
        mapping (the receiver registry, tests) get exactly what it says."""
        if env is None or env is os.environ:
            return cls()
        prefix = "POT_SLACK_"
        values = {name: env[prefix + name.upper()] for name in cls.model_fields if prefix + name.upper() in env}
        return _FromMapping(**values)


class _FromMapping(SlackSettings):
    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *args: Any, **kwargs: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)
