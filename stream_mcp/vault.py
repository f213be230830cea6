"""Credential backends: an encrypted vault file, and the environment for quick starts.

**Where credentials come from** (:func:`open_credentials`): first the vault file at
``Settings.vault_path`` (``STREAM_MCP_VAULT_PATH``) if it exists and holds the profile; then,
only for the profile ``env`` or when no particular profile was asked for (the name is
``default``), the environment: ``STREAM_API_KEY``, ``STREAM_API_SECRET``, ``STREAM_BASE_URL``
with its policy from ``STREAM_MCP_*`` variables. Anything else is a clear "no such profile".

**The vault file** is JSON, written atomically with mode 0600. Every profile field (API key,
secret, base URL, policy) and every HTTP API key record is sealed on its own with AES-256-GCM
under the master key. The associated data names the key id, the entry, a per-entry revision
and the field, so a ciphertext moved to another entry or field, or spliced in from an older
copy of the same entry, fails to open. A sealed key-check value tells a wrong master key
apart from a tampered entry; a cut-off file is reported as truncated. Nothing is written
unless the whole operation succeeded, so an error never loses data.

**The master key**, for a vault whose key id was made from:

- ``STREAM_MCP_VAULT_KEY``: 32 random bytes in base64 (standard or URL-safe) are used as the
  key directly; any other value of 12+ characters is a passphrase, stretched with scrypt
  using the salt stored in the file for that key id. When set, it always wins.
- the OS keyring (only a real backend; keyring's ``fail``/``null`` backends are ignored): a
  random key stored as service ``stream-mcp``, user ``vault-key:<key id>``.
- a passphrase typed at a prompt (scrypt, salt in the file). Only in a terminal; a
  non-interactive process with no key gets an error saying how to provide one.

:meth:`VaultFile.rotate_key` re-seals everything under a new key id in one atomic write. The
new key comes from ``STREAM_MCP_VAULT_NEW_KEY`` if set, else from the same kind of source as
the old one (a fresh keyring entry, or a new passphrase at the prompt).
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import keyring
import pydantic
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretBytes,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_mcp.config import DEFAULT_BASE_URL, Settings
from stream_mcp.credentials import (
    Clock,
    Credentials,
    Signer,
    TokenCache,
    check_api_key,
    check_base_url,
    check_secret,
)
from stream_mcp.errors import ConfigError
from stream_mcp.logs import get_logger
from stream_mcp.policy import Policy, build_policy, check_globs

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; writes stay atomic regardless
    fcntl = None  # type: ignore[assignment]

log = get_logger(__name__)

FORMAT = "stream-mcp-vault"
FORMAT_VERSION = 1
KEYRING_SERVICE = "stream-mcp"
ENV_PROFILE = "env"
API_KEY_PREFIX = "smcp_"
DEFAULT_SCRYPT_N = 2**17
MIN_PASSPHRASE = 12
DETECT = "detect"
KEY_VAR = "STREAM_MCP_VAULT_KEY"
NEW_KEY_VAR = "STREAM_MCP_VAULT_NEW_KEY"

KeyOrigin = Literal["env", "keyring", "prompt"]
KeyKind = Literal["raw", "scrypt"]
Mode = Literal["discovery", "static"]
Prompt = Callable[[str], str]

_PROFILE_FIELDS = ("api_key", "secret", "base_url", "policy")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CHECK_PLAINTEXT = b"stream-mcp vault key check v1"
_MAX_FILE = 16 * 1024 * 1024


# --------------------------------------------------------------------------- errors


class VaultError(ConfigError):
    """The vault file cannot be used as it is."""

    kind = "vault_error"


class VaultNotFound(VaultError):
    kind = "vault_not_found"


class VaultTruncated(VaultError):
    """The file ends early: a partial copy or a full disk, not a deliberate edit."""

    kind = "vault_truncated"


class VaultCorrupt(VaultError):
    """The file is not a vault (bad JSON or structure)."""

    kind = "vault_corrupt"


class VaultTampered(VaultError):
    """An entry failed authentication: edited, moved between entries, or spliced in."""

    kind = "vault_tampered"


class VaultWrongKey(VaultError):
    """The master key we found does not open this vault."""

    kind = "vault_wrong_key"


class VaultKeyMissing(VaultError):
    """No master key could be found (or made) without asking, and we may not ask."""

    kind = "vault_key_missing"


class ProfileNotFound(ConfigError):
    kind = "profile_not_found"


# --------------------------------------------------------------------------- settings

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


class VaultKeySettings(BaseSettings):
    """``STREAM_MCP_VAULT_KEY`` and ``STREAM_MCP_VAULT_NEW_KEY`` (for rotation)."""

    model_config = SettingsConfigDict(env_prefix="STREAM_MCP_", frozen=True, extra="ignore")

    vault_key: SecretStr | None = None
    vault_new_key: SecretStr | None = None


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

    def to_policy(self) -> Policy:
        names = {name: f"STREAM_MCP_{name.upper()}" for name in type(self).model_fields}
        return build_policy(self.model_dump(), names=names)


# --------------------------------------------------------------------------- master keys


@dataclass(frozen=True, slots=True)
class KeySpec:
    """Public facts about a master key, stored in the vault: never the key itself."""

    kid: str
    kind: KeyKind
    origin: KeyOrigin
    salt: bytes = b""
    n: int = 0
    r: int = 0
    p: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.kid, "kind": self.kind, "origin": self.origin}
        if self.kind == "scrypt":
            data["scrypt"] = {"salt": _b64(self.salt), "n": self.n, "r": self.r, "p": self.p}
        return data

    @classmethod
    def from_json(cls, data: Any, path: Path) -> KeySpec:
        try:
            kid, kind, origin = data["id"], data["kind"], data["origin"]
            if not (isinstance(kid, str) and _NAME.match(kid)):
                raise ValueError("id")
            if kind not in ("raw", "scrypt") or origin not in ("env", "keyring", "prompt"):
                raise ValueError("kind")
            if kind == "raw":
                return cls(kid=kid, kind="raw", origin=origin)
            kdf = data["scrypt"]
            spec = cls(kid, "scrypt", origin, _unb64(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
            _check_scrypt(spec)
            return spec
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise VaultCorrupt(f"{path}: the 'key' section is malformed") from None


def _check_scrypt(spec: KeySpec) -> None:
    ok = (
        isinstance(spec.n, int)
        and 2**4 <= spec.n <= 2**22
        and spec.n & (spec.n - 1) == 0
        and isinstance(spec.r, int)
        and 1 <= spec.r <= 32
        and isinstance(spec.p, int)
        and 1 <= spec.p <= 16
        and 16 <= len(spec.salt) <= 64
    )
    if not ok:
        raise ValueError("scrypt parameters out of range")


def decode_raw_key(value: str) -> bytes | None:
    """32 bytes from base64 (standard or URL-safe, padding optional), else ``None``."""
    text = value.strip().replace("+", "-").replace("/", "_").rstrip("=")
    if len(text) != 43 or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        return None
    raw = base64.urlsafe_b64decode(text + "=")
    return raw if len(raw) == 32 else None


def generate_key() -> str:
    """A fresh random master key in the form ``STREAM_MCP_VAULT_KEY`` accepts."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def keyring_usable(backend: Any) -> bool:
    """False for keyring's ``fail`` and ``null`` backends and an empty chainer."""
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    chained = getattr(backend, "backends", None)
    return not (module.startswith("keyring.backends.chainer") and not chained)


def detect_keyring() -> Any | None:
    """The OS keyring backend if a usable one is configured, else ``None``."""
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    return backend if keyring_usable(backend) else None


class KeySource:
    """Finds (or makes) master keys: environment variable > OS keyring > passphrase prompt.

    Holds the environment values as :class:`~pydantic.SecretStr`; its repr shows only which
    sources are available. ``scrypt_n`` is the cost for *new* passphrase keys (existing key
    ids keep the parameters stored with them); tests pass a small value.
    """

    def __init__(
        self,
        *,
        vault_key: SecretStr | str | None = None,
        new_vault_key: SecretStr | str | None = None,
        keyring_backend: Any | None = None,
        prompt: Prompt | None = None,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        scrypt_r: int = 8,
        scrypt_p: int = 1,
    ) -> None:
        self._key = _secret(vault_key)
        self._new_key = _secret(new_vault_key)
        self._keyring = keyring_backend
        self._prompt = prompt
        self._scrypt = (scrypt_n, scrypt_r, scrypt_p)

    @classmethod
    def from_environment(
        cls,
        settings: VaultKeySettings | None = None,
        *,
        interactive: bool = False,
        keyring_backend: Any = DETECT,
        scrypt_n: int = DEFAULT_SCRYPT_N,
    ) -> KeySource:
        """The usual source: ``STREAM_MCP_VAULT_KEY``/``_NEW_KEY``, the OS keyring (detected
        unless ``keyring_backend`` is given; ``None`` disables it), and ``getpass`` only when
        ``interactive``."""
        settings = settings or load_settings(VaultKeySettings)
        backend = detect_keyring() if keyring_backend is DETECT else keyring_backend
        return cls(
            vault_key=settings.vault_key,
            new_vault_key=settings.vault_new_key,
            keyring_backend=backend,
            prompt=_getpass if interactive else None,
            scrypt_n=scrypt_n,
        )

    # -- opening an existing key

    def unlock(self, spec: KeySpec) -> bytes:
        """The master key for ``spec``; raises if it cannot be found without guessing."""
        if spec.kind == "raw":
            return self._unlock_raw(spec)
        if self._key is not None:
            return _derive(self._key.get_secret_value(), spec)
        if self._prompt is not None:
            return _derive(self._prompt(f"Passphrase for vault key {spec.kid}: "), spec)
        raise VaultKeyMissing(
            f"vault key {spec.kid} is passphrase-based: set {KEY_VAR} to the passphrase "
            "or run the command in a terminal to be prompted",
            field=KEY_VAR,
        )

    def _unlock_raw(self, spec: KeySpec) -> bytes:
        if self._key is not None:
            raw = decode_raw_key(self._key.get_secret_value())
            if raw is None:
                raise VaultWrongKey(
                    f"vault key {spec.kid} is a 32-byte key, but {KEY_VAR} is not one "
                    "(expected 32 bytes in base64)",
                    field=KEY_VAR,
                )
            return raw
        if self._keyring is not None:
            stored = self._keyring_call("get_password", spec.kid)
            if stored is not None:
                raw = decode_raw_key(stored)
                if raw is not None:
                    return raw
        raise VaultKeyMissing(
            f"no master key for vault key {spec.kid}: set {KEY_VAR} to the base64 key, or "
            f"make the OS keyring entry {KEYRING_SERVICE}/vault-key:{spec.kid} available",
            field=KEY_VAR,
        )

    # -- making a new key

    def create(
        self, origin: KeyOrigin | None = None, *, replacing: KeySpec | None = None
    ) -> tuple[KeySpec, bytes]:
        """A new key id and key for ``vault init`` (or rotation, given the key it replaces)."""
        origin = origin or self._default_origin(replacing)
        kid = "k" + secrets.token_hex(6)
        if origin == "env":
            var, value = (NEW_KEY_VAR, self._new_key) if replacing else (KEY_VAR, self._key)
            if value is None:
                raise VaultKeyMissing(f"set {var} to the new master key", field=var)
            text = value.get_secret_value()
            if (
                replacing is not None
                and self._key is not None
                and (text == self._key.get_secret_value())
            ):
                raise ConfigError(f"{NEW_KEY_VAR} must differ from {KEY_VAR}", field=NEW_KEY_VAR)
            raw = decode_raw_key(text)
            if raw is not None:
                return KeySpec(kid=kid, kind="raw", origin="env"), raw
            return self._new_scrypt(kid, "env", _check_passphrase(text, var))
        if origin == "keyring":
            if self._keyring is None:
                raise VaultKeyMissing(
                    f"no usable OS keyring here; set {KEY_VAR} (see `stream-mcp vault "
                    "generate-key`) or use a passphrase",
                    field="keyring",
                )
            return KeySpec(kid=kid, kind="raw", origin="keyring"), secrets.token_bytes(32)
        if self._prompt is None:
            raise VaultKeyMissing(
                f"a passphrase prompt needs a terminal; set {KEY_VAR} instead",
                field=KEY_VAR,
            )
        first = self._prompt("New vault passphrase: ")
        if self._prompt("Repeat the passphrase: ") != first:
            raise ConfigError("passphrase: the two entries differ", field="passphrase")
        return self._new_scrypt(kid, "prompt", _check_passphrase(first, "passphrase"))

    def _default_origin(self, replacing: KeySpec | None) -> KeyOrigin:
        if replacing is None:
            if self._key is not None:
                return "env"
            if self._keyring is not None:
                return "keyring"
            if self._prompt is not None:
                return "prompt"
            raise VaultKeyMissing(
                f"no master key: set {KEY_VAR} to 32 random bytes in base64 (`stream-mcp "
                "vault generate-key`) or to a passphrase, or run in a terminal",
                field=KEY_VAR,
            )
        if self._new_key is not None:
            return "env"
        if replacing.origin in ("keyring", "prompt"):
            return replacing.origin
        raise VaultKeyMissing(
            f"set {NEW_KEY_VAR} to the new key (e.g. from `stream-mcp vault generate-key`), "
            f"rotate, then switch {KEY_VAR} to it",
            field=NEW_KEY_VAR,
        )

    def _new_scrypt(self, kid: str, origin: KeyOrigin, passphrase: str) -> tuple[KeySpec, bytes]:
        n, r, p = self._scrypt
        spec = KeySpec(kid, "scrypt", origin, secrets.token_bytes(16), n, r, p)
        return spec, _derive(passphrase, spec)

    # -- keyring persistence

    def store(self, spec: KeySpec, key: bytes) -> None:
        """Persist a new key where it will be found again (the keyring; else nothing)."""
        if spec.origin == "keyring":
            self._keyring_call("set_password", spec.kid, _b64(key))

    def forget(self, spec: KeySpec) -> None:
        """Best-effort removal of a retired keyring key."""
        if spec.origin == "keyring" and self._keyring is not None:
            with suppress(VaultKeyMissing):
                self._keyring_call("delete_password", spec.kid)

    def _keyring_call(self, method: str, kid: str, *args: str) -> Any:
        try:
            return getattr(self._keyring, method)(KEYRING_SERVICE, f"vault-key:{kid}", *args)
        except Exception as exc:
            raise VaultKeyMissing(
                f"the OS keyring failed ({type(exc).__name__}); set {KEY_VAR} instead",
                field="keyring",
            ) from None

    def __repr__(self) -> str:
        return (
            f"KeySource(env={self._key is not None}, keyring={self._keyring is not None}, "
            f"prompt={self._prompt is not None})"
        )


def _getpass(label: str) -> str:
    """``getpass`` that turns end-of-input into a one-line error instead of a traceback."""
    try:
        return getpass.getpass(label)
    except EOFError:
        raise ConfigError(
            "passphrase: no input (end of file at the prompt)", field="passphrase"
        ) from None


def _secret(value: SecretStr | str | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value if value is None or value.get_secret_value() else None
    return SecretStr(value) if value else None


def _check_passphrase(value: str, field_name: str) -> str:
    if len(value) < MIN_PASSPHRASE:
        raise ConfigError(
            f"{field_name}: a passphrase needs at least {MIN_PASSPHRASE} characters "
            "(or give 32 random bytes in base64)",
            field=field_name,
        )
    return value


def _derive(passphrase: str, spec: KeySpec) -> bytes:
    kdf = Scrypt(salt=spec.salt, length=32, n=spec.n, r=spec.r, p=spec.p)
    return kdf.derive(passphrase.encode("utf-8"))


# --------------------------------------------------------------------------- sealing


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(text.encode("ascii"))


def _aad(kid: str, *parts: str) -> bytes:
    return json.dumps([FORMAT, FORMAT_VERSION, kid, *parts], separators=(",", ":")).encode()


def _seal(key: bytes, aad: bytes, plaintext: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return _b64(nonce + AESGCM(key).encrypt(nonce, plaintext, aad))


def _open(key: bytes, aad: bytes, blob: str) -> bytes:
    """Raises ``ValueError``/``InvalidTag`` if ``blob`` was not sealed with this key and aad."""
    data = _unb64(blob)
    if len(data) < 12 + 16:
        raise ValueError("too short")
    return AESGCM(key).decrypt(data[:12], data[12:], aad)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """A profile as a backend returns it. The secret exists only inside ``signer``."""

    name: str
    api_key: str
    base_url: str
    policy: Policy
    signer: Signer
    source: str

    def credentials(
        self, *, clock: Clock = time.time, cache: TokenCache | None = None
    ) -> Credentials:
        return Credentials(
            profile_name=self.name,
            api_key=self.api_key,
            base_url=self.base_url,
            policy=self.policy,
            signer=self.signer,
            clock=clock,
            cache=cache,
        )


class Principal(BaseModel):
    """Who an HTTP API key belongs to and what it may do (on top of the profile's policy)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    profile: str
    users: tuple[str, ...] = ("*",)
    modes: tuple[Mode, ...] = ("discovery", "static")

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

    def allows_mode(self, mode: str) -> bool:
        return mode in self.modes


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
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        found: Principal | None = None
        for stored, principal in self._entries:
            if hmac.compare_digest(digest, stored):
                found = principal
        return found

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ApiKeyIndex(<{len(self._entries)} keys>)"


def check_name(value: object, field_name: str = "profile") -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        shown = repr(value)[:70]
        raise ConfigError(
            f"{field_name}: {shown} is not a valid name (letters, digits, '_', '.', '-'; "
            "at most 64 characters)",
            field=field_name,
        )
    return value


# --------------------------------------------------------------------------- backends


@runtime_checkable
class CredentialBackend(Protocol):
    """What the server needs from a credential store. A HashiCorp Vault (hvac) backend
    would implement these four methods over a KV mount."""

    def list_profiles(self) -> list[str]: ...

    def get_profile(self, name: str) -> ProfileRecord: ...

    def put_profile(
        self,
        name: str,
        *,
        api_key: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        policy: Policy | None = None,
        replace: bool = False,
    ) -> None: ...

    def remove_profile(self, name: str) -> None: ...


@dataclass
class _Document:
    key: KeySpec
    check: str
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    api_keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def dump(self) -> bytes:
        data = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "key": {**self.key.to_json(), "check": self.check},
            "profiles": self.profiles,
            "api_keys": self.api_keys,
        }
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _looks_truncated(text: str, exc: json.JSONDecodeError) -> bool:
    """A JSON error caused by the text stopping, rather than by bad text in the middle."""
    rest = text[exc.pos :].strip()
    if not rest or exc.msg.startswith("Unterminated string"):
        return True
    return exc.msg == "Expecting value" and any(
        w.startswith(rest) for w in ("true", "false", "null")
    )


def _parse(raw: bytes, path: Path) -> _Document:
    hint = "restore it from a backup; nothing was changed"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise VaultCorrupt(f"{path}: not a vault file (not UTF-8 text); {hint}") from None
    if not text.strip():
        raise VaultTruncated(f"{path}: the vault file is empty (truncated); {hint}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if _looks_truncated(text, exc):
            raise VaultTruncated(
                f"{path}: the vault file ends unexpectedly after {len(raw)} bytes (truncated); "
                f"{hint}"
            ) from None
        raise VaultCorrupt(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}); {hint}"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise VaultCorrupt(f"{path}: not a stream-mcp vault file")
    if data.get("version") != FORMAT_VERSION:
        raise VaultCorrupt(
            f"{path}: vault format version {data.get('version')!r} is not supported by this "
            f"stream-mcp (expected {FORMAT_VERSION})"
        )
    key = data.get("key")
    check = key.get("check") if isinstance(key, dict) else None
    if not isinstance(check, str):
        raise VaultCorrupt(f"{path}: the 'key' section is malformed")
    doc = _Document(key=KeySpec.from_json(key, path), check=check)
    for section, fields in (
        ("profiles", (*_PROFILE_FIELDS, "rev")),
        ("api_keys", ("principal", "rev")),
    ):
        entries = data.get(section, {})
        if not isinstance(entries, dict):
            raise VaultCorrupt(f"{path}: '{section}' is not an object")
        for name, entry in entries.items():
            if not isinstance(entry, dict) or any(
                not isinstance(entry.get(f), str) for f in fields
            ):
                raise VaultCorrupt(f"{path}: entry {section}.{name} is malformed")
            getattr(doc, section)[name] = {f: entry[f] for f in fields}
    return doc


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a 0600 temporary file next to ``path``, fsync, then rename over it.

    A failure at any point leaves the previous file untouched and no temporary file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        with suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


class VaultFile:
    """The encrypted vault file (the default :class:`CredentialBackend`).

    Reads are lazy: only the entries asked for are decrypted. Every change takes a file lock,
    re-reads the file, checks the master key, and replaces the file atomically.
    """

    def __init__(self, path: Path | str, key_source: KeySource) -> None:
        self.path = Path(path).expanduser()
        self._keys = key_source
        self._unlocked: dict[str, SecretBytes] = {}  # masked repr, even through vars()

    def __repr__(self) -> str:
        return f"VaultFile({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.exists()

    # -- key management

    def init(self, origin: KeyOrigin | None = None) -> KeySpec:
        """Create an empty vault with a new master key; refuses to overwrite a file."""
        with self._locked():
            if self.path.exists():
                raise VaultError(
                    f"{self.path}: a vault already exists; use `stream-mcp vault rotate-key` "
                    "to change its key",
                    field="vault_path",
                )
            spec, key = self._keys.create(origin)
            self._keys.store(spec, key)
            doc = _Document(
                key=spec, check=_seal(key, _aad(spec.kid, "key-check"), _CHECK_PLAINTEXT)
            )
            try:
                self._write(doc)
            except BaseException:
                self._keys.forget(spec)
                raise
        self._unlocked = {spec.kid: SecretBytes(key)}
        log.info("vault_created", path=str(self.path), key_id=spec.kid, key_origin=spec.origin)
        return spec

    def key_spec(self) -> KeySpec:
        return self._load().key

    def rotate_key(self, origin: KeyOrigin | None = None) -> KeySpec:
        """Re-seal every entry under a new key id in one atomic write; retire the old key."""
        with self._locked():
            doc = self._load()
            old_key = self._unlock(doc)
            plain_profiles = {
                name: {
                    f: self._open_field(doc, old_key, "profile", name, f) for f in _PROFILE_FIELDS
                }
                for name in doc.profiles
            }
            plain_keys = {
                name: self._open_field(doc, old_key, "api_key", name, "principal")
                for name in doc.api_keys
            }
            spec, key = self._keys.create(origin, replacing=doc.key)
            self._keys.store(spec, key)
            new = _Document(
                key=spec, check=_seal(key, _aad(spec.kid, "key-check"), _CHECK_PLAINTEXT)
            )
            for name, fields in plain_profiles.items():
                rev = doc.profiles[name]["rev"]
                new.profiles[name] = self._seal_entry(key, spec.kid, "profile", name, rev, fields)
            for name, principal in plain_keys.items():
                rev = doc.api_keys[name]["rev"]
                new.api_keys[name] = self._seal_entry(
                    key, spec.kid, "api_key", name, rev, {"principal": principal}
                )
            try:
                self._write(new)
            except BaseException:
                self._keys.forget(spec)
                raise
        self._unlocked = {spec.kid: SecretBytes(key)}
        if doc.key.kid != spec.kid:
            self._keys.forget(doc.key)
        log.info("vault_key_rotated", path=str(self.path), old_key_id=doc.key.kid, key_id=spec.kid)
        return spec

    # -- profiles (CredentialBackend)

    def list_profiles(self) -> list[str]:
        """Profile names; needs no master key."""
        return sorted(self._load().profiles)

    def get_profile(self, name: str) -> ProfileRecord:
        doc = self._load()
        if name not in doc.profiles:
            raise self._no_profile(name, doc)
        key = self._unlock(doc)
        values = {f: self._open_field(doc, key, "profile", name, f) for f in _PROFILE_FIELDS}
        try:
            policy = Policy.model_validate_json(values["policy"])
        except pydantic.ValidationError:
            raise VaultCorrupt(
                f"{self.path}: the policy of profile {name!r} is not valid for this stream-mcp"
            ) from None
        return ProfileRecord(
            name=name,
            api_key=values["api_key"].decode("utf-8"),
            base_url=values["base_url"].decode("utf-8"),
            policy=policy,
            signer=Signer(values["secret"].decode("utf-8")),
            source=f"vault:{self.path}",
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
        check_name(name, "profile")
        if name == ENV_PROFILE:
            raise ConfigError(
                f"profile: {ENV_PROFILE!r} is reserved for the environment backend",
                field="profile",
            )
        policy = policy if policy is not None else Policy()
        fields = {
            "api_key": check_api_key(api_key).encode("utf-8"),
            "secret": check_secret(secret).encode("utf-8"),
            "base_url": check_base_url(base_url).encode("utf-8"),
            "policy": policy.model_dump_json().encode("utf-8"),
        }
        with self._locked():
            doc = self._load()
            key = self._unlock(doc)
            if name in doc.profiles and not replace:
                raise ConfigError(
                    f"profile {name!r} already exists; pass --replace to overwrite it",
                    field="profile",
                )
            rev = secrets.token_hex(8)
            doc.profiles[name] = self._seal_entry(key, doc.key.kid, "profile", name, rev, fields)
            self._write(doc)
        log.info("vault_profile_saved", path=str(self.path), profile=name)

    def remove_profile(self, name: str) -> None:
        with self._locked():
            doc = self._load()
            if name not in doc.profiles:
                raise self._no_profile(name, doc)
            key = self._unlock(doc)
            users = sorted(p.name for p in self._principals(doc, key) if p.profile == name)
            if users:
                raise ConfigError(
                    f"profile {name!r} is used by API keys {', '.join(users)}; revoke them first "
                    "(stream-mcp vault revoke-key NAME)",
                    field="profile",
                )
            del doc.profiles[name]
            self._write(doc)
        log.info("vault_profile_removed", path=str(self.path), profile=name)

    # -- HTTP API keys

    def add_api_key(
        self,
        name: str,
        *,
        profile: str,
        users: Sequence[str] = ("*",),
        modes: Sequence[str] = ("discovery", "static"),
    ) -> str:
        """Create an API key for the HTTP transport; the key is returned once, only a hash
        is stored. ``profile`` need not be in this vault: a server may run an environment
        or sandbox profile of that name."""
        try:
            principal = Principal(
                name=name, profile=profile, users=tuple(users), modes=tuple(modes)
            )
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = str(first["loc"][0]) if first["loc"] else "principal"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"{where}: {message}", field=where) from None
        presented = API_KEY_PREFIX + secrets.token_urlsafe(32)
        record = {
            "principal": principal.model_dump(mode="json"),
            "sha256": hashlib.sha256(presented.encode("utf-8")).hexdigest(),
        }
        with self._locked():
            doc = self._load()
            key = self._unlock(doc)
            if name in doc.api_keys:
                raise ConfigError(f"API key {name!r} already exists; revoke it first", field="name")
            plain = json.dumps(record, sort_keys=True).encode("utf-8")
            doc.api_keys[name] = self._seal_entry(
                key, doc.key.kid, "api_key", name, secrets.token_hex(8), {"principal": plain}
            )
            self._write(doc)
        log.info("vault_api_key_added", path=str(self.path), name=name, profile=profile)
        return presented

    def principals(self) -> list[Principal]:
        doc = self._load()
        return self._principals(doc, self._unlock(doc)) if doc.api_keys else []

    def revoke_api_key(self, name: str) -> None:
        with self._locked():
            doc = self._load()
            self._unlock(doc)
            if name not in doc.api_keys:
                raise ConfigError(f"no API key named {name!r}", field="name")
            del doc.api_keys[name]
            self._write(doc)
        log.info("vault_api_key_revoked", path=str(self.path), name=name)

    def api_key_index(self) -> ApiKeyIndex:
        doc = self._load()
        if not doc.api_keys:
            return ApiKeyIndex(())
        key = self._unlock(doc)
        return ApiKeyIndex([self._api_key_entry(doc, key, name) for name in sorted(doc.api_keys)])

    def verify_api_key(self, presented: str) -> Principal | None:
        """Principal for a presented HTTP API key, or ``None``; reads the file each time."""
        return self.api_key_index().verify(presented)

    # -- internals

    def _principals(self, doc: _Document, key: bytes) -> list[Principal]:
        return [self._api_key_entry(doc, key, name)[1] for name in sorted(doc.api_keys)]

    def _api_key_entry(self, doc: _Document, key: bytes, name: str) -> tuple[bytes, Principal]:
        plain = self._open_field(doc, key, "api_key", name, "principal")
        try:
            record = json.loads(plain)
            principal = Principal.model_validate(record["principal"])
            digest = bytes.fromhex(record["sha256"])
        except (ValueError, KeyError, TypeError, pydantic.ValidationError):
            raise VaultCorrupt(f"{self.path}: API key {name!r} has an unreadable record") from None
        if principal.name != name:
            raise VaultTampered(f"{self.path}: API key {name!r} holds another key's record")
        return digest, principal

    def _seal_entry(
        self, key: bytes, kid: str, section: str, name: str, rev: str, fields: dict[str, bytes]
    ) -> dict[str, str]:
        entry = {"rev": rev}
        for fname, value in fields.items():
            entry[fname] = _seal(key, _aad(kid, section, name, rev, fname), value)
        return entry

    def _open_field(self, doc: _Document, key: bytes, section: str, name: str, fname: str) -> bytes:
        entries = doc.profiles if section == "profile" else doc.api_keys
        entry = entries[name]
        try:
            return _open(key, _aad(doc.key.kid, section, name, entry["rev"], fname), entry[fname])
        except (InvalidTag, ValueError, binascii.Error):
            what = "profile" if section == "profile" else "API key"
            raise VaultTampered(
                f"{self.path}: {what} {name!r} field {fname!r} failed authentication: the "
                "file was edited or entries were moved; restore it from a backup or re-add "
                "the entry (nothing was changed)",
                field=fname,
            ) from None

    def _unlock(self, doc: _Document) -> bytes:
        kid = doc.key.kid
        cached = self._unlocked.get(kid)
        if cached is not None:
            return cached.get_secret_value()
        key = self._keys.unlock(doc.key)
        try:
            ok = _open(key, _aad(kid, "key-check"), doc.check) == _CHECK_PLAINTEXT
        except (InvalidTag, ValueError, binascii.Error):
            ok = False
        if not ok:
            raise VaultWrongKey(
                f"{self.path}: the master key from {_origin_label(doc.key)} does not open this "
                f"vault (key id {kid}); nothing was changed",
                field=KEY_VAR,
            )
        self._unlocked = {kid: SecretBytes(key)}
        return key

    def _load(self) -> _Document:
        try:
            with self.path.open("rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                raw = handle.read(_MAX_FILE + 1)
        except FileNotFoundError:
            raise VaultNotFound(
                f"{self.path}: no vault here; create one with `stream-mcp vault init`",
                field="vault_path",
            ) from None
        except OSError as exc:
            raise VaultError(f"{self.path}: cannot read the vault ({exc.strerror})") from None
        if len(raw) > _MAX_FILE:
            raise VaultCorrupt(f"{self.path}: too large to be a vault file")
        if os.name == "posix" and mode & 0o077:
            log.warning(
                "vault_permissions",
                path=str(self.path),
                mode=oct(mode & 0o777),
                hint=f"chmod 600 {self.path}",
            )
        return _parse(raw, self.path)

    def _write(self, doc: _Document) -> None:
        try:
            _atomic_write(self.path, doc.dump())
        except OSError as exc:
            raise VaultError(
                f"{self.path}: could not write the vault ({exc.strerror or type(exc).__name__}); "
                "the previous file is unchanged"
            ) from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize read-modify-write cycles between processes (POSIX advisory lock)."""
        if fcntl is None:
            yield
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(
                self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600
            )
        except OSError as exc:
            raise VaultError(f"{self.path}: cannot lock the vault ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _no_profile(self, name: str, doc: _Document) -> ProfileNotFound:
        known = ", ".join(sorted(doc.profiles)) or "none"
        return ProfileNotFound(
            f"no profile {name!r} in {self.path} (profiles: {known})",
            field="profile",
            hint="add it with `stream-mcp vault add NAME --api-key KEY`",
        )


def _origin_label(spec: KeySpec) -> str:
    return {
        "env": KEY_VAR,
        "keyring": f"{KEY_VAR} or the OS keyring",
        "prompt": f"{KEY_VAR} or the passphrase",
    }[spec.origin]


class EnvBackend:
    """Read-only profile ``env`` from ``STREAM_API_KEY``/``_SECRET``/``STREAM_BASE_URL``.

    Its policy comes from ``STREAM_MCP_DEFAULT_USER``, ``_ALLOWED_USERS`` (comma globs),
    ``_SERVER_AUTH`` (none | server_only | comma globs), ``_READ_ONLY``, ``_ALLOW_OPS``,
    ``_DENY_OPS``, ``_USER_TOKEN_TTL`` and ``_MAX_ISSUED_TTL``. Pass settings objects to
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

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self._vault.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def __repr__(self) -> str:
        return f"ApiKeyVerifier({str(self._vault.path)!r}, {len(self._index)} keys)"


def api_key_verifier(settings: Settings, *, key_source: KeySource | None = None) -> ApiKeyVerifier:
    """The HTTP transport's key check for the vault at ``settings.vault_path``.

    Raises at start-up if the vault is missing, cannot be opened, or holds no API keys.
    """
    vault = VaultFile(settings.vault_path, key_source or KeySource.from_environment())
    return ApiKeyVerifier(vault)


def open_credentials(
    settings: Settings,
    profile_name: str | None = None,
    *,
    key_source: KeySource | None = None,
    env: EnvBackend | None = None,
    clock: Clock = time.time,
) -> Credentials:
    """Credentials for ``profile_name`` (default ``settings.profile``).

    Order: the vault file, if it exists and has the profile; else the environment backend,
    if the name is ``env`` or the unchanged default ``default``. Never prompts unless
    ``key_source`` was built to.
    """
    name = profile_name or settings.profile
    vault = VaultFile(settings.vault_path, key_source or KeySource.from_environment())
    if vault.exists() and name in vault.list_profiles():
        return vault.get_profile(name).credentials(clock=clock)
    if name in (ENV_PROFILE, _DEFAULT_PROFILE):
        backend = env or EnvBackend()
        if name == ENV_PROFILE or backend.list_profiles():
            return backend.get_profile(ENV_PROFILE).credentials(clock=clock)
    where = f"the vault {vault.path}" if vault.exists() else f"{vault.path} (no vault yet)"
    raise ProfileNotFound(
        f"no profile {name!r} in {where}, and no STREAM_API_KEY/STREAM_API_SECRET to fall back on",
        field="profile",
        hint=f"run `stream-mcp vault add {name} --api-key KEY` or set STREAM_API_KEY and "
        "STREAM_API_SECRET",
    )


_DEFAULT_PROFILE = str(Settings.model_fields["profile"].default)
