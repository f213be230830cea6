"""The vault file's document: JSON with a format marker and version, the master key's public
facts and key check, and the sealed profiles and HTTP API keys.

Parsing tells a cut-off file (truncated: a partial copy or a full disk) apart from one that
is not a vault at all (corrupt), and never trusts the structure it was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from stream_mcp.vault._errors import VaultCorrupt, VaultTruncated
from stream_mcp.vault._keys import KeySpec
from stream_mcp.vault._sealing import FORMAT, FORMAT_VERSION

PROFILE_FIELDS = ("api_key", "secret", "base_url", "policy")

#: An entry's section as the associated data names it, and the fields sealed in its entries.
Section = Literal["profile", "api_key"]
SEALED_FIELDS: dict[Section, tuple[str, ...]] = {
    "profile": PROFILE_FIELDS,
    "api_key": ("principal",),
}


@dataclass
class Document:
    key: KeySpec
    check: str
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    api_keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def entries(self, section: Section) -> dict[str, dict[str, str]]:
        return self.profiles if section == "profile" else self.api_keys

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


def parse(raw: bytes, path: Path) -> Document:
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
    doc = Document(key=KeySpec.from_json(key, path), check=check)
    for section, fields in (
        ("profiles", (*PROFILE_FIELDS, "rev")),
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
