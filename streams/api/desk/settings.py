"""The web desk's settings, ``POT_DESK_*`` (kept apart from the worker's :class:`streams.config.Settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeskSettings(BaseSettings):
    """Login is off until one of ``users_file`` or ``trusted_header`` is set; the desk answers 503 till then."""

    model_config = SettingsConfigDict(env_prefix="POT_DESK_", extra="ignore")

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
