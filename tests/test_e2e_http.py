"""End to end over streamable HTTP on a real socket: API keys, principals, DNS rebinding."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import ROOT, RecordingClient, Transcript, cli, free_port, new_secret, server_env
from tests.e2e import wait_for_port as wait_for


@pytest.fixture(scope="module")
def http_server(tmp_path_factory) -> Iterator[dict]:
    """A vault with two API keys, and ``serve --transport http --sandbox`` using it."""
    tmp = tmp_path_factory.mktemp("http")
    vault_env = {
        "STREAM_MCP_VAULT_PATH": str(tmp / "vault.json"),
        "STREAM_MCP_VAULT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    init = cli("vault", "init", env=vault_env)
    assert init.returncode == 0, init.stderr
    keys = {}
    for name, users in (("support", ("alice", "bob")), ("other-profile", ("*",))):
        profile = "sandbox" if name == "support" else "prod"
        args = ["vault", "add-key", name, "--profile", profile, "--mode", "discovery"]
        for user in users:
            args += ["--user", user]
        done = cli(*args, env=vault_env)
        assert done.returncode == 0, done.stderr
        keys[name] = done.stdout.strip().splitlines()[-1].strip()
    transcript = Transcript(new_secret())
    port = free_port()
    log_path = tmp / "server.log"
    transcript.log_files.append(log_path)
    env = {**os.environ, **server_env(transcript.api_secret), **vault_env}
    with log_path.open("w") as errlog:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stream_mcp",
                "serve",
                "--transport",
                "http",
                "--sandbox",
                "--sandbox-db",
                ":memory:",
                "--port",
                str(port),
            ],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=errlog,
        )
        try:
            wait_for(port, process)
            yield {
                "url": f"http://127.0.0.1:{port}/mcp",
                "keys": keys,
                "transcript": transcript,
                "port": port,
            }
        finally:
            process.terminate()
            process.wait(timeout=10)
    # Whichever of this module's tests ran, nothing they saw or logged may leak.
    transcript.assert_no_leaks()


@asynccontextmanager
async def connect(url: str, key: str, transcript: Transcript):
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        yield RecordingClient(client, transcript)


async def test_a_principal_works_within_its_users(http_server):
    transcript = http_server["transcript"]
    async with connect(http_server["url"], http_server["keys"]["support"], transcript) as client:
        tools = await client.list_tools()
        assert [t.name for t in tools.tools] == [
            "search_operations",
            "load_operation",
            "execute_operation",
            "issue_user_token",
        ]
        payload, error = await client.call("search_operations", {"query": "send a message"})
        assert not error and payload["hits"][0]["operation_id"] == "SendMessage"
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "alice"},
        )
        assert not error, payload
        payload, error = await client.call("issue_user_token", {"user_id": "bob"})
        assert not error and payload["user_id"] == "bob"


async def test_a_principal_cannot_act_outside_its_users(http_server):
    transcript = http_server["transcript"]
    async with connect(http_server["url"], http_server["keys"]["support"], transcript) as client:
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "mallory"},
        )
        assert error and payload["field"] == "as_user"
        # The default acting user (agent-bot) is not among this key's users either.
        payload, error = await client.call(
            "execute_operation", {"operation_id": "QueryChannels", "arguments": {}}
        )
        assert error and payload["field"] == "as_user"
        payload, error = await client.call("issue_user_token", {"user_id": "mallory"})
        assert error and payload["field"] == "user_id"


async def test_missing_bad_and_foreign_keys_are_refused(http_server):
    url = http_server["url"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=10) as http:
        missing = await http.post(url, json=body, headers=headers)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        bad = await http.post(
            url, json=body, headers={**headers, "Authorization": "Bearer smcp_not-a-key"}
        )
        assert bad.status_code == 401
        foreign = await http.post(
            url,
            json=body,
            headers={**headers, "Authorization": f"Bearer {http_server['keys']['other-profile']}"},
        )
        assert foreign.status_code == 403


async def test_dns_rebinding_protection(http_server):
    key = http_server["keys"]["support"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
    }
    async with httpx2.AsyncClient(timeout=10) as http:
        evil_host = await http.post(
            http_server["url"], json=body, headers={**headers, "Host": "evil.example:80"}
        )
        assert evil_host.status_code in (403, 421)
        evil_origin = await http.post(
            http_server["url"], json=body, headers={**headers, "Origin": "http://evil.example"}
        )
        assert evil_origin.status_code == 403


async def test_every_http_execution_is_audited(http_server):
    transcript: Transcript = http_server["transcript"]
    log = Path(transcript.log_files[0])
    before = log.read_text().count('"event": "execution"')
    async with connect(http_server["url"], http_server["keys"]["support"], transcript) as client:
        await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "bob"},
        )
        await client.call("execute_operation", {"operation_id": "GetApp", "as_user": "mallory"})
    lines = [line for line in log.read_text().splitlines() if '"event": "execution"' in line]
    assert len(lines) == before + 2
    assert '"principal": "support"' in lines[-1] and '"status": "policy_denied"' in lines[-1]
