"""Several ``stream-mcp serve --transport http --stateless`` replicas on loopback.

They share one upstream (an in-process sandbox), one Redis (budgets) and one PostgreSQL
(event store, audit). Clients reach them through :class:`RoundRobin`, an httpx2 transport
that sends each request to the next replica in turn, Host header included (each replica's
DNS-rebinding check knows only its own port): the client-side round robin of a load
balancer without sticky sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from stream_mcp.sandbox import Sandbox
from tests import forkserver
from tests.e2e import ROOT, TLS, cli, free_port, wait_for_port


class RoundRobin(httpx2.AsyncBaseTransport):
    """Each request goes to the next port of ``ports``."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0
        self.inner = httpx2.AsyncHTTPTransport(verify=TLS)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Replicas:
    sandbox: Sandbox
    key: str
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    secret: str
    env: dict[str, str] = field(repr=False)

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/mcp"

    def base(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    @asynccontextmanager
    async def client(self, ports: list[int] | None = None, mode: str = "auto"):
        """An MCP client whose requests rotate over ``ports`` (default: every replica)."""
        transport = RoundRobin(ports or self.ports)
        headers = {"Authorization": f"Bearer {self.key}"}
        async with (
            httpx2.AsyncClient(transport=transport, headers=headers, timeout=60) as http,
            Client(streamable_http_client(self.url(0), http_client=http), mode=mode) as client,
        ):
            yield client

    def webhook(self, payload: dict[str, Any], delivery: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        return body, {
            "content-type": "application/json",
            "x-api-key": self.sandbox.api_key,
            "x-signature": hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest(),
            "x-webhook-id": delivery,
        }


@contextmanager
def replica_set(
    tmp: Path, sandbox: Sandbox, secret: str, count: int, **env: str
) -> Iterator[Replicas]:
    """``count`` replicas of one env profile on ``sandbox``, with one vault API key."""
    vault_env = {
        "STREAM_MCP_VAULT_PATH": str(tmp / "vault.json"),
        "STREAM_MCP_VAULT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    assert cli("vault", "init", env=vault_env).returncode == 0
    made = cli("vault", "add-key", "ops", "--profile", "env", "--user", "*", env=vault_env)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1].strip()
    base_env = {
        **os.environ,
        **vault_env,
        "STREAM_API_KEY": sandbox.api_key,
        "STREAM_API_SECRET": secret,
        "STREAM_BASE_URL": sandbox.base_url,
        "STREAM_MCP_PROFILE": "env",
        "STREAM_MCP_DEFAULT_USER": "agent-bot",
        "STREAM_MCP_ALLOWED_USERS": "*",
        "STREAM_MCP_SERVER_AUTH": "server_only",
        "STREAM_MCP_LOG_FORMAT": "json",
        **env,
    }
    ports, processes, logs = [], [], []
    try:
        for index in range(count):
            port = free_port()
            log = tmp / f"replica-{index}.log"
            replica_env = {**base_env, "STREAM_MCP_DATA_DIR": str(tmp / f"data-{index}")}
            command = forkserver.command(
                "serve", "--transport", "http", "--stateless", "--port", str(port)
            )
            process = subprocess.Popen(
                command,
                env=replica_env,
                cwd=str(ROOT),
                stdout=subprocess.DEVNULL,
                stderr=log.open("w"),
            )
            ports.append(port)
            processes.append(process)
            logs.append(log)
        for port, process in zip(ports, processes, strict=True):
            wait_for_port(port, process, timeout=60)
        yield Replicas(sandbox, key, ports, processes, logs, secret, base_env)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
    for log in logs:
        assert secret not in log.read_text(), f"the app secret leaked into {log.name}"
