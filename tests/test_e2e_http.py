"""End to end over streamable HTTP on a real socket: API keys, principals, DNS rebinding."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import TLS, RecordingClient, Transcript, http_server_process


@pytest.fixture(scope="module")
def http_server(tmp_path_factory) -> Iterator[dict]:
    """A vault with two API keys, and ``serve --transport http --sandbox`` using it."""
    tmp = tmp_path_factory.mktemp("http")
    keys = {"support": ("sandbox", ("alice", "bob")), "other-profile": ("prod", ("*",))}
    with http_server_process(tmp, keys) as server:
        yield server
        transcript = server["transcript"]
    # Whichever of this module's tests ran, nothing they saw or logged may leak.
    transcript.assert_no_leaks()


@asynccontextmanager
async def connect(url: str, key: str, transcript: Transcript):
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(verify=TLS, headers=headers, timeout=30) as http,
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
            "wait_for_events",
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
    async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
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
    async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
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
