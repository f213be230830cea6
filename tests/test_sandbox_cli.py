"""``stream-mcp sandbox`` as a subprocess: it prints its URL and key, serves, and stops.

The process comes from the test run's fork server (tests/forkserver.py): a real process of
its own, with its own pipes, environment and signals, minus the import of a fresh
interpreter, which this file does not test (tests/test_startup.py does)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2

from tests import forkserver
from tests.sandbox_helpers import auth_headers, server_token

STARTUP_SECONDS = 20.0


def _reader(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)


@contextmanager
def running_sandbox(env: dict[str, str]) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    process = subprocess.Popen(
        forkserver.command("sandbox", "--port", "0", "--db", ":memory:"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    printed: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while "# serving" not in printed:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "the sandbox did not announce itself in time"
            line = lines.get(timeout=remaining).rstrip("\n")
            if line.startswith("# stream-mcp sandbox serving"):
                printed["# serving"] = line
            elif "=" in line and not line.startswith("#"):
                name, _, value = line.partition("=")
                printed[name] = value
        yield printed, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAM_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_cli_generates_credentials_serves_and_stops() -> None:
    with running_sandbox(_clean_env()) as (printed, process):
        base_url = printed["STREAM_BASE_URL"]
        assert base_url.startswith("http://127.0.0.1:")
        key, secret = printed["STREAM_API_KEY"], printed["STREAM_API_SECRET"]
        response = httpx2.post(
            f"{base_url}/users",
            params={"api_key": key},
            headers=auth_headers(server_token(secret)),
            json={"users": {"cli-user": {"id": "cli-user", "name": "From CLI"}}},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        assert response.json()["users"]["cli-user"]["name"] == "From CLI"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        stderr = process.stderr.read() if process.stderr else ""
        assert secret not in stderr


def test_cli_takes_credentials_from_environment() -> None:
    env = _clean_env()
    env.update({"STREAM_API_KEY": "envkey123456", "STREAM_API_SECRET": "env-secret-" * 5})
    with running_sandbox(env) as (printed, _process):
        assert printed["STREAM_API_KEY"] == "envkey123456"
        assert "STREAM_API_SECRET" not in printed
        response = httpx2.get(
            f"{printed['STREAM_BASE_URL']}/app",
            params={"api_key": "envkey123456"},
            headers=auth_headers(server_token(env["STREAM_API_SECRET"])),
            timeout=10,
        )
        assert response.status_code == 200
