"""deploy/ holds nothing a test cannot check: commands parse, variables exist and load."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from stream_mcp.cli import build_parser
from stream_mcp.config import Settings, load_settings
from stream_mcp.vault._env import EnvCredentialSettings, EnvPolicySettings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        entries[name.strip()] = shlex.split(command)
    return entries


def environment() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / "replica.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_every_process_is_a_command_that_parses() -> None:
    entries = procfile()
    assert {"release", "replica-1", "replica-2", "replica-3"} <= set(entries)
    ports = set()
    for name, words in entries.items():
        assert words[0] == "stream-mcp", name
        parsed = build_parser(words[1]).parse_args(words[1:])
        assert callable(parsed.func), name
        if name.startswith("replica"):
            assert parsed.transport == "http" and parsed.stateless, name
            ports.add(parsed.port)
    assert len(ports) == 3


def test_every_variable_is_read_and_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment()
    known = {f"STREAM_MCP_{name.upper()}" for name in Settings.model_fields}
    known |= {f"STREAM_MCP_{name.upper()}" for name in EnvPolicySettings.model_fields}
    known |= {"STREAM_API_KEY", "STREAM_API_SECRET", "STREAM_BASE_URL"}
    assert set(env) <= known, set(env) - known
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(Settings)
    assert settings.database_dsn() and settings.redis_url is not None
    assert settings.profile == "env"
    EnvPolicySettings().to_policy()
    assert EnvCredentialSettings().api_key == env["STREAM_API_KEY"]
    # The readme names the files it documents.
    readme = (DEPLOY / "README.md").read_text()
    assert "Procfile" in readme and "replica.env" in readme
