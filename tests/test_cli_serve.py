"""Serving pieces in-process: client config, static-mode filtering and warning, the audit."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import threading
from pathlib import Path

import pytest
from mcp import Client

from stream_mcp.auth.credentials import Credentials, Signer
from stream_mcp.auth.policy import Policy
from stream_mcp.cli import main
from stream_mcp.config import Settings
from stream_mcp.observability.logs import configure_logging
from stream_mcp.runtime import embedded_sandbox, open_service
from stream_mcp.server._server import build_server, static_tools, tool_name
from stream_mcp.vault import generate_key

SECRET = "serve-test-secret-0123456789abcdef0123"


def test_config_snippets_point_at_an_absolute_command(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("STREAM_MCP_VAULT_PATH", str(tmp_path / "vault.json"))
    assert main(["config", "claude", "--profile", "prod"]) == 0
    entry = json.loads(capsys.readouterr().out)["mcpServers"]["stream-chat"]
    assert Path(entry["command"]).is_absolute()
    assert entry["args"] == ["serve"]
    assert entry["env"]["STREAM_MCP_PROFILE"] == "prod"
    assert entry["env"]["STREAM_MCP_VAULT_PATH"] == str(tmp_path / "vault.json")
    assert "STREAM_MCP_VAULT_KEY" not in entry["env"]  # the OS keyring holds it
    monkeypatch.setenv("STREAM_MCP_VAULT_KEY", "a-real-master-key-never-printed")
    assert main(["config", "claude"]) == 0
    captured = capsys.readouterr()
    assert "a-real-master-key-never-printed" not in captured.out + captured.err
    assert "STREAM_MCP_VAULT_KEY" in json.loads(captured.out)["mcpServers"]["stream-chat"]["env"]
    assert main(["config", "cursor", "--sandbox"]) == 0
    entry = json.loads(capsys.readouterr().out)["mcpServers"]["stream-chat"]
    assert entry["args"] == ["serve", "--sandbox"] and "env" not in entry


def test_include_exclude_need_static_mode(capsys):
    assert main(["serve", "--include", "Send*"]) == 2
    assert "--include/--exclude apply to --mode static" in capsys.readouterr().err


def test_tool_names_are_snake_case_and_short():
    assert tool_name("GetOrCreateDistinctChannel") == "get_or_create_distinct_channel"
    assert tool_name("CheckSNS") == "check_sns"
    assert tool_name("QueryMessageFlags") == "query_message_flags"


def _credentials() -> Credentials:
    return Credentials(
        profile_name="test",
        api_key="key",
        signer=Signer(SECRET),
        base_url="http://127.0.0.1:9",
        policy=Policy(default_user="agent-bot", allowed_users=("*",)),
    )


async def test_static_mode_filters_and_warns_past_forty_tools(capsys):
    configure_logging(fmt="json")
    async with open_service(Settings(), _credentials()) as service:
        chosen = static_tools(service, include=("*Poll*",), exclude=("Delete*",))
        names = {t.tool.name for t in chosen}
        assert "create_poll" in names and "delete_poll" not in names
        assert all(len(n) <= 40 for n in names)
        build_server(service, mode="static")
    err = capsys.readouterr().err
    assert '"event": "many_tools"' in err and "Cursor uses only the first 40" in err


@pytest.fixture
def sandbox_env(monkeypatch, tmp_path):
    monkeypatch.setenv("STREAM_API_KEY", "audit-key")
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    return Settings(audit_log=tmp_path / "audit.jsonl", data_dir=tmp_path)


async def test_audit_lines_record_who_did_what_and_nothing_secret(sandbox_env, capsys):
    configure_logging(fmt="json")
    settings = sandbox_env
    with embedded_sandbox(settings, ":memory:") as handle:
        async with open_service(settings, handle.credentials) as service:
            server = build_server(service)
            async with Client(server) as client:
                ok = await client.call_tool(
                    "execute_operation",
                    {"operation_id": "GetApp", "select": "app.name", "as_user": "agent-bot"},
                )
                refused = await client.call_tool(
                    "execute_operation",
                    {"operation_id": "GetMessage", "arguments": {"id": "missing"}},
                )
    assert not ok.is_error and refused.is_error
    lines = [json.loads(line) for line in settings.audit_log.read_text().splitlines()]
    assert [line["operation"] for line in lines] == ["GetApp", "GetMessage"]
    first, second = lines
    for key in (
        "time",
        "principal",
        "profile",
        "operation",
        "acting_user",
        "auth_mode",
        "status",
        "stream_code",
        "latency_ms",
        "request_id",
    ):
        assert key in first
    assert first["status"] == "ok" and first["acting_user"] == "agent-bot"
    assert first["profile"] == "sandbox" and first["principal"] == "local"
    assert second["status"] == "stream_api_error" and second["stream_code"] in (4, 16)
    everything = settings.audit_log.read_text() + capsys.readouterr().err
    assert SECRET not in everything
    assert "eyJ" not in everything  # no token, not even the server token of the bootstrap
    assert '"execution"' in everything  # the same record went to stderr
    assert os.stat(settings.audit_log).st_size > 0


async def test_a_stream_timeout_is_a_tool_error_not_a_protocol_error():
    """A server that accepts and never answers: the agent gets a retryable timeout result."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    credentials = Credentials(
        profile_name="test",
        api_key="key",
        signer=Signer(SECRET),
        base_url=f"http://127.0.0.1:{listener.getsockname()[1]}",
        policy=Policy(default_user="agent-bot"),
    )
    settings = Settings(read_timeout=0.3, connect_timeout=0.3, max_retries=1)
    try:
        async with open_service(settings, credentials) as service:
            server = build_server(service)
            async with Client(server) as client:
                result = await client.call_tool(
                    "execute_operation", {"operation_id": "GetApp", "as_user": "agent-bot"}
                )
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert result.is_error
    payload = result.structured_content
    assert payload["error"] == "timeout" or "timed out" in payload["message"]
    assert payload["retryable"] is True
    assert len(accepted) == 2  # GetApp is idempotent: one retry, then the error


async def test_static_tool_names_are_unique_and_valid_for_every_client():
    async with open_service(Settings(), _credentials()) as service:
        names = [t.tool.name for t in static_tools(service)]
    assert len(names) == len(set(names)) == 247
    assert all(re.fullmatch(r"[a-z0-9_]{1,40}", name) for name in names)


def test_sandbox_mode_persists_in_the_data_directory_unless_in_memory(tmp_path, monkeypatch):
    monkeypatch.delenv("STREAM_API_KEY", raising=False)
    monkeypatch.delenv("STREAM_API_SECRET", raising=False)
    settings = Settings(data_dir=tmp_path / "data")
    with embedded_sandbox(settings) as handle:
        assert handle.credentials.policy.default_user == "agent-bot"
        assert handle.credentials.policy.allows_user("anyone-at-all")
        assert "secret" not in repr(handle) and handle.base_url.startswith("http://127.0.0.1:")
    assert (tmp_path / "data" / "sandbox.db").is_file()
    with embedded_sandbox(Settings(data_dir=tmp_path / "other"), ":memory:"):
        pass
    assert not (tmp_path / "other" / "sandbox.db").exists()


def test_config_picks_the_vaults_only_profile_or_names_the_choices(capsys, monkeypatch, tmp_path):
    vault_env = {
        "STREAM_MCP_VAULT_PATH": str(tmp_path / "vault.json"),
        # A random key, not a passphrase: scrypt would stretch it on each of the five
        # commands below (1.4 CPU-seconds), and stretching is not what this test is about.
        "STREAM_MCP_VAULT_KEY": generate_key(),
    }
    for name, value in vault_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STREAM_MCP_PROFILE", raising=False)
    assert main(["vault", "init"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("prod-secret-0123456789abcdef\n"))
    assert main(["vault", "add", "prod", "--api-key", "k1", "--default-user", "bot"]) == 0
    capsys.readouterr()
    assert main(["config", "claude"]) == 0
    entry = json.loads(capsys.readouterr().out)["mcpServers"]["stream-chat"]
    assert entry["env"]["STREAM_MCP_PROFILE"] == "prod"  # the only one, not "default"
    monkeypatch.setattr("sys.stdin", io.StringIO("stage-secret-0123456789abcdef\n"))
    assert main(["vault", "add", "stage", "--api-key", "k2", "--default-user", "bot"]) == 0
    capsys.readouterr()
    assert main(["config", "claude"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["mcpServers"]["stream-chat"]["env"]["STREAM_MCP_PROFILE"] == (
        "default"
    )
    assert "no profile 'default'" in captured.err and "prod, stage" in captured.err
