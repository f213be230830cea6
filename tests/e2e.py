"""Helpers for the end-to-end tests: spawn the real server, record everything, check leaks."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import jwt
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests import forkserver

ROOT = Path(__file__).resolve().parents[1]
# One TLS context for every HTTP client the tests make: httpx builds (and loads the system's
# CA certificates into) a new one per client otherwise, ~50 ms of CPU each, hundreds a run.
# The tests speak plain HTTP to loopback; the context is httpx's default, only shared.
TLS = httpx2.create_ssl_context()
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass
class Transcript:
    """Every tool result and log line of one run, for the leak checks."""

    api_secret: str
    results: list[tuple[str, dict[str, Any], bool]] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)

    def record(self, tool: str, result: types.CallToolResult) -> dict[str, Any]:
        texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
        payload = dict(result.structured_content or {}) or json.loads(texts[0] if texts else "{}")
        self.results.append((tool, {"payload": payload, "texts": texts}, bool(result.is_error)))
        return payload

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_files if p.exists())

    def assert_no_leaks(self) -> None:
        """The secret and server tokens never appear; user tokens only from issue_user_token."""
        self.assert_results_hold_no_leak()
        logs = self.logs()
        assert logs, "no server log captured"
        problems = log_leaks(self.api_secret, logs)
        assert not problems, problems[0]

    def assert_results_hold_no_leak(self) -> None:
        """The results half of :meth:`assert_no_leaks`."""
        for tool, recorded, _ in self.results:
            text = json.dumps(recorded)
            assert self.api_secret not in text, f"secret in {tool} result"
            for token in JWT_PATTERN.findall(text):
                claims = _claims(token)
                assert not claims.get("server"), f"server token in {tool} result"
                assert tool == "issue_user_token", f"user token in {tool} result"


def log_leaks(api_secret: str, logs: str) -> list[str]:
    """The log half of :meth:`Transcript.assert_no_leaks`: what ``logs`` leaks, if anything."""
    problems = []
    if api_secret in logs:
        problems.append("the API secret in the server log")
    if JWT_PATTERN.search(logs):
        problems.append("a raw JWT in the server log")
    if base64.b64encode(api_secret.encode()).decode() in logs:
        problems.append("the API secret's base64 in the server log")
    return problems


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def server_env(api_secret: str, **extra: str) -> dict[str, str]:
    env = {
        "STREAM_API_KEY": "e2e-key",
        "STREAM_API_SECRET": api_secret,
        "STREAM_MCP_LOG_FORMAT": "json",
        "STREAM_MCP_DATA_DIR": str(ROOT / ".pytest_cache" / "e2e-data"),
    }
    env.update(extra)
    return env


def new_secret() -> str:
    return "e2e-" + secrets.token_urlsafe(30)


class RecordingClient:
    """Wraps an mcp Client so every tool call lands in the transcript."""

    def __init__(self, client: Client, transcript: Transcript) -> None:
        self.client = client
        self.transcript = transcript

    async def list_tools(self) -> types.ListToolsResult:
        return await self.client.list_tools()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        result = await self.client.call_tool(name, arguments)
        self.transcript.record(name, result)
        return result

    async def call(self, name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        result = await self.call_tool(name, arguments)
        return self.transcript.results[-1][1]["payload"], bool(result.is_error)


@asynccontextmanager
async def stdio_session(
    tmp_path: Path,
    transcript: Transcript,
    *args: str,
    env: dict[str, str] | None = None,
    elicitation_callback: Any = None,
) -> AsyncIterator[RecordingClient]:
    """Spawn ``stream-mcp serve --sandbox`` over stdio and connect in legacy mode."""
    log_path = tmp_path / f"server-{len(transcript.log_files)}.log"
    transcript.log_files.append(log_path)
    params = server_params(
        "serve",
        "--sandbox",
        "--sandbox-db",
        ":memory:",
        *args,
        env={**server_env(transcript.api_secret), **(env or {})},
    )
    with log_path.open("w") as errlog:
        transport = stdio_client(params, errlog=errlog)
        async with Client(
            transport, mode="legacy", elicitation_callback=elicitation_callback
        ) as client:
            yield RecordingClient(client, transcript)


def server_params(*args: str, env: dict[str, str]) -> StdioServerParameters:
    """``python -m stream_mcp <args>`` for the SDK's stdio client (see tests.forkserver)."""
    command = forkserver.command(*args)
    return StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        forkserver.command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=str(ROOT),
        timeout=60,
        check=False,
    )


@contextmanager
def http_server_process(
    tmp: Path, key_users: dict[str, tuple[str, tuple[str, ...]]], *extra_args: str
) -> Iterator[dict[str, Any]]:
    """A vault with API keys (name -> (profile, users)) and ``serve --transport http
    --sandbox`` using it, on a free loopback port; stopped on exit."""
    vault_env = {
        "STREAM_MCP_VAULT_PATH": str(tmp / "vault.json"),
        "STREAM_MCP_VAULT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    init = cli("vault", "init", env=vault_env)
    assert init.returncode == 0, init.stderr
    keys = {}
    for name, (profile, users) in key_users.items():
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
    command = forkserver.command(
        "serve", "--transport", "http", "--sandbox", "--sandbox-db", ":memory:"
    )
    command += ["--port", str(port), *extra_args]
    with log_path.open("w") as errlog:
        process = subprocess.Popen(
            command, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=errlog
        )
        try:
            wait_for_port(port, process)
            yield {
                "url": f"http://127.0.0.1:{port}/mcp",
                "keys": keys,
                "transcript": transcript,
                "port": port,
                "process": process,
            }
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=40)
