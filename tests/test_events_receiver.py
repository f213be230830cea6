"""``stream-mcp events serve`` beside a stdio server: the receiver writes, the server reads.

This is the Claude Desktop / Cursor layout: the MCP server speaks stdio and has no HTTP
listener, so a separate receiver takes Stream's webhooks into the profile's store file. The
store (and so the agent's cursor) also outlives a restart of the MCP server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import uuid
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.stdio import stdio_client

from stream_mcp.sandbox import Sandbox
from tests import forkserver
from tests.e2e import ROOT, TLS, free_port, server_params, wait_for_port

SECRET = "receiver-" + "s" * 40


def env_for(tmp: Path, sandbox: Sandbox) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "STREAM_API_KEY": sandbox.api_key,
        "STREAM_API_SECRET": SECRET,
        "STREAM_BASE_URL": sandbox.base_url,
        "STREAM_MCP_DEFAULT_USER": "agent-bot",
        "STREAM_MCP_ALLOWED_USERS": "*",
        "STREAM_MCP_DATA_DIR": str(tmp / "data"),
        "STREAM_MCP_VAULT_PATH": str(tmp / "no-vault.json"),
        "STREAM_MCP_LOG_FORMAT": "json",
    }


def webhook(sandbox: Sandbox, text: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "message.new",
            "cid": "messaging:desk",
            "created_at": "2026-12-02T11:00:00.000001Z",
            "user": {"id": "bob"},
            "message": {"id": f"m-{text}", "text": text, "user": {"id": "bob"}},
        }
    ).encode()
    return body, {
        "content-type": "application/json",
        "x-api-key": sandbox.api_key,
        "x-signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "x-webhook-id": str(uuid.uuid4()),
    }


async def wait(env: dict[str, str], arguments: dict) -> dict:
    params = server_params("serve", env=env)
    async with Client(stdio_client(params), mode="legacy") as client:
        result = await client.call_tool("wait_for_events", arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


async def test_the_receiver_feeds_stdio_servers_across_restarts(tmp_path: Path) -> None:
    with Sandbox(api_secret=SECRET) as sandbox:
        env = env_for(tmp_path, sandbox)
        port = free_port()
        receiver = subprocess.Popen(
            forkserver.command("events", "serve", "--port", str(port)),
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "receiver.log").open("w"),
        )
        try:
            wait_for_port(port, receiver)
            url = f"http://127.0.0.1:{port}/webhooks/stream"
            start = await wait(env, {"timeout_seconds": 0})
            async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
                body, headers = webhook(sandbox, "first")
                assert (await http.post(url, content=body, headers=headers)).status_code == 200
                bad = {**headers, "x-signature": "0" * 64}
                assert (await http.post(url, content=body, headers=bad)).status_code == 401
                health = await http.get(f"http://127.0.0.1:{port}/healthz")
                assert health.json() == {"status": "ok"}
            # A new server process (a restart) continues from the cursor the agent kept.
            got = await wait(env, {"after": start["next"], "timeout_seconds": 5})
            assert [e["message"]["text"] for e in got["events"]] == ["first"]
            async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
                body, headers = webhook(sandbox, "second")
                assert (await http.post(url, content=body, headers=headers)).status_code == 200
            later = await wait(env, {"after": got["next"], "timeout_seconds": 5})
            assert [e["message"]["text"] for e in later["events"]] == ["second"]
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
    log = (tmp_path / "receiver.log").read_text()
    assert SECRET not in log
