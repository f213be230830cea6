"""What a profile lets an agent do: acting users, server-auth grants, writes, operation globs.

A :class:`Policy` is an immutable value. It holds no credentials, so it is safe to log, show
and serialize. Every refusal is a :class:`~stream_mcp.errors.PolicyError` whose message names
the setting that would allow the call, so a person can fix the profile instead of guessing.

Matching rules: user globs are case-sensitive (Stream user ids are); operation globs are
case-insensitive, so a ``deny_ops`` entry cannot be dodged by a different spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from stream_mcp.errors import ConfigError, PolicyError, ValidationError

if TYPE_CHECKING:
    from stream_mcp.catalog import Operation

AuthMode = Literal["user", "server"]
ServerAuth = Literal["none", "server_only"] | tuple[str, ...]
Confirmation = Literal["flag", "person"]

DEFAULT_USER_TOKEN_TTL = 300
MIN_TTL = 30
MAX_USER_TOKEN_TTL = 3600
DEFAULT_MAX_ISSUED_TTL = 3600
MAX_ISSUED_TTL = 86400

_MAX_ID = 255
# Stream accepts user ids of ASCII letters, digits, "@", "_" and "-" only.
_USER_ID = re.compile(r"[A-Za-z0-9@_-]{1,255}")
_BAD_GLOB_CHARS = re.compile(r"[\s\x00-\x1f\x7f,]")


def _short(value: str) -> str:
    """A printable, bounded rendering of user input for an error message."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


def check_user_id(value: object, *, field: str = "as_user") -> str:
    """Validate an exact user id (not a glob); raise a one-line error naming ``field``."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field}: expected a non-empty user id string", field=field)
    if not _USER_ID.fullmatch(value):
        raise ValidationError(
            f"{field}: {_short(value)} is not a valid user id (Stream accepts 1 to {_MAX_ID} "
            "ASCII letters, digits, '@', '_' and '-')",
            field=field,
        )
    return value


def _split(value: Any) -> Any:
    """Accept ``"a, b"`` as well as a list, so CLI flags and environment variables share code."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list):
        return tuple(value)
    return value


def check_globs(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    for glob in values:
        if not glob or len(glob) > _MAX_ID or _BAD_GLOB_CHARS.search(glob):
            raise ValueError(f"{_short(glob)} is not a valid {what} glob (no spaces or commas)")
    return tuple(dict.fromkeys(values))


def _first_match(operation_id: str, globs: Iterable[str]) -> str | None:
    folded = operation_id.lower()
    for glob in globs:
        if fnmatchcase(folded, glob.lower()):
            return glob
    return None


class Policy(BaseModel):
    """A profile's rules. Frozen; build with :func:`build_policy` for friendly errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default_user: str | None = None
    allowed_users: tuple[str, ...] = ()
    server_auth: ServerAuth = "none"
    read_only: bool = False
    allow_ops: tuple[str, ...] = ("*",)
    deny_ops: tuple[str, ...] = ()
    user_token_ttl: int = Field(DEFAULT_USER_TOKEN_TTL, ge=MIN_TTL, le=MAX_USER_TOKEN_TTL)
    max_issued_ttl: int = Field(DEFAULT_MAX_ISSUED_TTL, ge=MIN_TTL, le=MAX_ISSUED_TTL)
    # Operations that can reach users their arguments do not name (app-wide queries and
    # exports) need this grant when the profile is limited to some users.
    app_wide: bool = False
    # "flag": confirm=true stands in for a person on clients that cannot ask one;
    # "person": destructive calls need a person's answer, whatever the client.
    confirmation: Confirmation = "flag"

    @field_validator("default_user", mode="before")
    @classmethod
    def _default_user(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        try:
            return check_user_id(value, field="default_user")
        except ValidationError as exc:
            raise ValueError(str(exc).removeprefix("default_user: ")) from None

    @field_validator("allowed_users", mode="before")
    @classmethod
    def _allowed_users(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("allowed_users")
    @classmethod
    def _allowed_users_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_globs(value, "user")

    @field_validator("allow_ops", "deny_ops", mode="before")
    @classmethod
    def _op_lists(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("allow_ops", "deny_ops")
    @classmethod
    def _op_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_globs(value, "operation")

    @field_validator("allow_ops")
    @classmethod
    def _allow_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one operation glob; use '*' to allow every operation")
        return value

    @field_validator("server_auth", mode="before")
    @classmethod
    def _server_auth(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() in ("none", "server_only", ""):
            return value.strip() or "none"
        globs = _split(value)
        if isinstance(globs, tuple):
            if not globs:
                return "none"
            if {"none", "server_only"} & set(globs):
                raise ValueError(
                    "use 'none', 'server_only' or a comma list of operation globs, not a mix"
                )
            return check_globs(globs, "operation")
        return value

    @field_validator("user_token_ttl", "max_issued_ttl", mode="before")
    @classmethod
    def _no_bool_ttl(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number of seconds")
        return value

    # ------------------------------------------------------------------ questions

    def allows_user(self, user_id: str) -> bool:
        """True if the profile may act as ``user_id`` (its default user or an allowed glob)."""
        if not isinstance(user_id, str) or not user_id:
            return False
        if user_id == self.default_user:
            return True
        return any(fnmatchcase(user_id, glob) for glob in self.allowed_users)

    @property
    def unrestricted(self) -> bool:
        """True when every user is allowed (``*``), so no call can reach a user beyond it."""
        return "*" in self.allowed_users

    def allows_operation(self, operation_id: str) -> bool:
        """True if the allow/deny globs let ``operation_id`` through (deny wins)."""
        return (
            _first_match(operation_id, self.deny_ops) is None
            and _first_match(operation_id, self.allow_ops) is not None
        )

    def grants_server(self, operation: Operation) -> bool:
        """True if ``operation`` runs with a server token under this policy."""
        if isinstance(self.server_auth, tuple):
            return _first_match(operation.operation_id, self.server_auth) is not None
        return self.server_auth == "server_only" and operation.server_only

    # ------------------------------------------------------------------ decisions

    def check_operation(self, operation: Operation) -> None:
        """Refuse ``operation`` if the deny/allow globs or the read-only flag forbid it."""
        op_id = operation.operation_id
        denied = _first_match(op_id, self.deny_ops)
        if denied is not None:
            raise PolicyError(
                f"operation {op_id} is refused: it matches deny_ops glob {denied!r}",
                field="deny_ops",
                hint="remove the glob from the profile's deny_ops (vault add --deny-op)",
            )
        if _first_match(op_id, self.allow_ops) is None:
            raise PolicyError(
                f"operation {op_id} is refused: it matches none of allow_ops "
                f"({', '.join(self.allow_ops)})",
                field="allow_ops",
                hint="add a matching glob to the profile's allow_ops (vault add --allow-op)",
            )
        if self.read_only and not operation.read_only:
            raise PolicyError(
                f"operation {op_id} changes data and the profile is read_only",
                field="read_only",
                hint="use a profile without read_only for writes",
            )

    def resolve_user(self, as_user: str | None) -> str:
        """The acting user for a call: ``as_user`` if allowed, else the default user."""
        if as_user is None or as_user == "":
            if self.default_user is None:
                raise PolicyError(
                    "no acting user: pass as_user or set the profile's default_user",
                    field="as_user",
                    hint="vault add --default-user USER_ID, or STREAM_MCP_DEFAULT_USER",
                )
            return self.default_user
        return self.require_user(as_user, field="as_user")

    def require_user(self, user_id: str, *, field: str = "user_id") -> str:
        """``user_id`` if the policy allows it, else a refusal naming ``allowed_users``."""
        user_id = check_user_id(user_id, field=field)
        if not self.allows_user(user_id):
            raise PolicyError(
                f"user {_short(user_id)} is refused: it is not the default_user and matches "
                "none of allowed_users",
                field=field,
                hint="add it to allowed_users (vault add --allow-user, STREAM_MCP_ALLOWED_USERS)",
            )
        return user_id

    def auth_mode(self, operation: Operation) -> AuthMode:
        """``"server"`` if the policy grants server auth for ``operation``, else ``"user"``.

        Server-only operations that are not granted are refused, naming ``server_auth``.
        """
        if self.grants_server(operation):
            return "server"
        if operation.user_token:
            return "user"
        setting = self.server_auth if isinstance(self.server_auth, str) else "a glob list"
        raise PolicyError(
            f"operation {operation.operation_id} needs server-side auth, which this profile "
            f"does not grant (server_auth is {setting})",
            field="server_auth",
            hint="set server_auth to 'server_only' or add a glob matching the operation "
            "(vault add --server-auth, STREAM_MCP_SERVER_AUTH)",
        )

    def issued_ttl(self, ttl_seconds: int | None) -> int:
        """The lifetime of a token issued to a frontend: ``max_issued_ttl`` unless shorter."""
        if ttl_seconds is None:
            return self.max_issued_ttl
        if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
            raise ValidationError(
                "ttl_seconds: expected a positive number of seconds", field="ttl_seconds"
            )
        if ttl_seconds > self.max_issued_ttl:
            raise PolicyError(
                f"ttl_seconds: {ttl_seconds}s exceeds the profile's max_issued_ttl "
                f"({self.max_issued_ttl}s)",
                field="ttl_seconds",
                hint="ask for a shorter ttl_seconds, or raise max_issued_ttl (vault add "
                "--max-issued-ttl)",
            )
        return ttl_seconds

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view (server_auth as a string or list) for display and storage."""
        return self.model_dump(mode="json")


def build_policy(values: Mapping[str, Any], *, names: Mapping[str, str] | None = None) -> Policy:
    """Validate ``values`` into a :class:`Policy`; ``None`` values take the defaults.

    ``names`` maps field names to what the user typed (a CLI flag or an environment variable)
    so the one-line error points at the right place.
    """
    names = names or {}
    try:
        return Policy.model_validate({k: v for k, v in values.items() if v is not None})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "policy"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown policy setting"
        raise ConfigError(f"{names.get(field, field)}: {message}", field=field) from None
