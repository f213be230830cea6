"""Run the real server as subprocesses and talk to it from synchronous tests.

One event loop runs in a background thread (an anyio blocking portal) for the whole test
session. Every client session (the mcp ``Client`` over stdio or streamable HTTP, in legacy
or auto mode, or a raw JSON-RPC client for payloads the mcp client cannot even serialize)
lives in that loop as a long-lived task, so many tests share one server process. Tests call
:meth:`Fleet.call` and get an :class:`Outcome`; every call is bounded by ``anyio.fail_after``
so an unanswered request is a test failure, never a hang.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import itertools
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests import forkserver
from tests.e2e import (
    ROOT,
    TLS,
    RecordingClient,
    Transcript,
    cli,
    free_port,
    log_leaks,
    server_env,
    server_params,
    wait_for_port,
)
from tests.security.upstream import Canaries, Upstream

ALLOWED = "alice"
INTRUDER = "mallory"
CONFIRM_TIMEOUT = 2  # STREAM_MCP_CONFIRM_TIMEOUT for every server under test
DEFAULT_TIMEOUT = 10.0
ANSWER_KINDS = {"result", "rpc_error"}


# --------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """What one call produced: a tool result, a JSON-RPC error, a timeout or an exception."""

    kind: str  # "result" | "rpc_error" | "timeout" | "exception"
    payload: dict[str, Any] = field(default_factory=dict)
    is_error: bool = False
    message: str = ""
    elapsed: float = 0.0

    @property
    def answered(self) -> bool:
        return self.kind in ANSWER_KINDS

    @property
    def error(self) -> str | None:
        return self.payload.get("error") if self.is_error else None

    @property
    def field(self) -> str | None:
        return self.payload.get("field") if self.is_error else None

    def describe(self, limit: int = 240) -> str:
        if self.kind == "result" and not self.is_error:
            return f"ok ({self.elapsed:.2f}s) " + json.dumps(self.payload, default=str)[:80]
        if self.kind == "result":
            text = json.dumps(self.payload, default=str)
            return f"isError ({self.elapsed:.2f}s) {text[:limit]}"
        return f"{self.kind} ({self.elapsed:.2f}s): {self.message[:limit]}"


# --------------------------------------------------------------------------- elicitation


class Elicitor:
    """An elicitation callback whose answer a test sets before each call.

    behaviour: ``decline``, ``cancel``, ``error`` (ErrorData), ``accept`` ({"confirm": true}),
    ``accept_false`` ({"confirm": false}), ``accept_string`` ({"confirm": "true"}),
    ``accept_empty`` (accept with no content), ``hang`` (never answers), or ``late`` (accepts
    after ``late_seconds``).
    """

    def __init__(self) -> None:
        self.behaviour = "decline"
        self.late_seconds = CONFIRM_TIMEOUT + 0.75
        self.asked: list[str] = []

    async def __call__(
        self, context: Any, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        self.asked.append(getattr(params, "message", ""))
        behaviour = self.behaviour
        if behaviour == "decline":
            return types.ElicitResult(action="decline")
        if behaviour == "cancel":
            return types.ElicitResult(action="cancel")
        if behaviour == "error":
            return types.ErrorData(code=-32000, message="the user closed the dialog")
        if behaviour == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        if behaviour == "accept_false":
            return types.ElicitResult(action="accept", content={"confirm": False})
        if behaviour == "accept_string":
            return types.ElicitResult(action="accept", content={"confirm": "true"})
        if behaviour == "accept_empty":
            return types.ElicitResult(action="accept", content={})
        if behaviour == "hang":
            await anyio.sleep_forever()
        if behaviour == "late":
            await anyio.sleep(self.late_seconds)
            return types.ElicitResult(action="accept", content={"confirm": True})
        raise AssertionError(f"unknown behaviour {behaviour}")


# --------------------------------------------------------------------------- raw JSON-RPC


class RawRpc:
    """A minimal JSON-RPC client sending pre-serialized bodies (1,000-deep, 10 MB...)."""

    tool_ids = itertools.count(1000)

    async def call_raw(self, body_for_id: Callable[[int], bytes], timeout: float) -> Outcome:
        raise NotImplementedError


def tool_call_body(request_id: int, name: str, arguments_json: str) -> bytes:
    """A tools/call request whose ``arguments`` is spliced in as raw JSON text."""
    head = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call"})
    body = head[:-1] + ', "params": {"name": ' + json.dumps(name)
    body += ', "arguments": ' + arguments_json + "}}"
    return body.encode()


def _outcome_from_message(message: dict[str, Any], elapsed: float) -> Outcome:
    if "error" in message:
        err = message["error"] or {}
        return Outcome("rpc_error", {"rpc": err}, True, str(err.get("message", "")), elapsed)
    result = message.get("result") or {}
    structured = result.get("structuredContent")
    texts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
    if not structured and texts:
        try:
            structured = json.loads(texts[0])
        except ValueError:
            structured = {"text": texts[0]}
    return Outcome("result", dict(structured or {}), bool(result.get("isError")), "", elapsed)


class RawStdio(RawRpc):
    """``stream-mcp serve`` over stdio, spoken to line by line (legacy handshake)."""

    def __init__(self, process: anyio.abc.Process, transcript: Transcript) -> None:
        self.process = process
        self.transcript = transcript
        self.pending: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self.write_lock = anyio.Lock()

    async def reader(self) -> None:
        buffer = b""
        assert self.process.stdout is not None
        async for chunk in self.process.stdout:
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                waiter = self.pending.get(message.get("id")) if isinstance(message, dict) else None
                if waiter is not None:
                    waiter[1].append(message)
                    waiter[0].set()

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        async with self.write_lock:
            await self.process.stdin.send(data + b"\n")

    async def request(self, request_id: int, data: bytes, timeout: float) -> dict[str, Any] | None:
        event: anyio.Event = anyio.Event()
        box: list[dict[str, Any]] = []
        self.pending[request_id] = (event, box)
        try:
            with anyio.move_on_after(timeout):
                await self.send(data)
                await event.wait()
            return box[0] if box else None
        finally:
            self.pending.pop(request_id, None)

    async def initialize(self) -> None:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw-security-client", "version": "0"},
            },
        }
        answer = await self.request(0, json.dumps(init).encode(), 20)
        assert answer and "result" in answer, f"raw initialize failed: {answer}"
        await self.send(
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
        )

    async def call_raw(self, body_for_id: Callable[[int], bytes], timeout: float) -> Outcome:
        request_id = next(self.tool_ids)
        started = time.monotonic()
        message = await self.request(request_id, body_for_id(request_id), timeout)
        elapsed = time.monotonic() - started
        if message is None:
            return Outcome("timeout", message=f"no answer in {timeout}s", elapsed=elapsed)
        outcome = _outcome_from_message(message, elapsed)
        _record_raw(self.transcript, outcome)
        return outcome


class RawHttp(RawRpc):
    """Streamable HTTP with hand-made bodies (legacy handshake, one MCP session)."""

    def __init__(self, http: httpx2.AsyncClient, url: str, transcript: Transcript) -> None:
        self.http = http
        self.url = url
        self.transcript = transcript
        self.session_id: str | None = None

    def _headers(self) -> dict[str, str]:
        headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": "2025-11-25",
        }
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        return headers

    async def _post(self, data: bytes, request_id: int | None) -> tuple[int, dict[str, Any] | None]:
        response = await self.http.post(self.url, content=data, headers=self._headers())
        if self.session_id is None and "mcp-session-id" in response.headers:
            self.session_id = response.headers["mcp-session-id"]
        if request_id is None:
            return response.status_code, None
        text = response.text
        kind = response.headers.get("content-type", "")
        messages: list[Any] = []
        if "event-stream" in kind:
            for line in text.splitlines():
                if line.startswith("data:"):
                    with contextlib.suppress(ValueError):
                        messages.append(json.loads(line[5:].strip()))
        else:
            try:
                messages.append(json.loads(text))
            except ValueError:
                return response.status_code, {"http_body": text[:500]}
        for message in messages:
            if isinstance(message, dict) and message.get("id") == request_id:
                return response.status_code, message
        return response.status_code, {"http_body": text[:500]} if text else None

    async def initialize(self) -> None:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "raw-security-client", "version": "0"},
            },
        }
        status, answer = await self._post(json.dumps(init).encode(), 0)
        assert status == 200 and answer and "result" in answer, f"raw initialize: {status} {answer}"
        await self._post(
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(), None
        )

    async def call_raw(self, body_for_id: Callable[[int], bytes], timeout: float) -> Outcome:
        request_id = next(self.tool_ids)
        started = time.monotonic()
        try:
            with anyio.fail_after(timeout):
                status, message = await self._post(body_for_id(request_id), request_id)
        except TimeoutError:
            return Outcome("timeout", message=f"no answer in {timeout}s", elapsed=timeout)
        except Exception as exc:  # a transport failure is an unanswered request
            return Outcome("exception", message=repr(exc), elapsed=time.monotonic() - started)
        elapsed = time.monotonic() - started
        if message is None or "http_body" in message:
            # An HTTP-level refusal (413, 400 with a JSON-RPC error and id null, ...).
            body = (message or {}).get("http_body", "")
            outcome = Outcome(
                "rpc_error",
                {"rpc": {"http_status": status}},
                True,
                f"HTTP {status}: {body}",
                elapsed,
            )
            _record_raw(self.transcript, outcome)
            return outcome
        outcome = _outcome_from_message(message, elapsed)
        _record_raw(self.transcript, outcome)
        return outcome


def _record_raw(transcript: Transcript, outcome: Outcome) -> None:
    transcript.results.append(
        ("raw", {"payload": outcome.payload, "texts": [outcome.message]}, outcome.is_error)
    )


# --------------------------------------------------------------------------- sessions


@dataclass
class Session:
    """One connected client: an mcp Client (``client``) or a raw one (``raw``)."""

    name: str
    transport: str  # "stdio" | "http"
    mode: str  # "legacy" | "auto" | "raw"
    api_key: str  # Stream api_key of the server behind it, to find its upstream requests
    transcript: Transcript
    client: RecordingClient | None = None
    raw: RawRpc | None = None
    elicitor: Elicitor | None = None


@dataclass
class _Hosted:
    name: str
    factory: Callable[[], AbstractAsyncContextManager[Session]]
    ready: threading.Event = field(default_factory=threading.Event)
    session: Session | None = None
    error: BaseException | None = None
    stop: anyio.Event | None = None
    future: concurrent.futures.Future[Any] | None = None


class Fleet:
    """The portal, the upstream and every server and client session of the test run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.api_secret = "sec-" + secrets.token_urlsafe(30)
        self.canaries = Canaries.make(self.api_secret)
        self.upstream = Upstream(self.canaries)
        self.upstream.start()
        self._portal_cm = start_blocking_portal()
        self.portal: BlockingPortal = self._portal_cm.__enter__()
        self._hosted: dict[str, _Hosted] = {}
        self._specs: dict[str, Callable[[], AbstractAsyncContextManager[Session]]] = {}
        self._http: dict[str, HttpServer] = {}
        self._http_env: dict[str, dict[str, str]] = {}
        self._checked: dict[str, int] = {}
        self._log_scans: dict[Path, tuple[int, list[tuple[str, str]]]] = {}
        self.transcripts: dict[str, Transcript] = {}
        self._lock = threading.RLock()
        self._vault_lock = threading.Lock()
        self.vault_env: dict[str, str] | None = None
        self.keys: dict[str, str] = {}
        self.key_errors: dict[str, str] = {}

    # ---------------------------------------------------------------- environment

    def stdio_env(self, label: str, **extra: str) -> dict[str, str]:
        """A real environment profile, limited to alice, against the loopback upstream."""
        env = server_env(self.api_secret)
        env.update(
            {
                "STREAM_API_KEY": f"key-{label}",
                "STREAM_BASE_URL": self.upstream.url,
                "STREAM_MCP_VAULT_PATH": str(self.tmp / f"no-vault-{label}.json"),
                "STREAM_MCP_PROFILE": "env",
                "STREAM_MCP_DEFAULT_USER": ALLOWED,
                "STREAM_MCP_ALLOWED_USERS": ALLOWED,
                "STREAM_MCP_SERVER_AUTH": "server_only",
                "STREAM_MCP_CONFIRM_TIMEOUT": str(CONFIRM_TIMEOUT),
                "STREAM_MCP_BUDGET_PER_MINUTE": "100000",
                "STREAM_MCP_MAX_RETRIES": "0",
                "STREAM_MCP_READ_TIMEOUT": "5",
                "STREAM_MCP_RESPONSE_TOKEN_CAP": "1500",
                "STREAM_MCP_DATA_DIR": str(self.tmp / "data"),
            }
        )
        env.update(extra)
        return env

    def transcript(self, key: str) -> Transcript:
        with self._lock:
            if key not in self.transcripts:
                self.transcripts[key] = Transcript(self.api_secret)
            return self.transcripts[key]

    # ---------------------------------------------------------------- specs

    def define(self, name: str, factory: Callable[[], AbstractAsyncContextManager[Session]]):
        self._specs[name] = factory

    @property
    def defined(self) -> list[str]:
        return list(self._specs)

    def prestart(self, *names: str) -> None:
        """Start these sessions concurrently (servers boot in parallel)."""
        for name in names:
            self._start(name)

    def _start(self, name: str) -> _Hosted:
        with self._lock:
            hosted = self._hosted.get(name)
            if hosted is not None:
                return hosted
            if name not in self._specs:
                raise KeyError(f"no session spec {name!r}")
            hosted = _Hosted(name, self._specs[name])
            self._hosted[name] = hosted
        hosted.stop = self.portal.call(anyio.Event)
        hosted.future = self.portal.start_task_soon(self._host, hosted)
        return hosted

    async def _host(self, hosted: _Hosted) -> None:
        try:
            async with hosted.factory() as session:
                hosted.session = session
                hosted.ready.set()
                assert hosted.stop is not None
                await hosted.stop.wait()
        except BaseException as exc:  # report it to the test that wanted the session
            hosted.error = exc
            hosted.ready.set()

    def get(self, name: str, timeout: float = 60) -> Session:
        hosted = self._start(name)
        if not hosted.ready.wait(timeout):
            raise TimeoutError(f"session {name} did not start in {timeout}s")
        if hosted.session is None:
            raise RuntimeError(f"session {name} failed to start: {hosted.error!r}")
        return hosted.session

    # ---------------------------------------------------------------- calls

    def call(
        self, session: Session, tool: str, args: dict[str, Any], timeout: float = DEFAULT_TIMEOUT
    ) -> Outcome:
        return self.portal.call(call_tool, session, tool, args, timeout)

    def run(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return self.portal.call(fn, *args)

    def per_session(self, names: Sequence[str], work: Callable[[Session], list[str]]) -> list[str]:
        """Run ``work`` for each session side by side (one thread each); their problems.

        Sessions passed together must reach different servers (different api_keys), so
        each one's upstream requests can still be told apart."""
        sessions = [self.get(name) for name in names]
        assert len({s.api_key for s in sessions}) == len(sessions), "sessions share a server"
        with concurrent.futures.ThreadPoolExecutor(len(sessions)) as pool:
            results = list(pool.map(work, sessions))
        return [
            f"[{s.name}] {p}" for s, found in zip(sessions, results, strict=True) for p in found
        ]

    # ---------------------------------------------------------------- teardown

    def close(self) -> list[str]:
        """Stop every session and server; returns leak-check failures per transcript."""
        for hosted in self._hosted.values():
            if hosted.stop is not None:
                self.portal.call(hosted.stop.set)
        futures = [h.future for h in self._hosted.values() if h.future is not None]
        concurrent.futures.wait(futures, timeout=20)
        # A session that would not close must not hide the leak check.
        with contextlib.suppress(BaseException):
            self._portal_cm.__exit__(None, None, None)
        for server in self._http.values():
            server.stop()
        self.upstream.stop()
        return self.leak_problems()

    def leak_problems(self) -> list[str]:
        """Every transcript: ``Transcript.assert_no_leaks`` plus the canary check."""
        problems: list[str] = []
        for key, transcript in list(self.transcripts.items()):
            # Incremental: results already checked (by an earlier call) are not checked again.
            done = self._checked.get(key, 0)
            fresh = transcript.results[done:]
            if not fresh:
                continue
            self._checked[key] = done + len(fresh)
            view = Transcript(transcript.api_secret, list(fresh), transcript.log_files)
            try:
                view.assert_results_hold_no_leak()
            except AssertionError as exc:
                problems.append(f"{key}: {exc}")
            results = [r for r in fresh if r[0] != "issue_user_token"]
            text = json.dumps([recorded for _, recorded, _ in results])
            if self.canaries.leaks(text, with_auth=False):  # find the first culprit, if any
                for tool, recorded, _ in results:
                    found = self.canaries.leaks(json.dumps(recorded), with_auth=False)
                    if found:
                        problems.append(f"{key}: {tool} result leaks {found}")
                        break
            if not any(p.exists() and p.stat().st_size for p in transcript.log_files):
                problems.append(f"{key}: no server log captured")
            log_problems, found = [], []
            for path in transcript.log_files:
                for problem, name in self._scan_log(path):
                    if problem and problem not in log_problems:
                        log_problems.append(problem)
                    if name and name not in found:
                        found.append(name)
            problems += [f"{key}: {problem}" for problem in log_problems]
            if found:
                problems.append(f"{key}: server log leaks {found}")
        return problems

    def _scan_log(self, path: Path) -> list[tuple[str, str]]:
        """What one server log leaks: (``Transcript.assert_no_leaks``'s problem, "") and
        ("", canary name) pairs. Several transcripts share a log (one per HTTP server) and
        logs grow to megabytes, so each is read once: later calls scan only the lines
        appended since (a last line without its newline yet is scanned again next time)."""
        offset, found = self._log_scans.get(path, (0, []))
        if path.exists():
            with path.open("rb") as log:
                log.seek(offset)
                data = log.read()
            text = data.decode(errors="replace")
            scanned = [(problem, "") for problem in log_leaks(self.api_secret, text)]
            scanned += [("", name) for name in self.canaries.leaks(text, with_auth=False)]
            found = found + [item for item in scanned if item not in found]
            offset += data.rfind(b"\n") + 1
        self._log_scans[path] = (offset, found)
        return found

    # ---------------------------------------------------------------- http servers

    def define_http_server(self, name: str, **env_extra: str) -> None:
        self._http_env[name] = env_extra

    def http_server(self, name: str) -> HttpServer:
        self.ensure_vault()
        with self._lock:
            server = self._http.get(name)
            if server is None:
                server = HttpServer(self, name, self._http_env.get(name, {}))
                self._http[name] = server
                server.start()
        return server

    def ensure_vault(self) -> dict[str, str]:
        """A vault holding only HTTP API keys for the environment profile ``env``."""
        with self._vault_lock:
            if self.vault_env is not None:
                return self.vault_env
            vault_env = {
                "STREAM_MCP_VAULT_PATH": str(self.tmp / "vault.json"),
                "STREAM_MCP_VAULT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            }
            done = cli("vault", "init", env=vault_env)
            assert done.returncode == 0, done.stderr
            grants = {
                "alice": ["--user", ALLOWED],
                "alice-wide": ["--user", ALLOWED, "--app-wide"],
                "star": ["--user", "*"],
            }
            for key_name, flags in grants.items():
                done = cli("vault", "add-key", key_name, "--profile", "env", *flags, env=vault_env)
                if done.returncode == 0:
                    self.keys[key_name] = done.stdout.strip().splitlines()[-1].strip()
                else:
                    self.key_errors[key_name] = done.stderr.strip()[-300:]
            self.vault_env = vault_env
            return vault_env


class HttpServer:
    """``stream-mcp serve --transport http`` on the environment profile ``env``."""

    def __init__(self, fleet: Fleet, name: str, env_extra: dict[str, str]) -> None:
        self.fleet = fleet
        self.name = name
        self.env_extra = env_extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.api_key = f"key-{name}"
        self.transcript = fleet.transcript(name)
        self.process: subprocess.Popen[bytes] | None = None
        self._errlog: Any = None

    def start(self) -> None:
        vault_env = self.fleet.ensure_vault()
        log_path = self.fleet.tmp / f"{self.name}.log"
        self.transcript.log_files.append(log_path)
        env = {
            **os.environ,
            **self.fleet.stdio_env(self.name),
            # The profile allows anyone; each API key narrows it (alice, alice-wide, star).
            "STREAM_MCP_ALLOWED_USERS": "*",
            **vault_env,
            **self.env_extra,
        }
        self._errlog = log_path.open("w")
        self.process = subprocess.Popen(
            forkserver.command("serve", "--transport", "http", "--port", str(self.port)),
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=self._errlog,
        )

    def wait(self) -> None:
        assert self.process is not None
        wait_for_port(self.port, self.process, timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._errlog is not None:
            self._errlog.close()


# --------------------------------------------------------------------------- factories


def stdio_factory(
    fleet: Fleet,
    name: str,
    mode: str,
    *,
    elicit: bool,
    serve_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Callable[[], AbstractAsyncContextManager[Session]]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[Session]:
        transcript = fleet.transcript(name)
        log_path = fleet.tmp / f"{name}.log"
        transcript.log_files.append(log_path)
        server_vars = fleet.stdio_env(name, **(env or {}))
        params = server_params("serve", *serve_args, env=server_vars)
        elicitor = Elicitor() if elicit else None
        with log_path.open("w") as errlog:
            async with Client(
                stdio_client(params, errlog=errlog),
                mode=mode,
                elicitation_callback=elicitor,
                cache=None,
            ) as client:
                yield Session(
                    name,
                    "stdio",
                    mode,
                    server_vars["STREAM_API_KEY"],
                    transcript,
                    client=RecordingClient(client, transcript),
                    elicitor=elicitor,
                )

    return factory


def http_factory(
    fleet: Fleet, name: str, server_name: str, key_name: str, mode: str, *, elicit: bool
) -> Callable[[], AbstractAsyncContextManager[Session]]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[Session]:
        server = await anyio.to_thread.run_sync(fleet.http_server, server_name)
        await anyio.to_thread.run_sync(server.wait)
        if key_name not in fleet.keys:
            raise RuntimeError(
                f"API key {key_name!r} could not be made: {fleet.key_errors.get(key_name)}"
            )
        headers = {"Authorization": f"Bearer {fleet.keys[key_name]}"}
        elicitor = Elicitor() if elicit else None
        async with (
            httpx2.AsyncClient(verify=TLS, headers=headers, timeout=60) as http,
            Client(
                streamable_http_client(server.url, http_client=http),
                mode=mode,
                elicitation_callback=elicitor,
                cache=None,
            ) as client,
        ):
            yield Session(
                name,
                "http",
                mode,
                server.api_key,
                server.transcript,
                client=RecordingClient(client, server.transcript),
                elicitor=elicitor,
            )

    return factory


def raw_stdio_factory(
    fleet: Fleet, name: str, env: dict[str, str] | None = None
) -> Callable[[], AbstractAsyncContextManager[Session]]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[Session]:
        transcript = fleet.transcript(name)
        log_path = fleet.tmp / f"{name}.log"
        transcript.log_files.append(log_path)
        server_vars = fleet.stdio_env(name, **(env or {}))
        with log_path.open("w") as errlog:
            process = await anyio.open_process(
                forkserver.command("serve"),
                env=server_vars,
                cwd=str(ROOT),
                stderr=errlog,
            )
            async with process, anyio.create_task_group() as tg:
                raw = RawStdio(process, transcript)
                tg.start_soon(raw.reader)
                try:
                    await raw.initialize()
                    yield Session(
                        name, "stdio", "raw", server_vars["STREAM_API_KEY"], transcript, raw=raw
                    )
                finally:
                    process.terminate()
                    tg.cancel_scope.cancel()

    return factory


def raw_http_factory(
    fleet: Fleet, name: str, server_name: str, key_name: str
) -> Callable[[], AbstractAsyncContextManager[Session]]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[Session]:
        server = await anyio.to_thread.run_sync(fleet.http_server, server_name)
        await anyio.to_thread.run_sync(server.wait)
        if key_name not in fleet.keys:
            raise RuntimeError(f"API key {key_name!r} could not be made")
        headers = {"Authorization": f"Bearer {fleet.keys[key_name]}"}
        async with httpx2.AsyncClient(verify=TLS, headers=headers, timeout=60) as http:
            raw = RawHttp(http, server.url, server.transcript)
            await raw.initialize()
            yield Session(name, "http", "raw", server.api_key, server.transcript, raw=raw)

    return factory


# --------------------------------------------------------------------------- calling


async def call_tool(session: Session, tool: str, args: dict[str, Any], timeout: float) -> Outcome:
    """One tools/call through the session's mcp Client, bounded by ``anyio.fail_after``."""
    assert session.client is not None, f"{session.name} is a raw session"
    started = time.monotonic()
    try:
        with anyio.fail_after(timeout):
            result = await session.client.client.call_tool(tool, args)
    except TimeoutError:
        return Outcome("timeout", message=f"no answer in {timeout}s", elapsed=timeout)
    except MCPError as exc:
        error = getattr(exc, "error", None)
        message = getattr(error, "message", None) or str(exc)
        return Outcome(
            "rpc_error",
            {"rpc": {"code": getattr(error, "code", None), "message": message}},
            True,
            message,
            time.monotonic() - started,
        )
    except Exception as exc:  # the client could not send it, or the transport broke
        return Outcome("exception", message=repr(exc), elapsed=time.monotonic() - started)
    payload = session.transcript.record(tool, result)
    return Outcome("result", payload, bool(result.is_error), "", time.monotonic() - started)


async def call_raw(
    session: Session, body_for_id: Callable[[int], bytes], timeout: float
) -> Outcome:
    assert session.raw is not None
    return await session.raw.call_raw(body_for_id, timeout)
