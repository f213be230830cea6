"""Credential backends: an encrypted vault file, and the environment for quick starts.

**Where credentials come from** (:func:`open_credentials`): first the vault file at
``Settings.vault_path`` (``STREAM_MCP_VAULT_PATH``) if it exists and holds the profile; then,
only for the profile ``env`` or when no particular profile was asked for (the name is
``default``), the environment: ``STREAM_API_KEY``, ``STREAM_API_SECRET``, ``STREAM_BASE_URL``
with its policy from ``STREAM_MCP_*`` variables. Anything else is a clear "no such profile".

**The vault file** is JSON, written atomically with mode 0600. Every profile field (API key,
secret, base URL, policy) and every HTTP API key record is sealed on its own with AES-256-GCM
under the master key, bound by the associated data to its entry, revision and field (see
``_sealing``). A wrong master key is told apart from a tampered entry, and a cut-off file is
reported as truncated. Nothing is written unless the whole operation succeeded, so an error
never loses data.

**The master key** comes from ``STREAM_MCP_VAULT_KEY`` (a 32-byte key or a passphrase; it
always wins), else the OS keyring, else a passphrase prompt in a terminal (see ``_keys``).
:meth:`VaultFile.rotate_key` re-seals everything under a new key id in one atomic write.

The modules, read top-down:

| module | concern |
|---|---|
| ``_errors`` | ``VaultError`` and its kinds, ``ProfileNotFound`` |
| ``_settings`` | ``load_settings``: settings from the environment, one-line errors |
| ``_names`` | the name rule for profiles, API keys and key ids |
| ``_sealing`` | AES-256-GCM, the associated data, the key check, sealed entries |
| ``_keys`` | ``KeySpec`` and ``KeySource``: environment, OS keyring, prompt, scrypt |
| ``_document`` | the file's JSON document: dump, and a parse that tells truncated from corrupt |
| ``_disk`` | bounded read, atomic 0600 write, the lock between processes |
| ``_backend`` | ``CredentialBackend`` and the ``ProfileRecord`` it returns |
| ``_env`` | ``EnvBackend``: the read-only profile ``env`` and its settings |
| ``_principals`` | HTTP API keys: ``Principal``, ``ApiKeyIndex``, ``ApiKeyVerifier`` |
| ``_file`` | ``VaultFile``: profiles, API keys, key rotation |
| ``_resolve`` | ``open_credentials`` and ``api_key_verifier``, what start-up calls |

Names are imported from their module on first use: a server whose credentials come from the
environment never loads the vault file's cryptography, and no command pays for the keyring
until a key is looked up there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stream_mcp.vault._backend import CredentialBackend, ProfileRecord
    from stream_mcp.vault._env import (
        ENV_PROFILE,
        EnvBackend,
        EnvCredentialSettings,
        EnvPolicySettings,
    )
    from stream_mcp.vault._errors import (
        ProfileNotFound,
        VaultCorrupt,
        VaultError,
        VaultKeyMissing,
        VaultNotFound,
        VaultTampered,
        VaultTruncated,
        VaultWrongKey,
    )
    from stream_mcp.vault._file import VaultFile
    from stream_mcp.vault._keys import (
        DEFAULT_SCRYPT_N,
        DETECT,
        KEY_VAR,
        KEYRING_SERVICE,
        MIN_PASSPHRASE,
        NEW_KEY_VAR,
        KeyKind,
        KeyOrigin,
        KeySource,
        KeySpec,
        Prompt,
        VaultKeySettings,
        decode_raw_key,
        detect_keyring,
        generate_key,
        keyring_usable,
    )
    from stream_mcp.vault._names import check_name
    from stream_mcp.vault._principals import (
        API_KEY_PREFIX,
        ApiKeyIndex,
        ApiKeyVerifier,
        Mode,
        Principal,
        verify_api_key,
    )
    from stream_mcp.vault._resolve import api_key_verifier, open_credentials
    from stream_mcp.vault._sealing import FORMAT, FORMAT_VERSION
    from stream_mcp.vault._settings import load_settings

# Each module and the names it exports.
_MODULES: dict[str, tuple[str, ...]] = {
    "_backend": ("CredentialBackend", "ProfileRecord"),
    "_env": ("ENV_PROFILE", "EnvBackend", "EnvCredentialSettings", "EnvPolicySettings"),
    "_errors": (
        "ProfileNotFound",
        "VaultCorrupt",
        "VaultError",
        "VaultKeyMissing",
        "VaultNotFound",
        "VaultTampered",
        "VaultTruncated",
        "VaultWrongKey",
    ),
    "_file": ("VaultFile",),
    "_keys": (
        "DEFAULT_SCRYPT_N",
        "DETECT",
        "KEY_VAR",
        "KEYRING_SERVICE",
        "MIN_PASSPHRASE",
        "NEW_KEY_VAR",
        "KeyKind",
        "KeyOrigin",
        "KeySource",
        "KeySpec",
        "Prompt",
        "VaultKeySettings",
        "decode_raw_key",
        "detect_keyring",
        "generate_key",
        "keyring_usable",
    ),
    "_names": ("check_name",),
    "_principals": (
        "API_KEY_PREFIX",
        "ApiKeyIndex",
        "ApiKeyVerifier",
        "Mode",
        "Principal",
        "verify_api_key",
    ),
    "_resolve": ("api_key_verifier", "open_credentials"),
    "_sealing": ("FORMAT", "FORMAT_VERSION"),
    "_settings": ("load_settings",),
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "API_KEY_PREFIX",
    "DEFAULT_SCRYPT_N",
    "DETECT",
    "ENV_PROFILE",
    "FORMAT",
    "FORMAT_VERSION",
    "KEYRING_SERVICE",
    "KEY_VAR",
    "MIN_PASSPHRASE",
    "NEW_KEY_VAR",
    "ApiKeyIndex",
    "ApiKeyVerifier",
    "CredentialBackend",
    "EnvBackend",
    "EnvCredentialSettings",
    "EnvPolicySettings",
    "KeyKind",
    "KeyOrigin",
    "KeySource",
    "KeySpec",
    "Mode",
    "Principal",
    "ProfileNotFound",
    "ProfileRecord",
    "Prompt",
    "VaultCorrupt",
    "VaultError",
    "VaultFile",
    "VaultKeyMissing",
    "VaultKeySettings",
    "VaultNotFound",
    "VaultTampered",
    "VaultTruncated",
    "VaultWrongKey",
    "api_key_verifier",
    "check_name",
    "decode_raw_key",
    "detect_keyring",
    "generate_key",
    "keyring_usable",
    "load_settings",
    "open_credentials",
    "verify_api_key",
]


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
