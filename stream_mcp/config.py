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
