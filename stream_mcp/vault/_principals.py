"""HTTP API keys: who a key belongs to (:class:`Principal`) and how a presented key is checked.

Only a SHA-256 hash of each key is stored; verification compares every stored hash in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

import pydantic
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from stream_mcp.auth import check_globs
from stream_mcp.config import Mode as Mode  # re-exported by the vault package
from stream_mcp.errors import ConfigError
from stream_mcp.observability import get_logger
from stream_mcp.vault._names import check_name

if TYPE_CHECKING:
    from stream_mcp.vault._file import VaultFile

log = get_logger("stream_mcp.vault")

API_KEY_PREFIX = "smcp_"


class Principal(BaseModel):
    """Who an HTTP API key belongs to and what it may do (on top of the profile's policy)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    profile: str
    users: tuple[str, ...] = ("*",)
    modes: tuple[Mode, ...] = ("discovery", "static")
    # Granted operations that can reach users their arguments do not name (app-wide queries).
    app_wide: bool = False

    @field_validator("name", "profile")
    @classmethod
    def _names(cls, value: str, info: ValidationInfo) -> str:
        return check_name(value, str(info.field_name))

    @field_validator("users")
    @classmethod
    def _users(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("give at least one user glob; use '*' for any user the profile allows")
        return check_globs(value, "user")

    @field_validator("modes")
    @classmethod
    def _modes(cls, value: tuple[Mode, ...]) -> tuple[Mode, ...]:
        if not value:
            raise ValueError("give at least one mode: discovery or static")
        return tuple(dict.fromkeys(value))

    def allows_user(self, user_id: str) -> bool:
        return bool(user_id) and any(fnmatchcase(user_id, glob) for glob in self.users)

    @property
    def unrestricted(self) -> bool:
        """True when the key may act on every user the profile allows."""
        return "*" in self.users

    def allows_mode(self, mode: str) -> bool:
        return mode in self.modes

    def grants(self, scope: str) -> bool:
        """API keys carry no OAuth scopes: the profile, users and modes bound them."""
        return True


class ApiKeyIndex:
    """Hashes of HTTP API keys and their principals, for constant-time verification.

    Load it once (:meth:`VaultFile.api_key_index`) and reuse it; rebuild after changes.
    """

    def __init__(self, entries: Sequence[tuple[bytes, Principal]]) -> None:
        self._entries = tuple(entries)

    def verify(self, presented: object) -> Principal | None:
        """The principal for ``presented``, or ``None``. Every stored hash is compared."""
        if not isinstance(presented, str) or not 0 < len(presented) <= 256:
            return None
        digest = key_digest(presented)
        found: Principal | None = None
        for stored, principal in self._entries:
            if hmac.compare_digest(digest, stored):
                found = principal
        return found

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ApiKeyIndex(<{len(self._entries)} keys>)"


def new_principal(
    name: str,
    profile: str,
    users: Sequence[str],
    modes: Sequence[str],
    *,
    app_wide: bool = False,
) -> Principal:
    """A :class:`Principal` from command-line values; a bad one is a one-line error."""
    try:
        return Principal.model_validate(
            {
                "name": name,
                "profile": profile,
                "users": tuple(users),
                "modes": tuple(modes),
                "app_wide": app_wide,
            }
        )
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "principal"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {message}", field=where) from None


def new_api_key() -> str:
    """A fresh HTTP API key, to be shown once."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(presented: str) -> bytes:
    """What the vault stores in place of a key, and what a presented key is compared by."""
    return hashlib.sha256(presented.encode("utf-8")).digest()


def verify_api_key(vault: VaultFile | ApiKeyIndex, presented: str) -> Principal | None:
    """The :class:`Principal` owning ``presented``, or ``None`` (constant-time compare)."""
    index = vault if isinstance(vault, ApiKeyIndex) else vault.api_key_index()
    return index.verify(presented)


class ApiKeyVerifier:
    """Checks HTTP API keys against the vault, reloading the hashes when the file changes,
    so ``vault add-key`` and ``revoke-key`` apply to a running server.

    It fails closed: if a changed vault cannot be read or opened, every key is refused (and
    the reason logged) until the file is usable again.
    """

    def __init__(self, vault: VaultFile) -> None:
        self._vault = vault
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._index = vault.api_key_index()
        if not len(self._index):
            raise ConfigError(
                f"{vault.path}: no HTTP API keys; create one with "
                "`stream-mcp vault add-key NAME --profile PROFILE`",
                field="api_keys",
            )

    def __call__(self, presented: str) -> Principal | None:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._index = self._reload()
                    self._stamp = stamp
        return self._index.verify(presented)

    def _reload(self) -> ApiKeyIndex:
        try:
            index = self._vault.api_key_index()
        except ConfigError as exc:
            log.error("api_keys_unavailable", path=str(self._vault.path), error=str(exc))
            return ApiKeyIndex(())
        log.info("api_keys_reloaded", path=str(self._vault.path), keys=len(index))
        return index

    def _file_stamp(self) -> tuple[int, ...] | None:
        try:
            st = self._vault.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_mode)

    def __repr__(self) -> str:
        return f"ApiKeyVerifier({str(self._vault.path)!r}, {len(self._index)} keys)"
