"""The embedded sandbox's server stops when told: open connections, in-flight requests.

``Sandbox.stop`` wakes uvicorn's loop at once instead of on its next tick, closes idle
keep-alive connections, lets a response being written finish, and cancels one that outlives
the grace period; when it returns, the server's thread has ended. These drive a real sandbox
on a loopback socket. How fast the stop is, benchmarks/bench_sandbox_stop.py measures.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox import server as sandbox_server
from tests.sandbox_helpers import auth_headers, server_token


@contextmanager
def serving(sandbox: Sandbox) -> Iterator[threading.Thread]:
    """Start ``sandbox``; yields its server thread, which must have ended once it stops."""
    before = set(threading.enumerate())
    sandbox.start()
    (thread,) = [
        t for t in threading.enumerate() if t not in before and t.name == "stream-mcp-sandbox"
    ]
    yield thread
    assert not sandbox.running
    assert not thread.is_alive(), "stop() returned with the server still running"


def _get_app(base_url: str, sandbox: Sandbox, http: httpx2.Client) -> httpx2.Response:
    return http.get(
        f"{base_url}/app",
        params={"api_key": sandbox.api_key},
        headers=auth_headers(server_token(sandbox.api_secret)),
    )


def _refuses_connections(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


def _slow_route(sandbox: Sandbox, release: asyncio.Event | None) -> threading.Event:
    """A route that answers after 0.3 s, or (with ``release``, never set) only if cancelled;
    the event returned is set once a request has reached it."""
    entered = threading.Event()

    async def slow(request: Request) -> JSONResponse:
        entered.set()
        if release is None:
            await asyncio.sleep(0.3)
        else:
            await release.wait()
        return JSONResponse({"done": True})

    # Ahead of the sandbox's catch-all route, which would answer it as a Stream path.
    sandbox.app.router.routes.insert(0, Route("/slow-for-test", slow))
    return entered


def _ask_in_background(url: str) -> tuple[threading.Thread, list[object]]:
    """GET ``url`` in a thread; the list receives the response or the transport error."""
    answers: list[object] = []

    def ask() -> None:
        try:
            answers.append(httpx2.get(url, timeout=5))
        except httpx2.TransportError as exc:
            answers.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    return asker, answers


def test_an_idle_keep_alive_connection_does_not_hold_up_the_stop() -> None:
    sandbox = Sandbox()
    with serving(sandbox), httpx2.Client(timeout=5) as http:
        base_url = sandbox.base_url
        assert _get_app(base_url, sandbox, http).status_code == 200  # the connection stays open
        sandbox.stop()
        assert _refuses_connections(base_url)
        with pytest.raises(httpx2.TransportError):
            _get_app(base_url, sandbox, http)


def test_a_response_being_written_is_finished_before_the_stop_returns() -> None:
    sandbox = Sandbox()
    entered = _slow_route(sandbox, None)
    with serving(sandbox):
        asker, answers = _ask_in_background(f"{sandbox.base_url}/slow-for-test")
        assert entered.wait(5)
        sandbox.stop()
        asker.join(5)
    assert len(answers) == 1 and isinstance(answers[0], httpx2.Response), answers
    assert answers[0].status_code == 200 and answers[0].json() == {"done": True}


def test_a_request_that_outlives_the_grace_period_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox_server, "STOP_TIMEOUT_SECONDS", 0.2)
    sandbox = Sandbox()
    entered = _slow_route(sandbox, asyncio.Event())
    with serving(sandbox):
        asker, answers = _ask_in_background(f"{sandbox.base_url}/slow-for-test")
        assert entered.wait(5)
        sandbox.stop()  # returns with the server gone, not waiting for a response never made
    asker.join(5)
    assert not asker.is_alive()
    # Cut short: uvicorn answers a cancelled request with a 500, or the connection drops.
    assert len(answers) == 1, answers
    answer = answers[0]
    assert not isinstance(answer, httpx2.Response) or answer.status_code == 500, answer


def test_stopping_before_any_request_and_twice_is_fine() -> None:
    sandbox = Sandbox()
    with serving(sandbox):
        sandbox.stop()
        sandbox.stop()
