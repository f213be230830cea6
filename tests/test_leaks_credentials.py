"""No secret, master key or server token escapes the credential layer.

Every public function and CLI command runs with a known secret while logs go to stderr at
DEBUG; then stdout, stderr, reprs, exception texts and formatted tracebacks are searched
for the secret, the master key, the passphrase, and any JWT whose claims say ``server``.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from stream_mcp.auth.credentials import Credentials, Signer, TokenCache
from stream_mcp.auth.policy import Policy
from stream_mcp.catalog._build import Operation
from stream_mcp.cli import main
from stream_mcp.config import Settings
from stream_mcp.errors import StreamMCPError
from stream_mcp.observability.logs import configure_logging
from stream_mcp.vault import (
    EnvBackend,
    EnvCredentialSettings,
    EnvPolicySettings,
    KeySource,
    VaultFile,
    VaultKeySettings,
    api_key_verifier,
    decode_raw_key,
    generate_key,
    load_settings,
    open_credentials,
    verify_api_key,
)
from tests.factories import isolated_vault_env, make_operation

SECRET = "LeakCanary-7d0c9b8a-secret-6f5e4d3c2b1a0f9e8d7c6b5a4938"
PASSPHRASE = "LeakCanary passphrase 51f0"
REPO = Path(__file__).resolve().parents[1]
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def server_tokens_in(text: str) -> list[str]:
    found = []
    for token in _JWT.findall(text):
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            continue
        if claims.get("server"):
            found.append(token)
    return found


def secret_forms(*secrets: str) -> list[str]:
    """Each secret as text, plus a raw master key as bytes-repr and hex, the ways it could
    show up if someone printed the decoded key."""
    forms = [SECRET, PASSPHRASE, *secrets]
    for secret in secrets:
        raw = decode_raw_key(secret)
        if raw is not None:
            forms += [repr(raw)[2:-1], raw.hex()]
    return forms


def assert_clean(text: str, *also_secret: str) -> None:
    for secret in secret_forms(*also_secret):
        assert secret not in text, (
            f"secret leaked: ...{text[max(0, text.find(secret) - 80) :][:200]}"
        )
    assert not server_tokens_in(text), "a server token leaked"


def error_texts(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if isinstance(exc, StreamMCPError):
        parts.append(json.dumps(exc.to_dict()))
    return "\n".join(parts)


def op(op_id: str, *, user_token: bool = True, read_only: bool = True) -> Operation:
    return make_operation(op_id, user_token=user_token, read_only=read_only)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return isolated_vault_env(
        monkeypatch, tmp_path, STREAM_MCP_LOG_LEVEL="DEBUG", STREAM_MCP_LOG_FORMAT="json"
    )


def test_library_functions_do_not_leak(
    env: dict[str, str], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    master, new_master = env["STREAM_MCP_VAULT_KEY"], generate_key()
    configure_logging(fmt="json", level="DEBUG")
    seen: list[str] = []
    server_tokens: list[str] = []

    def expect_error(call: Callable[[], Any]) -> None:
        with pytest.raises((StreamMCPError, TypeError)) as info:
            call()
        seen.append(error_texts(info.value))

    # Signer
    signer = Signer(SECRET)
    seen += [repr(signer), str(signer), repr(signer.redactor())]
    server_tokens.append(signer.sign_server(60))
    signer.sign_user("alice", 60)
    for attempt in (pickle.dumps, copy.copy, copy.deepcopy, json.dumps):
        expect_error(lambda attempt=attempt: attempt(signer))
    expect_error(lambda: Signer(SECRET + " with a space"))
    expect_error(lambda: signer.sign_server(0))

    # Credentials and the auth decision
    policy = Policy(default_user="alice", allowed_users=("bot-*",), server_auth=("Ban*",))
    credentials = Credentials(
        profile_name="prod", api_key="k", signer=signer, policy=policy, cache=TokenCache()
    )
    for operation, user in ((op("QueryChannels"), None), (op("BanUser"), "bot-1")):
        decision = credentials.authorize(operation, user)
        seen.append(repr(decision))
        if decision.mode == "server":
            server_tokens.append(decision.token)
    expect_error(lambda: credentials.authorize(op("UpdateApp", user_token=False)))
    expect_error(lambda: credentials.authorize(op("QueryChannels"), "mallory"))
    expect_error(lambda: credentials.issue_user_token("alice", 10**6))
    issued = credentials.issue_user_token("alice", 60)
    seen += [repr(issued), repr(credentials), repr(vars(credentials)), repr(credentials._cache)]
    assert credentials.redactor().text(f"x {SECRET} y") == "x [redacted] y"

    # Vault: every operation and every damage error
    source = KeySource(vault_key=master, new_vault_key=new_master, keyring_backend=None)
    vault = VaultFile(env["STREAM_MCP_VAULT_PATH"], source)
    seen += [repr(source), repr(vault), repr(vars(vault)), repr(vault.init())]
    vault.put_profile("prod", api_key="k", secret=SECRET, policy=policy)
    presented = vault.add_api_key("ci", profile="prod")
    record = vault.get_profile("prod")
    seen += [repr(record), repr(vars(vault)), repr(vault.principals()), repr(vault.api_key_index())]
    assert verify_api_key(vault, presented) is not None
    verifier = api_key_verifier(Settings(vault_path=vault.path), key_source=source)
    assert verifier(presented) is not None
    seen.append(repr(verifier))
    seen.append(repr(vault.rotate_key()))
    seen.append(repr(vault.list_profiles()))
    expect_error(lambda: vault.put_profile("bad", api_key="k", secret=SECRET + " x"))
    wrong_key = generate_key()
    wrong = VaultFile(vault.path, KeySource(vault_key=wrong_key, keyring_backend=None))
    expect_error(lambda: wrong.get_profile("prod"))
    expect_error(lambda: VaultFile(vault.path, KeySource(vault_key=PASSPHRASE)).get_profile("prod"))
    expect_error(lambda: VaultFile(vault.path, KeySource()).get_profile("prod"))
    fresh = VaultFile(vault.path, KeySource(vault_key=new_master, keyring_backend=None))
    raw = vault.path.read_bytes()
    data = json.loads(raw)
    data["profiles"]["prod"]["secret"] = data["profiles"]["prod"]["api_key"]
    vault.path.write_text(json.dumps(data))
    expect_error(lambda: fresh.get_profile("prod"))
    vault.path.write_bytes(raw[: len(raw) // 2])
    expect_error(lambda: fresh.get_profile("prod"))
    vault.path.write_bytes(raw)
    fresh.revoke_api_key("ci")
    fresh.remove_profile("prod")
    seen.append(vault.path.read_text())

    # Environment backend and open_credentials
    monkeypatch.setenv("STREAM_API_KEY", "envkey")
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    monkeypatch.setenv("STREAM_MCP_ALLOWED_USERS", "*")
    backend = EnvBackend()
    seen += [repr(backend), repr(backend.get_profile("env"))]
    seen += [repr(load_settings(EnvCredentialSettings)), repr(load_settings(VaultKeySettings))]
    seen.append(repr(load_settings(EnvPolicySettings)))
    expect_error(lambda: backend.put_profile("env", api_key="k", secret=SECRET))
    expect_error(lambda: load_settings(EnvCredentialSettings, STREAM_API_SECRET=[SECRET]))
    opened = open_credentials(Settings(), key_source=source)
    seen.append(repr(opened))
    monkeypatch.setenv("STREAM_API_SECRET", SECRET + " tail")
    expect_error(lambda: EnvBackend().get_profile("env"))
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    monkeypatch.setenv("STREAM_BASE_URL", f"http://x.example/?api_key={SECRET}")
    expect_error(lambda: EnvBackend().get_profile("env"))

    out, err = capfd.readouterr()
    assert "auth_decision" in err and "vault_key_rotated" in err  # logs were really captured
    assert len(server_tokens) == 2 and all(server_tokens_in(t) for t in server_tokens)
    for text in [*seen, out, err]:
        assert_clean(text, master, new_master, wrong_key, presented)
        for token in server_tokens:
            assert token not in text


def cli(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = ""
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out + err


def test_cli_commands_do_not_leak(
    env: dict[str, str], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    master = env["STREAM_MCP_VAULT_KEY"]
    new_master = generate_key()
    add = ["vault", "add", "prod", "--api-key", "k", "--default-user", "alice", "--allow-user", "*"]
    runs = [
        (["vault", "init"], "", 0),
        ([*add, "--server-auth", "server_only"], SECRET + "\n", 0),
        (["vault", "list"], "", 0),
        (["vault", "list", "--json"], "", 0),
        (["vault", "show", "prod"], "", 0),
        (["vault", "show", "prod", "--json"], "", 0),
        (["vault", "add-key", "ci", "--profile", "prod"], "", 0),
        (["vault", "keys"], "", 0),
        (["vault", "keys", "--json"], "", 0),
        (["token", "bob", "--profile", "prod"], "", 0),
        (["token", "bob", "--profile", "prod", "--json", "--ttl", "60"], "", 0),
        (["token", "bob", "--profile", "prod", "--ttl", "999999"], "", 2),
        (["vault", "add", "dev", "--api-key", "k", "--default-user", "a"], SECRET + " x", 2),
        (["vault", "add", "prod", "--api-key", "k", "--default-user", "a"], SECRET, 2),
        (["vault", "revoke-key", "ci"], "", 0),
    ]
    transcript = []
    for argv, stdin, expected in runs:
        code, text = cli(capfd, monkeypatch, *argv, stdin=stdin)
        assert code == expected, (argv, text)
        transcript.append(text)
    monkeypatch.setenv("STREAM_MCP_VAULT_NEW_KEY", new_master)
    transcript.append(cli(capfd, monkeypatch, "vault", "rotate-key")[1])
    code, text = cli(capfd, monkeypatch, "vault", "show", "prod")  # old key: refused
    assert code == 2 and "does not open" in text
    transcript.append(text)
    monkeypatch.setenv("STREAM_MCP_VAULT_KEY", new_master)
    for argv in (["vault", "show", "prod"], ["vault", "remove", "prod"]):
        code, text = cli(capfd, monkeypatch, *argv)
        assert code == 0, text
        transcript.append(text)
    vault_text = Path(env["STREAM_MCP_VAULT_PATH"]).read_text()
    joined = "\n".join(transcript)
    presented = re.findall(r"smcp_[A-Za-z0-9_-]+", joined)
    assert len(presented) == 1  # printed once, by add-key, and never again
    assert "vault_profile_saved" in joined  # DEBUG logs were on and captured
    assert "********" in joined and _JWT.search(joined)  # masks and user tokens were printed
    assert_clean(joined, master, new_master)
    assert_clean(vault_text, master, new_master, presented[0])


def test_subprocess_with_secret_on_stdin(env: dict[str, str], tmp_path: Path) -> None:
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("STREAM_", "PYTHON"))},
        **env,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
    }
    command = [sys.executable, "-m", "stream_mcp"]
    added = subprocess.run(
        [*command, "vault", "add", "prod", "--api-key", "k", "--default-user", "alice"],
        input=SECRET + "\n",
        capture_output=True,
        text=True,
        env=child_env,
        cwd=REPO,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    shown = subprocess.run(
        [*command, "vault", "show", "prod"],
        capture_output=True,
        text=True,
        env=child_env,
        cwd=REPO,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert "********" in shown.stdout and "vault_profile_saved" in added.stderr
    record = VaultFile(
        env["STREAM_MCP_VAULT_PATH"], KeySource(vault_key=env["STREAM_MCP_VAULT_KEY"])
    ).get_profile("prod")
    assert jwt.decode(record.signer.sign_server(60), SECRET, algorithms=["HS256"])["server"]
    for text in (added.stdout, added.stderr, shown.stdout, shown.stderr):
        assert_clean(text, env["STREAM_MCP_VAULT_KEY"])
