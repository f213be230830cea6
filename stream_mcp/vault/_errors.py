"""What can go wrong with a vault file or a profile (the classes live in ``errors``)."""

from __future__ import annotations

from stream_mcp.errors import (
    ProfileNotFound,
    VaultCorrupt,
    VaultError,
    VaultKeyMissing,
    VaultNotFound,
    VaultTampered,
    VaultTruncated,
    VaultWrongKey,
)

__all__ = [
    "ProfileNotFound",
    "VaultCorrupt",
    "VaultError",
    "VaultKeyMissing",
    "VaultNotFound",
    "VaultTampered",
    "VaultTruncated",
    "VaultWrongKey",
]
