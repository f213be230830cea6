"""The environment backend: the read-only profile ``env`` for quick starts."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_mcp.auth import Policy, Signer, build_policy, check_api_key, check_base_url
from stream_mcp.config import DEFAULT_BASE_URL
from stream_mcp.errors import ConfigError
from stream_mcp.vault._backend import ProfileRecord
from stream_mcp.vault._errors import ProfileNotFound
from stream_mcp.vault._settings import load_settings

ENV_PROFILE = "env"


class EnvCredentialSettings(BaseSettings):
    """Stream's conventional variables, read only by the environment backend."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    api_key: str | None = Field(None, validation_alias="STREAM_API_KEY")
    api_secret: SecretStr | None = Field(None, validation_alias="STREAM_API_SECRET")
    base_url: str | None = Field(None, validation_alias="STREAM_BASE_URL")


class EnvPolicySettings(BaseSettings):
    """The environment backend's policy; lists are comma-separated globs."""

    model_config = SettingsConfigDict(env_prefix="STREAM_MCP_", frozen=True, extra="ignore")

    default_user: str | None = None
    allowed_users: str | None = None
    server_auth: str | None = None
    read_only: bool | None = None
    allow_ops: str | None = None
    deny_ops: str | None = None
    user_token_ttl: int | None = None
    max_issued_ttl: int | None = None
    app_wide: bool | None = None
    confirmation: str | None = None

    def to_policy(self) -> Policy:
        names = {name: f"STREAM_MCP_{name.upper()}" for name in type(self).model_fields}
        return build_policy(self.model_dump(), names=names)


class EnvBackend:
    """Read-only profile ``env`` from ``STREAM_API_KEY``/``_SECRET``/``STREAM_BASE_URL``.

    Its policy comes from ``STREAM_MCP_DEFAULT_USER``, ``_ALLOWED_USERS`` (comma globs),
    ``_SERVER_AUTH`` (none | server_only | comma globs), ``_READ_ONLY``, ``_ALLOW_OPS``,
    ``_DENY_OPS``, ``_USER_TOKEN_TTL``, ``_MAX_ISSUED_TTL``, ``_APP_WIDE`` and
    ``_CONFIRMATION`` (flag | person). Pass settings objects to
    build it from something other than the process environment.
    """

    def __init__(
        self,
        credentials: EnvCredentialSettings | None = None,
        policy: EnvPolicySettings | None = None,
    ) -> None:
        self._settings = credentials or load_settings(EnvCredentialSettings)
        self._policy = policy or load_settings(EnvPolicySettings)

    def __repr__(self) -> str:
        return f"EnvBackend(configured={bool(self.list_profiles())})"

    def list_profiles(self) -> list[str]:
        ok = self._settings.api_key and self._settings.api_secret is not None
        return [ENV_PROFILE] if ok else []

    def get_profile(self, name: str) -> ProfileRecord:
        if name != ENV_PROFILE:
            raise ProfileNotFound(
                f"the environment backend has only the profile {ENV_PROFILE!r}, not {name!r}",
                field="profile",
            )
        if not self._settings.api_key:
            raise ConfigError("STREAM_API_KEY is not set", field="STREAM_API_KEY")
        secret = self._settings.api_secret
        if secret is None or not secret.get_secret_value():
            raise ConfigError("STREAM_API_SECRET is not set", field="STREAM_API_SECRET")
        try:
            signer = Signer(secret.get_secret_value())
        except ConfigError as exc:
            raise ConfigError(
                f"STREAM_API_SECRET: {str(exc).removeprefix('secret: ')}",
                field="STREAM_API_SECRET",
            ) from None
        try:
            api_key = check_api_key(self._settings.api_key)
            base_url = check_base_url(self._settings.base_url or DEFAULT_BASE_URL)
        except ConfigError as exc:
            var = "STREAM_API_KEY" if exc.field == "api_key" else "STREAM_BASE_URL"
            raise ConfigError(f"{var}: {str(exc).split(': ', 1)[-1]}", field=var) from None
        return ProfileRecord(
            name=ENV_PROFILE,
            api_key=api_key,
            base_url=base_url,
            policy=self._policy.to_policy(),
            signer=signer,
            source="env",
        )

    def put_profile(
        self,
        name: str,
        *,
        api_key: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        policy: Policy | None = None,
        replace: bool = False,
    ) -> None:
        raise ConfigError(
            "the environment backend is read-only; set STREAM_API_* variables or use "
            "`stream-mcp vault add`",
            field="backend",
        )

    def remove_profile(self, name: str) -> None:
        raise ConfigError(
            "the environment backend is read-only; unset the STREAM_API_* variables instead",
            field="backend",
        )
