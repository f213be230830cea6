"""Explicit configuration, read from ``STREAM_MCP_*`` environment variables.

Stream's conventional ``STREAM_API_KEY`` / ``STREAM_API_SECRET`` / ``STREAM_BASE_URL`` are read
by the environment credential backend, not here, so that the secret never sits in a settings
object that might be logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import platformdirs
import pydantic
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_mcp.errors import ConfigError

APP_NAME = "stream-mcp"
DEFAULT_BASE_URL = "https://chat.stream-io-api.com"


def default_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


# How the MCP server exposes the catalog: a few meta-tools, or one tool per operation.
Mode = Literal["discovery", "static"]


class Settings(BaseSettings):
    """Process-wide settings. Build one at start-up and pass it down; never mutate it."""

    model_config = SettingsConfigDict(env_prefix="STREAM_MCP_", frozen=True, extra="ignore")

    vault_path: Path = Field(default_factory=lambda: default_config_dir() / "vault.json")
    profile: str = "default"
    spec: Path | None = None
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    audit_log: Path | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retries: int = 2
    budget_per_minute: int = 60
    # Budgets shared by replicas (a redis:// URL; SecretStr, so a password is never shown).
    redis_url: SecretStr | None = None
    # The agent's share of Stream's per-endpoint app limit, learned from its headers.
    app_budget_share: float = Field(0.25, gt=0, le=1)
    response_token_cap: int = 8000
    # How long a person has to answer a confirmation prompt before the call is refused.
    confirm_timeout: float = Field(120.0, gt=0, le=3600)
    data_dir: Path = Field(default_factory=default_data_dir)
    # The event feed (wait_for_events): where it is kept, what it follows, how long it keeps.
    events: bool = True
    events_db: Path | None = None  # default: <data_dir>/events/<profile>.db
    events_channels: str = ""  # cids or cid globs, comma-separated; empty: allowed users' channels
    events_sync_interval: float = Field(10.0, ge=0, le=3600)  # 0: webhooks only
    events_retention_days: float = Field(7.0, gt=0, le=3650)
    events_retention_count: int = Field(100_000, ge=100, le=100_000_000)
    # Streamable HTTP without MCP sessions, so a load balancer needs no sticky routing.
    http_stateless: bool = False
    webhook_path: str = Field("/webhooks/stream", pattern=r"^/[A-Za-z0-9/_.-]{1,200}$")
    # PostgreSQL for the event store and the audit trail (several replicas). A secret: it may
    # carry a password, so it never reprs; use database_dsn() where the URL is needed.
    database_url: SecretStr | None = None
    # Migrate that database's schema on start (replicas take a lock, so one applies each
    # step); false when a release step runs `stream-mcp db migrate` instead.
    db_migrate: bool = True

    def events_path(self, profile: str) -> Path:
        """The embedded event store's file for ``profile``."""
        return self.events_db or self.data_dir / "events" / f"{profile}.db"

    # OAuth 2.1 resource server for the HTTP transport, off unless the issuer is set; checked
    # (one-line errors naming the variable) by stream_mcp.server.oauth.OAuthConfig.
    oauth_issuer: str | None = None
    oauth_resource: str | None = None  # this server's public MCP URL: the tokens' audience
    oauth_jwks_url: str | None = None  # default: the issuer metadata's jwks_uri
    oauth_users_claim: str = "stream_users"
    oauth_algorithms: str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"
    oauth_leeway: float = Field(30.0, ge=0, le=300)  # seconds of clock skew on exp and nbf

    def database_dsn(self) -> str | None:
        """``STREAM_MCP_DATABASE_URL``, or None when unset or empty."""
        return (self.database_url.get_secret_value() or None) if self.database_url else None


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **values: Any) -> S:
    """Build a settings class from the environment, turning bad values into a one-line error
    that names the environment variable (and never echoes the value)."""
    try:
        return cls(**values)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else cls.__name__
        info = cls.model_fields.get(name)
        alias = info.validation_alias if info is not None else None
        prefix = cls.model_config.get("env_prefix") or ""
        var = alias if isinstance(alias, str) else (prefix + name).upper()
        raise ConfigError(f"{var}: {first['msg']}", field=var) from None
