"""What can go wrong with a vault file or a profile, each with its own stable ``kind``."""

from __future__ import annotations

from stream_mcp.errors import ConfigError


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
