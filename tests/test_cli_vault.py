"""``stream-mcp vault …`` and ``stream-mcp token`` driven through ``stream_mcp.cli.main``."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import jwt
import keyring
import pytest

from stream_mcp.cli import main, vault_cmds
from stream_mcp.vault import KeySource, VaultFile, generate_key
from tests.factories import isolated_vault_env

SECRET = "cli-secret-0123456789abcdefghijklmnopqrstuvwxyzABCD"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return isolated_vault_env(monkeypatch, tmp_path)


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add_prod(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        monkeypatch,
        capsys,
        "vault",
        "add",
        "prod",
        "--api-key",
        "prodkey",
        "--default-user",
        "alice",
        "--allow-user",
        "bot-*",
        "--allow-user",
        "carol",
        "--server-auth",
        "server_only",
        "--deny-op",
        "Delete*",
        "--max-issued-ttl",
        "900",
        stdin=SECRET + "\n",
    )
    assert code == 0, err


def vault_of(env: dict[str, str]) -> VaultFile:
    source = KeySource(vault_key=env["STREAM_MCP_VAULT_KEY"], keyring_backend=None)
    return VaultFile(env["STREAM_MCP_VAULT_PATH"], source)


def test_add_creates_the_vault_and_stores_the_profile(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    record = vault_of(env).get_profile("prod")
    assert record.api_key == "prodkey"
    assert record.policy.allowed_users == ("bot-*", "carol")
    assert record.policy.server_auth == "server_only"
    assert record.policy.deny_ops == ("Delete*",)
    assert record.policy.max_issued_ttl == 900
    token = record.signer.sign_server(60)
    assert jwt.decode(token, SECRET, algorithms=["HS256"])["server"] is True


def test_secret_from_a_prompt_when_stdin_is_a_terminal(env, monkeypatch, capsys) -> None:
    asked: list[str] = []

    def fake_getpass(label: str) -> str:
        asked.append(label)
        return SECRET

    monkeypatch.setattr(vault_cmds, "_interactive", lambda: True)
    monkeypatch.setattr(vault_cmds.getpass, "getpass", fake_getpass)
    code, _, err = run(
        monkeypatch, capsys, "vault", "add", "dev", "--api-key", "k", "--default-user", "a"
    )
    assert code == 0, err
    assert asked == ["API secret for profile dev: "]
    assert vault_of(env).get_profile("dev").api_key == "k"


def test_list_and_show_mask_the_secret(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    code, out, _ = run(monkeypatch, capsys, "vault", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "PROFILE", "API_KEY", "SECRET", "BASE_URL", "DEFAULT_USER", "SERVER_AUTH", "READ_ONLY",
    ]  # fmt: skip
    assert lines[1].split()[:4] == ["prod", "prodkey", "********", "https://chat.stream-io-api.com"]
    code, out, _ = run(monkeypatch, capsys, "vault", "show", "prod")
    assert code == 0
    assert "secret:         ********" in out
    assert "allowed_users:  bot-*, carol" in out
    code, out, _ = run(monkeypatch, capsys, "vault", "show", "prod", "--json")
    view = json.loads(out)
    assert view["secret"] == "********" and view["default_user"] == "alice"
    code, out, _ = run(monkeypatch, capsys, "vault", "list", "--json")
    assert [v["profile"] for v in json.loads(out)] == ["prod"]


def test_add_refusals(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    cases = [
        (["prod", "--api-key", "k", "--default-user", "a"], SECRET, "--replace"),
        (["dev", "--api-key", "k"], SECRET, "--default-user"),
        (["dev", "--api-key", "k", "--default-user", "a", "--server-auth", "none,X"], SECRET,
         "--server-auth: "),
        (["dev", "--api-key", "k", "--default-user", "a", "--user-token-ttl", "9000"], SECRET,
         "--user-token-ttl: "),
        (["dev", "--api-key", "k", "--default-user", "a"], "", "secret: "),
        (["dev", "--api-key", "k", "--default-user", "a"], "two words", "secret: "),
        (["dev", "--api-key", "k", "--default-user", "a", "--base-url", "http://x.com"], SECRET,
         "base_url: "),
        (["env", "--api-key", "k", "--default-user", "a"], SECRET, "reserved"),
    ]  # fmt: skip
    for args, stdin, words in cases:
        code, out, err = run(monkeypatch, capsys, "vault", "add", *args, stdin=stdin)
        assert code == 2, args
        assert err.startswith("error: ") and words in err, (args, err)
        assert err.count("\n") == 1 and out == ""
    assert vault_of(env).list_profiles() == ["prod"]


def test_replace_remove_and_unknown_profile(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    code, _, err = run(
        monkeypatch, capsys, "vault", "add", "prod", "--api-key", "new", "--default-user", "x",
        "--replace", stdin=SECRET,
    )  # fmt: skip
    assert code == 0, err
    assert vault_of(env).get_profile("prod").api_key == "new"
    assert run(monkeypatch, capsys, "vault", "remove", "prod")[0] == 0
    code, _, err = run(monkeypatch, capsys, "vault", "show", "prod")
    assert code == 2 and "no profile 'prod'" in err


def test_init_and_wrong_key_messages(env, monkeypatch, capsys, tmp_path) -> None:
    other = tmp_path / "other.json"
    code, _, err = run(monkeypatch, capsys, "vault", "init", "--vault", str(other))
    assert code == 0 and "STREAM_MCP_VAULT_KEY" in err and other.exists()
    code, _, err = run(monkeypatch, capsys, "vault", "init", "--vault", str(other))
    assert code == 2 and "already exists" in err
    add_prod(monkeypatch, capsys)
    monkeypatch.setenv("STREAM_MCP_VAULT_KEY", generate_key())
    code, _, err = run(monkeypatch, capsys, "vault", "list")
    assert code == 2 and "does not open this vault" in err
    monkeypatch.delenv("STREAM_MCP_VAULT_KEY")
    code, _, err = run(monkeypatch, capsys, "vault", "list")
    assert code == 2 and "STREAM_MCP_VAULT_KEY" in err
    code, _, err = run(monkeypatch, capsys, "vault", "init", "--vault", str(tmp_path / "n.json"))
    assert code == 2 and "no master key" in err


def test_rotate_key_with_env(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    code, _, err = run(monkeypatch, capsys, "vault", "rotate-key")
    assert code == 2 and "STREAM_MCP_VAULT_NEW_KEY" in err
    new_key = generate_key()
    monkeypatch.setenv("STREAM_MCP_VAULT_NEW_KEY", new_key)
    code, _, err = run(monkeypatch, capsys, "vault", "rotate-key")
    assert code == 0, err
    assert "now set STREAM_MCP_VAULT_KEY" in err
    assert run(monkeypatch, capsys, "vault", "list")[0] == 2
    monkeypatch.setenv("STREAM_MCP_VAULT_KEY", new_key)
    monkeypatch.delenv("STREAM_MCP_VAULT_NEW_KEY")
    code, out, _ = run(monkeypatch, capsys, "vault", "list")
    assert code == 0 and "prodkey" in out


def test_rotate_from_env_to_keyring_warns_about_the_stale_variable(
    env, monkeypatch, capsys
) -> None:
    ring: dict[tuple[str, str], str] = {}

    class Ring:
        def get_password(self, service: str, user: str) -> str | None:
            return ring.get((service, user))

        def set_password(self, service: str, user: str, value: str) -> None:
            ring[(service, user)] = value

        def delete_password(self, service: str, user: str) -> None:
            del ring[(service, user)]

    monkeypatch.setattr(keyring, "get_keyring", Ring)
    add_prod(monkeypatch, capsys)
    code, _, err = run(monkeypatch, capsys, "vault", "rotate-key", "--key-from", "keyring")
    assert code == 0, err
    assert "unset STREAM_MCP_VAULT_KEY" in err and len(ring) == 1
    monkeypatch.delenv("STREAM_MCP_VAULT_KEY")
    code, out, err = run(monkeypatch, capsys, "vault", "list")
    assert code == 0 and "prodkey" in out, err


def test_generate_key(env, monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "vault", "generate-key")
    assert code == 0 and len(base64.urlsafe_b64decode(out.strip())) == 32


def test_api_key_commands(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    code, out, err = run(
        monkeypatch, capsys, "vault", "add-key", "ci", "--profile", "prod", "--user", "bot-*",
        "--mode", "static",
    )  # fmt: skip
    assert code == 0, err
    presented = out.strip()
    assert out.count("\n") == 1 and presented.startswith("smcp_")
    assert "only time" in err and presented not in err
    principal = vault_of(env).verify_api_key(presented)
    assert principal is not None and principal.users == ("bot-*",)
    assert principal.modes == ("static",)
    code, out, _ = run(monkeypatch, capsys, "vault", "keys")
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["NAME", "PROFILE", "USERS", "MODES"],
        ["ci", "prod", "bot-*", "static"],
    ]
    assert presented not in out
    code, out, _ = run(monkeypatch, capsys, "vault", "keys", "--json")
    assert json.loads(out)[0]["name"] == "ci" and "sha256" not in out
    assert run(monkeypatch, capsys, "vault", "remove", "prod")[0] == 2
    assert run(monkeypatch, capsys, "vault", "revoke-key", "ci")[0] == 0
    assert vault_of(env).verify_api_key(presented) is None
    code, out, err = run(monkeypatch, capsys, "vault", "add-key", "sb", "--profile", "sandbox")
    assert code == 0 and out.startswith("smcp_") and "not in this vault" in err
    code, _, err = run(monkeypatch, capsys, "vault", "add-key", "sb", "--profile", "sandbox")
    assert code == 2 and "already exists" in err


def test_token_command(env, monkeypatch, capsys) -> None:
    add_prod(monkeypatch, capsys)
    code, out, err = run(monkeypatch, capsys, "token", "carol", "--ttl", "60", "--profile", "prod")
    assert code == 0, err
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"])
    assert claims["user_id"] == "carol" and claims["exp"] - claims["iat"] == 60
    code, out, _ = run(monkeypatch, capsys, "token", "bot-9", "--profile", "prod", "--json")
    data = json.loads(out)
    assert data["user_id"] == "bot-9"
    assert jwt.decode(data["token"], SECRET, algorithms=["HS256"])["exp"] == data["expires_at"]
    assert (
        data["expires_at"] - jwt.decode(data["token"], SECRET, algorithms=["HS256"])["iat"] == 900
    )
    code, out, err = run(monkeypatch, capsys, "token", "carol", "--ttl", "901", "--profile", "prod")
    assert code == 2 and out == "" and "max_issued_ttl" in err
    code, out, err = run(monkeypatch, capsys, "token", "mallory", "--profile", "prod")
    assert code == 2 and out == "" and "allowed_users" in err


def test_token_from_the_environment_backend(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STREAM_API_KEY", "envkey")
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    monkeypatch.setenv("STREAM_MCP_ALLOWED_USERS", "*")
    code, out, err = run(monkeypatch, capsys, "token", "anyone", "--ttl", "30")
    assert code == 0, err
    assert jwt.decode(out.strip(), SECRET, algorithms=["HS256"])["user_id"] == "anyone"
    monkeypatch.delenv("STREAM_API_SECRET")
    code, out, err = run(monkeypatch, capsys, "token", "anyone")
    assert code == 2 and "no profile 'default'" in err


def test_vault_without_action_prints_help(env, monkeypatch, capsys) -> None:
    code, out, err = run(monkeypatch, capsys, "vault")
    assert code == 2 and out == "" and "rotate-key" in err


def test_bad_setting_in_the_environment_is_one_line(env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STREAM_MCP_MAX_RETRIES", "lots")
    code, _, err = run(monkeypatch, capsys, "vault", "list")
    assert code == 2 and err.startswith("error: STREAM_MCP_MAX_RETRIES: ")
    assert err.count("\n") == 1
