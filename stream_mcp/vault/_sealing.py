"""AES-256-GCM sealing of vault fields, bound to where they belong by the associated data.

The associated data names the format, the key id, the entry, a per-entry revision and the
field, so a ciphertext moved to another entry or field, or spliced in from an older copy of
the same entry, fails to open. A sealed key-check value tells a wrong master key apart from
a tampered entry.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "stream-mcp-vault"
FORMAT_VERSION = 1

_CHECK_PLAINTEXT = b"stream-mcp vault key check v1"

#: What :func:`open_sealed` raises for a blob not sealed with this key and associated data.
UNSEALABLE = (InvalidTag, ValueError, binascii.Error)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(text.encode("ascii"))


def aad(kid: str, *parts: str) -> bytes:
    return json.dumps([FORMAT, FORMAT_VERSION, kid, *parts], separators=(",", ":")).encode()


def seal(key: bytes, ad: bytes, plaintext: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return b64(nonce + AESGCM(key).encrypt(nonce, plaintext, ad))


def open_sealed(key: bytes, ad: bytes, blob: str) -> bytes:
    """Raises one of :data:`UNSEALABLE` if ``blob`` was not sealed with this key and ``ad``."""
    data = unb64(blob)
    if len(data) < 12 + 16:
        raise ValueError("too short")
    return AESGCM(key).decrypt(data[:12], data[12:], ad)


# -- the key check


def seal_check(key: bytes, kid: str) -> str:
    """The key-check value stored with a vault, so a wrong key is recognised as such."""
    return seal(key, aad(kid, "key-check"), _CHECK_PLAINTEXT)


def check_opens(key: bytes, kid: str, check: str) -> bool:
    try:
        return open_sealed(key, aad(kid, "key-check"), check) == _CHECK_PLAINTEXT
    except UNSEALABLE:
        return False


# -- entries: a revision plus one sealed blob per field


def seal_entry(
    key: bytes, kid: str, section: str, name: str, rev: str, fields: dict[str, bytes]
) -> dict[str, str]:
    entry = {"rev": rev}
    for fname, value in fields.items():
        entry[fname] = seal(key, aad(kid, section, name, rev, fname), value)
    return entry


def open_field(
    key: bytes, kid: str, section: str, name: str, entry: dict[str, str], fname: str
) -> bytes:
    """One field of an entry; raises one of :data:`UNSEALABLE` if it fails authentication."""
    return open_sealed(key, aad(kid, section, name, entry["rev"], fname), entry[fname])
