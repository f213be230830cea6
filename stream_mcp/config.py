"""Explicit configuration, read from ``STREAM_MCP_*`` environment variables.

Stream's conventional ``STREAM_API_KEY`` / ``STREAM_API_SECRET`` / ``STREAM_BASE_URL`` are read
by the environment credential backend, not here, so that the secret never sits in a settings
object that might be logged.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "stream-mcp"
DEFAULT_BASE_URL = "https://chat.stream-io-api.com"


def default_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


class Settings(BaseSettings):
    """Process-wide settings. Build one at start-up and pass it down; never mutate it."""

    model_config = SettingsConfigDict(env_prefix="STREAM_MCP_", frozen=True, extra="ignore")

    vault_path: Path = Field(default_factory=lambda: default_config_dir() / "vault.json")
    profile: str = "default"
    spec: Path | None = None
    log_format: str = "auto"
    log_level: str = "INFO"
    audit_log: Path | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retries: int = 2
    budget_per_minute: int = 60
    response_token_cap: int = 8000
    # How long a person has to answer a confirmation prompt before the call is refused.
    confirm_timeout: float = Field(120.0, gt=0, le=3600)
    data_dir: Path = Field(default_factory=default_data_dir)
