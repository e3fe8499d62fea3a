"""Settings of intake and connectors, from the environment only (secrets as ``SecretStr``, never logged).

``POT_CONNECTORS`` names the connectors ``pot run`` starts beside the worker (a JSON list, e.g.
``["mastodon", "bluesky"]``); each reads its own ``POT_<PLATFORM>_*`` variables. Lists are JSON
(``POT_MASTODON_HASHTAGS='["skyjet", "skyjetfail"]'``).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSecrets(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POT_", extra="ignore")

    meta_app_secret: SecretStr | None = Field(default=None, description="Checks X-Hub-Signature-256 of Meta deliveries.")
    meta_verify_token: SecretStr | None = Field(default=None, description="The token Meta's verification GET must carry.")


class ConnectorList(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POT_", extra="ignore")

    connectors: list[str] = Field(default_factory=list, description="Connectors `pot run` starts.")
    connector_brand: str | None = Field(default=None, description="The `brand` set on every post a connector publishes.")

    @field_validator("connectors")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from .connectors import CONNECTORS

        names = [v.strip().lower() for v in value if v.strip()]
        unknown = [n for n in names if n not in CONNECTORS]
        if unknown:
            raise ValueError(f"unknown connector(s) {unknown}; known: {', '.join(CONNECTORS)}")
        return names


class _Base(BaseSettings):
    brand: str | None = None
    poll_s: float = Field(default=60.0, gt=0, description="Seconds between polls.")
    max_backoff_s: float = Field(default=300.0, gt=0, description="Longest wait before a reconnect.")


class MastodonSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="POT_MASTODON_", extra="ignore")

    url: str = Field(default="https://mastodon.social", description="The server to read (its REST API and streaming).")
    streaming_url: str | None = Field(default=None, description="Streaming base when it is not the server's (wss://...).")
    token: SecretStr | None = Field(default=None, description="An access token (read scope); needed for mentions.")
    hashtags: list[str] = Field(default_factory=list)
    searches: list[str] = Field(default_factory=list, description="Keyword searches, polled (the server must index them).")
    mentions: bool = Field(default=False, description="Read the token's account mentions (notifications).")


class BlueskySettings(_Base):
    model_config = SettingsConfigDict(env_prefix="POT_BLUESKY_", extra="ignore")

    jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    appview_url: str = Field(default="https://public.api.bsky.app", description="Where app.bsky.actor.getProfile is asked.")
    handles: list[str] = Field(default_factory=list, description="The brand's accounts: their posts, replies to them, mentions.")
    keywords: list[str] = Field(default_factory=list, description="Words or phrases that make any post relevant.")
    profile_ttl_s: float = Field(default=3600.0, gt=0)


class RedditSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="POT_REDDIT_", extra="ignore")

    client_id: SecretStr | None = None
    client_secret: SecretStr | None = None
    user_agent: str = Field(default="points-of-truth/0.1 (brand monitor)", description="Reddit asks for a descriptive one.")
    api_url: str = "https://oauth.reddit.com"
    token_url: str = "https://www.reddit.com/api/v1/access_token"
    subreddits: list[str] = Field(default_factory=list)
    searches: list[str] = Field(default_factory=list)


class XSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="POT_X_", extra="ignore")

    bearer_token: SecretStr | None = None
    api_url: str = "https://api.x.com"
    rules: list[str] = Field(default_factory=list, description="Filtered-stream rules (also the recent-search queries).")
    stream: bool = Field(default=True, description="Use the filtered stream; false polls recent search only.")
