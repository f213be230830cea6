"""Master keys: where they come from, what is stored about them, and how they are derived.

For a vault whose key id was made from:

- ``STREAM_MCP_VAULT_KEY``: 32 random bytes in base64 (standard or URL-safe) are used as the
  key directly; any other value of 12+ characters is a passphrase, stretched with scrypt
  using the salt stored in the file for that key id. When set, it always wins.
- the OS keyring (only a real backend; keyring's ``fail``/``null`` backends are ignored): a
  random key stored as service ``stream-mcp``, user ``vault-key:<key id>``.
- a passphrase typed at a prompt (scrypt, salt in the file). Only in a terminal; a
  non-interactive process with no key gets an error saying how to provide one.

Rotation takes the new key from ``STREAM_MCP_VAULT_NEW_KEY`` if set, else from the same
kind of source as the old one (a fresh keyring entry, or a new passphrase at the prompt).

The OS keyring is looked for only when a key is first needed from it: probing it loads every
keyring backend (~0.2 s), which a server with no vault file, or with the key in
``STREAM_MCP_VAULT_KEY``, must not pay at start-up; keyring itself is imported only then.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import re
import secrets
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_mcp.errors import ConfigError
from stream_mcp.vault._errors import VaultCorrupt, VaultKeyMissing, VaultWrongKey
from stream_mcp.vault._names import NAME
from stream_mcp.vault._sealing import b64, unb64
from stream_mcp.vault._settings import load_settings

KEYRING_SERVICE = "stream-mcp"
DEFAULT_SCRYPT_N = 2**17
MIN_PASSPHRASE = 12
DETECT = "detect"
KEY_VAR = "STREAM_MCP_VAULT_KEY"
NEW_KEY_VAR = "STREAM_MCP_VAULT_NEW_KEY"

KeyOrigin = Literal["env", "keyring", "prompt"]
KeyKind = Literal["raw", "scrypt"]
Prompt = Callable[[str], str]


class VaultKeySettings(BaseSettings):
    """``STREAM_MCP_VAULT_KEY`` and ``STREAM_MCP_VAULT_NEW_KEY`` (for rotation)."""

    model_config = SettingsConfigDict(env_prefix="STREAM_MCP_", frozen=True, extra="ignore")

    vault_key: SecretStr | None = None
    vault_new_key: SecretStr | None = None


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
            data["scrypt"] = {"salt": b64(self.salt), "n": self.n, "r": self.r, "p": self.p}
        return data

    @classmethod
    def from_json(cls, data: Any, path: Path) -> KeySpec:
        try:
            kid, kind, origin = data["id"], data["kind"], data["origin"]
            if not (isinstance(kid, str) and NAME.match(kid)):
                raise ValueError("id")
            if kind not in ("raw", "scrypt") or origin not in ("env", "keyring", "prompt"):
                raise ValueError("kind")
            if kind == "raw":
                return cls(kid=kid, kind="raw", origin=origin)
            kdf = data["scrypt"]
            spec = cls(kid, "scrypt", origin, unb64(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
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
    import keyring

    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    return backend if keyring_usable(backend) else None


class KeySource:
    """Finds (or makes) master keys: environment variable > OS keyring > passphrase prompt.

    Holds the environment values as :class:`~pydantic.SecretStr`; its repr shows only which
    sources are available. ``keyring_backend`` is a backend, ``None`` (no keyring), or
    ``DETECT``: look for the OS keyring the first time a key could come from it. ``scrypt_n``
    is the cost for *new* passphrase keys (existing key ids keep the parameters stored with
    them); tests pass a small value.
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
        self._keyring_backend = keyring_backend
        self._keyring_lock = threading.Lock()
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
        on first need unless ``keyring_backend`` is given; ``None`` disables it), and
        ``getpass`` only when ``interactive``."""
        settings = settings or load_settings(VaultKeySettings)
        return cls(
            vault_key=settings.vault_key,
            new_vault_key=settings.vault_new_key,
            keyring_backend=keyring_backend,
            prompt=_getpass if interactive else None,
            scrypt_n=scrypt_n,
        )

    @property
    def _keyring(self) -> Any | None:
        """The keyring backend, detected on first use if it was left to ``DETECT``."""
        with self._keyring_lock:
            if self._keyring_backend is DETECT:
                self._keyring_backend = detect_keyring()
            return self._keyring_backend

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
            self._keyring_call("set_password", spec.kid, b64(key))

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
        backend = self._keyring_backend  # a repr must not probe the keyring
        ring = "detect" if backend is DETECT else backend is not None
        prompt = self._prompt is not None
        return f"KeySource(env={self._key is not None}, keyring={ring}, prompt={prompt})"


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
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    kdf = Scrypt(salt=spec.salt, length=32, n=spec.n, r=spec.r, p=spec.p)
    return kdf.derive(passphrase.encode("utf-8"))


def origin_label(spec: KeySpec) -> str:
    """Where the master key for ``spec`` was looked for, for a wrong-key message."""
    return {
        "env": KEY_VAR,
        "keyring": f"{KEY_VAR} or the OS keyring",
        "prompt": f"{KEY_VAR} or the passphrase",
    }[spec.origin]
