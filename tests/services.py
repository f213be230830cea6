"""External services for the tests (a pytest plugin registered from ``conftest.py``).

Each service is a session-scoped fixture that yields a URL: the one named by its environment
variable if set; otherwise a private server started from its binary on a free loopback port,
in a temp dir, and stopped at the end (each xdist worker starts its own); otherwise the tests
that need it skip, unless ``STREAM_MCP_TEST_REQUIRE_SERVICES=1`` (CI), where they fail.

To add a service, write a ``start_<name>(binary, directory) -> LocalServer`` and a fixture
that calls :func:`service_url` with it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_ENV = "STREAM_MCP_TEST_REQUIRE_SERVICES"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it


def unavailable(service: str, reason: str) -> NoReturn:
    """Skip the test, or fail it where the services are required."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{service} is required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"{service}: {reason}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalServer:
    """A service process this session started; :meth:`stop` ends it (and only it)."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        """End it abruptly, as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


def start_process(
    name: str,
    command: list[str],
    url: str,
    log: Path,
    ready: Callable[[], bool],
) -> LocalServer | None:
    """Start a server and wait until ``ready``; None if it exited first (port taken)."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = LocalServer(name, process, url, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        if ready():
            return server
        time.sleep(0.02)
    server.stop()
    return None


# --------------------------------------------------------------------------- redis


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(binary: str, directory: Path) -> LocalServer:
    """A private redis-server on loopback, persisting nothing."""
    for _ in range(START_ATTEMPTS):
        port = free_port()
        command = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        server = start_process(
            "redis-server",
            command,
            f"redis://127.0.0.1:{port}/0",
            directory / "redis.log",
            lambda port=port: redis_answers(port),
        )
        if server is not None:
            return server
    unavailable("redis-server", f"it did not start; see {directory / 'redis.log'}")


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server", "it is not installed (apt-get install redis-server)")
    return binary


# --------------------------------------------------------------------------- fixtures


def service_url(
    env_var: str,
    find_binary: Callable[[], str],
    start: Callable[[str, Path], LocalServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The URL in ``env_var``, or a private server for this session."""
    url = os.environ.get(env_var)
    if url:
        yield url
        return
    binary = find_binary()
    server = start(binary, tmp_path_factory.mktemp(Path(binary).name))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis shared by the session's tests (each uses its own key namespace)."""
    yield from service_url("STREAM_MCP_TEST_REDIS_URL", redis_binary, start_redis, tmp_path_factory)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[LocalServer]:
    """A Redis for one test alone, which it may kill."""
    server = start_redis(redis_binary(), tmp_path)
    try:
        yield server
    finally:
        server.stop()
