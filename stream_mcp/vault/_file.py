"""The encrypted vault file: profiles and HTTP API keys under one master key.

Every profile field (API key, secret, base URL, policy) and every HTTP API key record is
sealed on its own (see :mod:`stream_mcp.vault._sealing`). Nothing is written unless the
whole operation succeeded, so an error never loses data.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from pathlib import Path

import pydantic
from pydantic import SecretBytes

from stream_mcp.auth import Policy, Signer, check_api_key, check_base_url, check_secret
from stream_mcp.config import DEFAULT_BASE_URL
from stream_mcp.errors import ConfigError
from stream_mcp.observability import get_logger
from stream_mcp.vault import _disk
from stream_mcp.vault._backend import ProfileRecord
from stream_mcp.vault._document import SEALED_FIELDS, Document, Section, parse
from stream_mcp.vault._env import ENV_PROFILE
from stream_mcp.vault._errors import (
    ProfileNotFound,
    VaultCorrupt,
    VaultError,
    VaultTampered,
    VaultWrongKey,
)
from stream_mcp.vault._keys import KEY_VAR, KeyOrigin, KeySource, KeySpec, origin_label
from stream_mcp.vault._names import check_name
from stream_mcp.vault._principals import (
    ApiKeyIndex,
    Principal,
    key_digest,
    new_api_key,
    new_principal,
)
from stream_mcp.vault._sealing import UNSEALABLE, check_opens, open_field, seal_check, seal_entry

log = get_logger("stream_mcp.vault")


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
        with _disk.locked(self.path):
            if self.path.exists():
                raise VaultError(
                    f"{self.path}: a vault already exists; use `stream-mcp vault rotate-key` "
                    "to change its key",
                    field="vault_path",
                )
            spec, key = self._keys.create(origin)
            self._write_under_new_key(Document(key=spec, check=seal_check(key, spec.kid)), key)
        log.info("vault_created", path=str(self.path), key_id=spec.kid, key_origin=spec.origin)
        return spec

    def key_spec(self) -> KeySpec:
        return self._load().key

    def rotate_key(self, origin: KeyOrigin | None = None) -> KeySpec:
        """Re-seal every entry under a new key id in one atomic write; retire the old key."""
        with _disk.locked(self.path):
            doc = self._load()
            old_key = self._unlock(doc)
            plain = {
                section: {
                    name: self._open_entry(doc, old_key, section, name)
                    for name in doc.entries(section)
                }
                for section in SEALED_FIELDS
            }
            spec, key = self._keys.create(origin, replacing=doc.key)
            new = Document(key=spec, check=seal_check(key, spec.kid))
            for section, entries in plain.items():
                for name, fields in entries.items():
                    rev = doc.entries(section)[name]["rev"]
                    new.entries(section)[name] = seal_entry(
                        key, spec.kid, section, name, rev, fields
                    )
            self._write_under_new_key(new, key)
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
        values = self._open_entry(doc, self._unlock(doc), "profile", name)
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
        with _disk.locked(self.path):
            doc = self._load()
            key = self._unlock(doc)
            if name in doc.profiles and not replace:
                raise ConfigError(
                    f"profile {name!r} already exists; pass --replace to overwrite it",
                    field="profile",
                )
            rev = secrets.token_hex(8)
            doc.profiles[name] = seal_entry(key, doc.key.kid, "profile", name, rev, fields)
            self._write(doc)
        log.info("vault_profile_saved", path=str(self.path), profile=name)

    def remove_profile(self, name: str) -> None:
        with _disk.locked(self.path):
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
        app_wide: bool = False,
    ) -> str:
        """Create an API key for the HTTP transport; the key is returned once, only a hash
        is stored. ``profile`` need not be in this vault: a server may run an environment
        or sandbox profile of that name."""
        principal = new_principal(name, profile, users, modes, app_wide=app_wide)
        presented = new_api_key()
        record = {
            "principal": principal.model_dump(mode="json"),
            "sha256": key_digest(presented).hex(),
        }
        with _disk.locked(self.path):
            doc = self._load()
            key = self._unlock(doc)
            if name in doc.api_keys:
                raise ConfigError(f"API key {name!r} already exists; revoke it first", field="name")
            plain = json.dumps(record, sort_keys=True).encode("utf-8")
            doc.api_keys[name] = seal_entry(
                key, doc.key.kid, "api_key", name, secrets.token_hex(8), {"principal": plain}
            )
            self._write(doc)
        log.info("vault_api_key_added", path=str(self.path), name=name, profile=profile)
        return presented

    def principals(self) -> list[Principal]:
        doc = self._load()
        return self._principals(doc, self._unlock(doc)) if doc.api_keys else []

    def revoke_api_key(self, name: str) -> None:
        with _disk.locked(self.path):
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

    def _principals(self, doc: Document, key: bytes) -> list[Principal]:
        return [self._api_key_entry(doc, key, name)[1] for name in sorted(doc.api_keys)]

    def _api_key_entry(self, doc: Document, key: bytes, name: str) -> tuple[bytes, Principal]:
        plain = self._open_entry(doc, key, "api_key", name)["principal"]
        try:
            record = json.loads(plain)
            principal = Principal.model_validate(record["principal"])
            digest = bytes.fromhex(record["sha256"])
        except (ValueError, KeyError, TypeError, pydantic.ValidationError):
            raise VaultCorrupt(f"{self.path}: API key {name!r} has an unreadable record") from None
        if principal.name != name:
            raise VaultTampered(f"{self.path}: API key {name!r} holds another key's record")
        return digest, principal

    def _open_entry(
        self, doc: Document, key: bytes, section: Section, name: str
    ) -> dict[str, bytes]:
        """Every sealed field of one entry, in order; the first that fails authentication
        is named in the error."""
        entry = doc.entries(section)[name]
        fields: dict[str, bytes] = {}
        for fname in SEALED_FIELDS[section]:
            try:
                fields[fname] = open_field(key, doc.key.kid, section, name, entry, fname)
            except UNSEALABLE:
                what = "profile" if section == "profile" else "API key"
                raise VaultTampered(
                    f"{self.path}: {what} {name!r} field {fname!r} failed authentication: the "
                    "file was edited or entries were moved; restore it from a backup or re-add "
                    "the entry (nothing was changed)",
                    field=fname,
                ) from None
        return fields

    def _unlock(self, doc: Document) -> bytes:
        kid = doc.key.kid
        cached = self._unlocked.get(kid)
        if cached is not None:
            return cached.get_secret_value()
        key = self._keys.unlock(doc.key)
        if not check_opens(key, kid, doc.check):
            raise VaultWrongKey(
                f"{self.path}: the master key from {origin_label(doc.key)} does not open this "
                f"vault (key id {kid}); nothing was changed",
                field=KEY_VAR,
            )
        self._unlocked = {kid: SecretBytes(key)}
        return key

    def _write_under_new_key(self, doc: Document, key: bytes) -> None:
        """Store a new master key where it will be found, then write ``doc`` sealed under it;
        if the write fails, the new key is forgotten again and the old file stays."""
        spec = doc.key
        self._keys.store(spec, key)
        try:
            self._write(doc)
        except BaseException:
            self._keys.forget(spec)
            raise
        self._unlocked = {spec.kid: SecretBytes(key)}

    def _load(self) -> Document:
        return parse(_disk.read(self.path), self.path)

    def _write(self, doc: Document) -> None:
        _disk.write(self.path, doc.dump())

    def _no_profile(self, name: str, doc: Document) -> ProfileNotFound:
        known = ", ".join(sorted(doc.profiles)) or "none"
        return ProfileNotFound(
            f"no profile {name!r} in {self.path} (profiles: {known})",
            field="profile",
            hint="add it with `stream-mcp vault add NAME --api-key KEY`",
        )
