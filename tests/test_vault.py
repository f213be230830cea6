"""The encrypted vault file, master-key sources, the environment backend, open_credentials."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import jwt
import pytest
from keyring.backends import fail, null

from stream_mcp.auth.policy import Policy
from stream_mcp.config import Settings
from stream_mcp.errors import ConfigError
from stream_mcp.vault import (
    ApiKeyIndex,
    CredentialBackend,
    EnvBackend,
    EnvCredentialSettings,
    EnvPolicySettings,
    KeySource,
    Principal,
    ProfileNotFound,
    VaultCorrupt,
    VaultError,
    VaultFile,
    VaultKeyMissing,
    VaultNotFound,
    VaultTampered,
    VaultTruncated,
    VaultWrongKey,
    api_key_verifier,
    decode_raw_key,
    generate_key,
    keyring_usable,
    open_credentials,
    verify_api_key,
)

SECRET = "vault-secret-0123456789abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "other-secret-zyxwvutsrqponmlkjihgfedcba9876543210"
PASSPHRASE = "correct horse battery staple"
LOW_N = 2**4  # scrypt cost for tests only; real vaults use DEFAULT_SCRYPT_N


class FakeKeyring:
    """An in-memory stand-in for an OS keyring backend."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


def env_source(key: str | None = None, new: str | None = None) -> KeySource:
    return KeySource(vault_key=key, new_vault_key=new, keyring_backend=None, scrypt_n=LOW_N)


def prompt_source(*answers: str) -> KeySource:
    queue = list(answers)
    return KeySource(keyring_backend=None, prompt=lambda _label: queue.pop(0), scrypt_n=LOW_N)


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def vault(tmp_path: Path, key: str) -> VaultFile:
    vault = VaultFile(tmp_path / "cfg" / "vault.json", env_source(key))
    vault.init()
    vault.put_profile(
        "prod",
        api_key="prodkey",
        secret=SECRET,
        policy=Policy(default_user="alice", allowed_users=("bot-*",), server_auth="server_only"),
    )
    vault.put_profile(
        "staging", api_key="stagekey", secret=OTHER_SECRET, base_url="http://localhost:3030"
    )
    return vault


def doc(vault: VaultFile) -> dict:
    return json.loads(vault.path.read_text())


def save(vault: VaultFile, data: dict) -> None:
    vault.path.write_text(json.dumps(data))


def reopen(vault: VaultFile, key: str) -> VaultFile:
    return VaultFile(vault.path, env_source(key))


# --------------------------------------------------------------------------- round trip


def test_round_trip(vault: VaultFile, key: str) -> None:
    again = reopen(vault, key)
    assert again.list_profiles() == ["prod", "staging"]
    record = again.get_profile("prod")
    assert record.api_key == "prodkey"
    assert record.base_url == "https://chat.stream-io-api.com"
    assert record.policy == Policy(
        default_user="alice", allowed_users=("bot-*",), server_auth="server_only"
    )
    token = record.signer.sign_user("alice", 60)
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["user_id"] == "alice"
    assert again.get_profile("staging").base_url == "http://localhost:3030"
    credentials = record.credentials()
    assert credentials.profile_name == "prod" and credentials.api_key == "prodkey"
    assert isinstance(again, CredentialBackend)


def test_nothing_readable_in_the_file(vault: VaultFile) -> None:
    raw = vault.path.read_text()
    for plain in (SECRET, OTHER_SECRET, "prodkey", "alice", "bot-*", "chat.stream-io-api"):
        assert plain not in raw


def test_file_and_directory_permissions(vault: VaultFile) -> None:
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(vault.path.parent.stat().st_mode) == 0o700
    vault.put_profile("dev", api_key="k", secret=SECRET)
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600
    assert [p.name for p in vault.path.parent.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_group_or_world_readable_file_is_refused_until_fixed(vault: VaultFile, mode: int) -> None:
    vault.path.chmod(mode)
    with pytest.raises(VaultError) as info:
        vault.list_profiles()
    assert f"chmod 600 {vault.path}" in str(info.value) and info.value.field == "vault_path"
    with pytest.raises(VaultError):
        vault.put_profile("dev", api_key="k", secret=SECRET)  # no write through a bad mode
    vault.path.chmod(0o600)
    vault.put_profile("dev", api_key="k", secret=SECRET)
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600


def test_two_handles_do_not_lose_each_others_writes(vault: VaultFile, key: str) -> None:
    first, second = reopen(vault, key), reopen(vault, key)
    first.list_profiles()
    second.list_profiles()
    first.put_profile("a", api_key="k", secret=SECRET)
    second.put_profile("b", api_key="k", secret=SECRET)
    assert reopen(vault, key).list_profiles() == ["a", "b", "prod", "staging"]


def test_replace_and_remove(vault: VaultFile) -> None:
    with pytest.raises(ConfigError, match="--replace"):
        vault.put_profile("prod", api_key="x", secret=SECRET)
    vault.put_profile("prod", api_key="newkey", secret=OTHER_SECRET, replace=True)
    assert vault.get_profile("prod").api_key == "newkey"
    vault.remove_profile("prod")
    assert vault.list_profiles() == ["staging"]
    with pytest.raises(ProfileNotFound, match="staging"):
        vault.get_profile("prod")


@pytest.mark.parametrize("name", ["env", "", "bad name", "../x", "x" * 65])
def test_bad_or_reserved_profile_names(vault: VaultFile, name: str) -> None:
    with pytest.raises(ConfigError) as info:
        vault.put_profile(name, api_key="k", secret=SECRET)
    assert info.value.field == "profile"


def test_missing_and_existing_vault(tmp_path: Path, key: str, vault: VaultFile) -> None:
    missing = VaultFile(tmp_path / "nope.json", env_source(key))
    with pytest.raises(VaultNotFound, match="vault init"):
        missing.list_profiles()
    before = vault.path.read_bytes()
    with pytest.raises(VaultError, match="already exists"):
        reopen(vault, key).init()
    assert vault.path.read_bytes() == before


# --------------------------------------------------------------------------- damage


def test_tampered_ciphertext(vault: VaultFile, key: str) -> None:
    data = doc(vault)
    blob = bytearray(base64.urlsafe_b64decode(data["profiles"]["prod"]["secret"]))
    blob[-1] ^= 0x01
    data["profiles"]["prod"]["secret"] = base64.urlsafe_b64encode(bytes(blob)).decode()
    save(vault, data)
    before = vault.path.read_bytes()
    again = reopen(vault, key)
    with pytest.raises(VaultTampered) as info:
        again.get_profile("prod")
    assert info.value.kind == "vault_tampered"
    assert "'prod'" in str(info.value) and "'secret'" in str(info.value)
    assert again.get_profile("staging").api_key == "stagekey"
    assert vault.path.read_bytes() == before


@pytest.mark.parametrize("field", ["api_key", "base_url", "policy"])
def test_every_field_is_authenticated(vault: VaultFile, key: str, field: str) -> None:
    data = doc(vault)
    data["profiles"]["prod"][field] = data["profiles"]["prod"][field][:-4] + "AAAA"
    save(vault, data)
    with pytest.raises(VaultTampered):
        reopen(vault, key).get_profile("prod")


def test_wrong_key(vault: VaultFile) -> None:
    before = vault.path.read_bytes()
    wrong = reopen(vault, generate_key())
    assert wrong.list_profiles() == ["prod", "staging"]  # names need no key
    with pytest.raises(VaultWrongKey) as info:
        wrong.get_profile("prod")
    assert info.value.kind == "vault_wrong_key"
    assert "STREAM_MCP_VAULT_KEY" in str(info.value)
    with pytest.raises(VaultWrongKey):
        wrong.put_profile("dev", api_key="k", secret=SECRET)
    with pytest.raises(VaultWrongKey):
        wrong.rotate_key()
    assert vault.path.read_bytes() == before


@pytest.mark.parametrize("keep", [0, 1, 10, 0.25, 0.5, 0.9, -3])
def test_truncated_file(vault: VaultFile, key: str, keep: float) -> None:
    raw = vault.path.read_bytes().rstrip()
    cut = int(len(raw) * keep) if isinstance(keep, float) else keep
    vault.path.write_bytes(raw[:cut])
    with pytest.raises(VaultTruncated) as info:
        reopen(vault, key).get_profile("prod")
    assert info.value.kind == "vault_truncated"
    assert "truncated" in str(info.value)


def test_every_cut_point_is_reported_as_truncated(tmp_path: Path) -> None:
    vault = VaultFile(tmp_path / "v.json", env_source(PASSPHRASE))  # scrypt: numbers in the file
    vault.init()
    vault.put_profile("prod", api_key="k", secret=SECRET, policy=Policy(read_only=True))
    vault.add_api_key("ci", profile="prod")
    raw = vault.path.read_bytes().rstrip()
    for cut in range(len(raw)):
        vault.path.write_bytes(raw[:cut])
        with pytest.raises(VaultTruncated):
            vault.list_profiles()


def test_corrupt_file_is_not_called_truncated(vault: VaultFile, key: str) -> None:
    raw = vault.path.read_text()
    vault.path.write_text(raw[:40] + "}garbage{" + raw[40:])
    with pytest.raises(VaultCorrupt) as info:
        reopen(vault, key).get_profile("prod")
    assert info.value.kind == "vault_corrupt"
    vault.path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(VaultCorrupt, match="not a stream-mcp vault"):
        reopen(vault, key).list_profiles()


def test_damage_errors_are_distinct() -> None:
    kinds = {cls.kind for cls in (VaultTampered, VaultWrongKey, VaultTruncated, VaultCorrupt)}
    assert len(kinds) == 4


# --------------------------------------------------------------------------- AAD binding


def test_swapping_ciphertexts_between_profiles_fails(vault: VaultFile, key: str) -> None:
    data = doc(vault)
    p, s = data["profiles"]["prod"], data["profiles"]["staging"]
    p["secret"], s["secret"] = s["secret"], p["secret"]
    save(vault, data)
    again = reopen(vault, key)
    for name in ("prod", "staging"):
        with pytest.raises(VaultTampered, match="'secret'"):
            again.get_profile(name)


def test_swapping_fields_within_a_profile_fails(vault: VaultFile, key: str) -> None:
    data = doc(vault)
    p = data["profiles"]["prod"]
    p["api_key"], p["secret"] = p["secret"], p["api_key"]
    save(vault, data)
    with pytest.raises(VaultTampered):
        reopen(vault, key).get_profile("prod")


def test_renaming_an_entry_fails(vault: VaultFile, key: str) -> None:
    data = doc(vault)
    data["profiles"]["evil"] = data["profiles"].pop("prod")
    save(vault, data)
    with pytest.raises(VaultTampered):
        reopen(vault, key).get_profile("evil")


def test_splicing_a_field_from_an_older_revision_fails(vault: VaultFile, key: str) -> None:
    old_policy = doc(vault)["profiles"]["prod"]["policy"]
    vault.put_profile(
        "prod", api_key="prodkey", secret=SECRET, policy=Policy(default_user="a"), replace=True
    )
    data = doc(vault)
    data["profiles"]["prod"]["policy"] = old_policy
    save(vault, data)
    with pytest.raises(VaultTampered, match="'policy'"):
        reopen(vault, key).get_profile("prod")


def test_api_key_records_are_sealed_too(vault: VaultFile, key: str) -> None:
    vault.add_api_key("ci", profile="prod")
    vault.add_api_key("bot", profile="staging")
    data = doc(vault)
    a, b = data["api_keys"]["ci"], data["api_keys"]["bot"]
    a["principal"], b["principal"] = b["principal"], a["principal"]
    save(vault, data)
    with pytest.raises(VaultTampered):
        reopen(vault, key).principals()


# --------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_failed_write_leaves_the_old_file(
    vault: VaultFile, key: str, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    before = vault.path.read_bytes()

    def boom(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, broken, boom)
    with pytest.raises(VaultError) as info:
        vault.put_profile("dev", api_key="k", secret=SECRET)
    monkeypatch.undo()
    assert "unchanged" in str(info.value)
    assert vault.path.read_bytes() == before
    assert sorted(p.name for p in vault.path.parent.iterdir()) == ["vault.json", "vault.json.lock"]
    assert reopen(vault, key).list_profiles() == ["prod", "staging"]


def test_failed_write_during_rotation_keeps_the_old_key(
    vault: VaultFile, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = vault.path.read_bytes()
    rotating = VaultFile(vault.path, env_source(key, new=generate_key()))

    def boom(*_args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(VaultError):
        rotating.rotate_key()
    monkeypatch.undo()
    assert vault.path.read_bytes() == before
    assert reopen(vault, key).get_profile("prod").api_key == "prodkey"


# --------------------------------------------------------------------------- rotation


def test_rotation_with_a_new_env_key(vault: VaultFile, key: str) -> None:
    vault.add_api_key("ci", profile="prod", users=["bot-*"])
    presented = vault.add_api_key("ci2", profile="staging")
    old_kid = vault.key_spec().kid
    new_key = generate_key()
    spec = VaultFile(vault.path, env_source(key, new=new_key)).rotate_key()
    assert spec.kid != old_kid and spec.origin == "env"
    with pytest.raises(VaultWrongKey):
        reopen(vault, key).get_profile("prod")
    rotated = reopen(vault, new_key)
    assert rotated.get_profile("prod").api_key == "prodkey"
    assert rotated.get_profile("staging").policy == Policy()
    assert [p.name for p in rotated.principals()] == ["ci", "ci2"]
    assert rotated.verify_api_key(presented) == Principal(name="ci2", profile="staging")
    assert stat.S_IMODE(vault.path.stat().st_mode) == 0o600


def test_rotation_needs_a_new_key_and_refuses_the_same_one(vault: VaultFile, key: str) -> None:
    with pytest.raises(VaultKeyMissing, match="STREAM_MCP_VAULT_NEW_KEY"):
        reopen(vault, key).rotate_key()
    with pytest.raises(ConfigError, match="must differ"):
        VaultFile(vault.path, env_source(key, new=key)).rotate_key()


def test_rotation_aborts_on_a_tampered_entry(vault: VaultFile, key: str) -> None:
    data = doc(vault)
    data["profiles"]["staging"]["secret"] = data["profiles"]["prod"]["secret"]
    save(vault, data)
    before = vault.path.read_bytes()
    with pytest.raises(VaultTampered):
        VaultFile(vault.path, env_source(key, new=generate_key())).rotate_key()
    assert vault.path.read_bytes() == before


def test_keyring_scenario_init_unlock_and_rotate(tmp_path: Path) -> None:
    ring = FakeKeyring()
    vault = VaultFile(tmp_path / "v.json", KeySource(keyring_backend=ring))
    spec = vault.init()
    assert spec.origin == "keyring" and spec.kind == "raw"
    assert list(ring.items) == [("stream-mcp", f"vault-key:{spec.kid}")]
    vault.put_profile("prod", api_key="k", secret=SECRET)
    fresh = VaultFile(vault.path, KeySource(keyring_backend=ring))
    assert fresh.get_profile("prod").api_key == "k"
    new = fresh.rotate_key()
    assert list(ring.items) == [("stream-mcp", f"vault-key:{new.kid}")]
    assert VaultFile(vault.path, KeySource(keyring_backend=ring)).get_profile("prod").api_key == "k"
    with pytest.raises(VaultKeyMissing, match=new.kid):
        VaultFile(vault.path, KeySource(keyring_backend=FakeKeyring())).get_profile("prod")


def test_env_key_wins_over_the_keyring(tmp_path: Path) -> None:
    ring = FakeKeyring()
    vault = VaultFile(tmp_path / "v.json", KeySource(keyring_backend=ring))
    vault.init()
    vault.put_profile("prod", api_key="k", secret=SECRET)
    with pytest.raises(VaultWrongKey):
        VaultFile(
            vault.path, KeySource(vault_key=generate_key(), keyring_backend=ring)
        ).get_profile("prod")


def test_passphrase_scenario(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    spec = VaultFile(path, prompt_source(PASSPHRASE, PASSPHRASE)).init()
    assert spec.kind == "scrypt" and spec.origin == "prompt" and spec.n == LOW_N
    assert doc(VaultFile(path, env_source()))["key"]["scrypt"]["n"] == LOW_N
    VaultFile(path, prompt_source(PASSPHRASE)).put_profile("prod", api_key="k", secret=SECRET)
    with pytest.raises(VaultWrongKey):
        VaultFile(path, prompt_source("not the passphrase")).get_profile("prod")
    # the same passphrase in STREAM_MCP_VAULT_KEY opens it without a prompt
    assert VaultFile(path, env_source(PASSPHRASE)).get_profile("prod").api_key == "k"
    new = "a different long passphrase"
    VaultFile(path, prompt_source(PASSPHRASE, new, new)).rotate_key()
    assert VaultFile(path, prompt_source(new)).get_profile("prod").api_key == "k"
    with pytest.raises(VaultWrongKey):
        VaultFile(path, prompt_source(PASSPHRASE)).get_profile("prod")


def test_passphrase_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="differ"):
        VaultFile(tmp_path / "a.json", prompt_source(PASSPHRASE, PASSPHRASE + "x")).init()
    with pytest.raises(ConfigError, match="at least 12"):
        VaultFile(tmp_path / "b.json", prompt_source("short", "short")).init()
    with pytest.raises(ConfigError, match="at least 12"):
        VaultFile(tmp_path / "c.json", env_source("short")).init()
    assert not any(tmp_path.glob("*.json"))


def test_no_key_non_interactive_says_how_to_provide_one(tmp_path: Path, key: str) -> None:
    with pytest.raises(VaultKeyMissing) as info:
        VaultFile(tmp_path / "v.json", env_source()).init()
    assert "STREAM_MCP_VAULT_KEY" in str(info.value) and "generate-key" in str(info.value)
    VaultFile(tmp_path / "v.json", env_source(key)).init()
    VaultFile(tmp_path / "v.json", env_source(key)).put_profile("p", api_key="k", secret=SECRET)
    with pytest.raises(VaultKeyMissing, match="STREAM_MCP_VAULT_KEY"):
        VaultFile(tmp_path / "v.json", env_source()).get_profile("p")
    pw = VaultFile(tmp_path / "pw.json", env_source(PASSPHRASE))
    pw.init()
    pw.put_profile("p", api_key="k", secret=SECRET)
    with pytest.raises(VaultKeyMissing, match="passphrase"):
        VaultFile(pw.path, env_source()).get_profile("p")


def test_raw_key_formats() -> None:
    raw = os.urandom(32)
    for text in (
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ):
        assert decode_raw_key(text) == raw
    assert decode_raw_key(base64.b64encode(os.urandom(31)).decode()) is None
    assert decode_raw_key(PASSPHRASE) is None
    assert decode_raw_key(generate_key()) is not None


def test_keyring_detection() -> None:
    assert not keyring_usable(fail.Keyring())
    assert not keyring_usable(null.Keyring())
    assert keyring_usable(FakeKeyring())
    assert KeySource.from_environment(keyring_backend=None)._keyring is None


def test_broken_keyring_is_a_clear_error(tmp_path: Path) -> None:
    class Locked(FakeKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("dbus says no")

    vault = VaultFile(tmp_path / "v.json", KeySource(keyring_backend=FakeKeyring()))
    vault.init()
    vault.put_profile("p", api_key="k", secret=SECRET)
    with pytest.raises(VaultKeyMissing, match="RuntimeError"):
        VaultFile(vault.path, KeySource(keyring_backend=Locked())).get_profile("p")


# --------------------------------------------------------------------------- HTTP API keys


def test_api_keys_are_hashed_verified_and_revocable(vault: VaultFile, key: str) -> None:
    presented = vault.add_api_key("ci", profile="prod", users=["bot-*"], modes=["static"])
    assert presented.startswith("smcp_") and len(presented) > 40
    assert presented not in vault.path.read_text()
    principal = reopen(vault, key).verify_api_key(presented)
    assert principal == Principal(name="ci", profile="prod", users=("bot-*",), modes=("static",))
    assert principal.allows_user("bot-1") and not principal.allows_user("alice")
    assert principal.allows_mode("static") and not principal.allows_mode("discovery")
    index = vault.api_key_index()
    assert isinstance(index, ApiKeyIndex) and len(index) == 1
    assert verify_api_key(index, presented) == principal
    assert verify_api_key(vault, presented) == principal
    for wrong in (presented[:-1] + "x", "", "smcp_", None, 42, "x" * 1000):
        assert index.verify(wrong) is None
    assert presented not in repr(index)
    vault.revoke_api_key("ci")
    assert vault.verify_api_key(presented) is None
    assert vault.principals() == []
    with pytest.raises(ConfigError, match="no API key"):
        vault.revoke_api_key("ci")


def test_api_key_validation(vault: VaultFile) -> None:
    # a key may name a profile served from elsewhere (environment, sandbox)
    assert vault.add_api_key("sb", profile="sandbox").startswith("smcp_")
    assert [p.profile for p in vault.principals()] == ["sandbox"]
    with pytest.raises(ConfigError, match="profile"):
        vault.add_api_key("x", profile="no spaces please")
    with pytest.raises(ConfigError, match="modes"):
        vault.add_api_key("ci", profile="prod", modes=["websocket"])
    with pytest.raises(ConfigError, match="users"):
        vault.add_api_key("ci", profile="prod", users=["has space"])
    with pytest.raises(ConfigError, match="name"):
        vault.add_api_key("bad name", profile="prod")
    vault.add_api_key("ci", profile="prod")
    with pytest.raises(ConfigError, match="already exists"):
        vault.add_api_key("ci", profile="prod")
    with pytest.raises(ConfigError, match="revoke"):
        vault.remove_profile("prod")


def test_verifier_follows_vault_changes_without_restart(vault: VaultFile, key: str) -> None:
    first = vault.add_api_key("ci", profile="prod")
    verify = api_key_verifier(Settings(vault_path=vault.path), key_source=env_source(key))
    assert verify(first) is not None and verify("smcp_nope") is None
    second = vault.add_api_key("bot", profile="staging")
    assert verify(second) == Principal(name="bot", profile="staging")
    vault.revoke_api_key("ci")
    assert verify(first) is None
    assert first not in repr(verify) and second not in repr(verify)


def test_verifier_fails_closed_on_a_damaged_vault(vault: VaultFile, key: str) -> None:
    presented = vault.add_api_key("ci", profile="prod")
    verify = api_key_verifier(Settings(vault_path=vault.path), key_source=env_source(key))
    good = vault.path.read_bytes()
    data = doc(vault)
    data["api_keys"]["ci"]["principal"] = data["api_keys"]["ci"]["principal"][:-4] + "AAAA"
    save(vault, data)
    assert verify(presented) is None
    vault.path.write_bytes(good[:100])
    assert verify(presented) is None
    vault.path.unlink()
    assert verify(presented) is None
    vault.path.write_bytes(good)
    assert verify(presented) is None  # 0644 from the umask: refused until chmod 600
    vault.path.chmod(0o600)
    assert verify(presented) is not None


def test_verifier_refuses_to_start_without_keys(vault: VaultFile, key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="add-key"):
        api_key_verifier(Settings(vault_path=vault.path), key_source=env_source(key))
    with pytest.raises(VaultNotFound):
        api_key_verifier(Settings(vault_path=tmp_path / "none.json"), key_source=env_source(key))
    vault.add_api_key("ci", profile="prod")
    with pytest.raises(VaultWrongKey):
        api_key_verifier(Settings(vault_path=vault.path), key_source=env_source(generate_key()))


# --------------------------------------------------------------------------- environment


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("STREAM_API_", "STREAM_BASE_URL", "STREAM_MCP_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_env_backend_reads_stream_variables_and_policy(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("STREAM_API_KEY", "envkey")
    clean_env.setenv("STREAM_API_SECRET", SECRET)
    clean_env.setenv("STREAM_BASE_URL", "http://localhost:3030/")
    clean_env.setenv("STREAM_MCP_DEFAULT_USER", "alice")
    clean_env.setenv("STREAM_MCP_ALLOWED_USERS", "bot-*, carol")
    clean_env.setenv("STREAM_MCP_SERVER_AUTH", "Ban*,UpdateApp")
    clean_env.setenv("STREAM_MCP_READ_ONLY", "true")
    backend = EnvBackend()
    assert isinstance(backend, CredentialBackend)
    assert backend.list_profiles() == ["env"]
    record = backend.get_profile("env")
    assert record.api_key == "envkey" and record.base_url == "http://localhost:3030"
    assert record.policy == Policy(
        default_user="alice",
        allowed_users=("bot-*", "carol"),
        server_auth=("Ban*", "UpdateApp"),
        read_only=True,
    )
    assert jwt.decode(record.signer.sign_server(60), SECRET, algorithms=["HS256"])["server"]
    assert SECRET not in repr(backend) and SECRET not in repr(record)
    with pytest.raises(ConfigError, match="read-only"):
        backend.put_profile("env", api_key="k", secret=SECRET)
    with pytest.raises(ConfigError, match="read-only"):
        backend.remove_profile("env")


def test_env_backend_from_explicit_settings() -> None:
    backend = EnvBackend(
        EnvCredentialSettings(STREAM_API_KEY="k", STREAM_API_SECRET=SECRET),
        EnvPolicySettings(default_user="bob", user_token_ttl=60),
    )
    record = backend.get_profile("env")
    assert record.policy.default_user == "bob" and record.policy.user_token_ttl == 60


@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("STREAM_MCP_USER_TOKEN_TTL", "7200", "STREAM_MCP_USER_TOKEN_TTL"),
        ("STREAM_MCP_USER_TOKEN_TTL", "soon", "STREAM_MCP_USER_TOKEN_TTL"),
        ("STREAM_MCP_SERVER_AUTH", "none,Ban*", "STREAM_MCP_SERVER_AUTH"),
        ("STREAM_MCP_DEFAULT_USER", "a b", "STREAM_MCP_DEFAULT_USER"),
        ("STREAM_BASE_URL", "http://example.com", "STREAM_BASE_URL"),
        ("STREAM_API_SECRET", "short", "STREAM_API_SECRET"),
    ],
)
def test_env_errors_name_the_variable(
    clean_env: pytest.MonkeyPatch, var: str, value: str, named: str
) -> None:
    clean_env.setenv("STREAM_API_KEY", "envkey")
    clean_env.setenv("STREAM_API_SECRET", SECRET)
    clean_env.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        EnvBackend().get_profile("env")
    assert str(info.value).startswith(named + ": ")
    assert "\n" not in str(info.value)


def test_env_backend_missing_values(clean_env: pytest.MonkeyPatch) -> None:
    assert EnvBackend().list_profiles() == []
    with pytest.raises(ConfigError, match="STREAM_API_KEY"):
        EnvBackend().get_profile("env")
    clean_env.setenv("STREAM_API_KEY", "k")
    with pytest.raises(ConfigError, match="STREAM_API_SECRET"):
        EnvBackend().get_profile("env")
    with pytest.raises(ProfileNotFound):
        EnvBackend().get_profile("prod")


# --------------------------------------------------------------------------- open_credentials


def test_open_credentials_order(
    clean_env: pytest.MonkeyPatch, vault: VaultFile, key: str, tmp_path: Path
) -> None:
    settings = Settings(vault_path=vault.path)
    source = env_source(key)
    assert open_credentials(settings, "prod", key_source=source).api_key == "prodkey"
    # no 'default' profile in the vault and no environment credentials
    with pytest.raises(ProfileNotFound, match="STREAM_API_KEY"):
        open_credentials(settings, key_source=source)
    clean_env.setenv("STREAM_API_KEY", "envkey")
    clean_env.setenv("STREAM_API_SECRET", SECRET)
    assert open_credentials(settings, key_source=source).api_key == "envkey"
    assert open_credentials(settings, "env", key_source=source).profile_name == "env"
    # a named profile never silently falls back to the environment
    with pytest.raises(ProfileNotFound, match="'other'"):
        open_credentials(settings, "other", key_source=source)
    # a vault 'default' profile wins over the environment
    vault.put_profile("default", api_key="vaultdefault", secret=SECRET)
    assert open_credentials(settings, key_source=source).api_key == "vaultdefault"
    # without any vault file the environment still serves quick starts
    bare = Settings(vault_path=tmp_path / "none.json")
    assert open_credentials(bare, key_source=source).api_key == "envkey"


def test_open_credentials_does_not_hide_a_broken_vault(
    clean_env: pytest.MonkeyPatch, vault: VaultFile, key: str
) -> None:
    clean_env.setenv("STREAM_API_KEY", "envkey")
    clean_env.setenv("STREAM_API_SECRET", SECRET)
    vault.path.write_bytes(vault.path.read_bytes()[:50])
    with pytest.raises(VaultTruncated):
        open_credentials(Settings(vault_path=vault.path), key_source=env_source(key))


def test_open_credentials_reads_the_environment_key(
    clean_env: pytest.MonkeyPatch, vault: VaultFile, key: str
) -> None:
    clean_env.setenv("STREAM_MCP_VAULT_PATH", str(vault.path))
    clean_env.setenv("STREAM_MCP_VAULT_KEY", key)
    clean_env.setenv("STREAM_MCP_PROFILE", "staging")
    import keyring

    clean_env.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    credentials = open_credentials(Settings())
    assert credentials.profile_name == "staging" and credentials.api_key == "stagekey"
