"""The embedded sandbox's server stops when told: open connections, in-flight requests.

``Sandbox.stop`` wakes uvicorn's loop at once instead of on its next tick, closes idle
keep-alive connections, lets a response being written finish, and cancels one that outlives
the grace period. These drive a real sandbox on a loopback socket.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox import server as sandbox_server
from tests.sandbox_helpers import auth_headers, server_token


def _get_app(sandbox: Sandbox, http: httpx2.Client) -> httpx2.Response:
    return http.get(
        f"{sandbox.base_url}/app",
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


def test_an_idle_keep_alive_connection_does_not_hold_up_the_stop() -> None:
    sandbox = Sandbox().start()
    with httpx2.Client(timeout=5) as http:
        assert _get_app(sandbox, http).status_code == 200  # the connection stays open
        base_url = sandbox.base_url
        sandbox.stop()
        assert not sandbox.running
        assert _refuses_connections(base_url)
        with pytest.raises(httpx2.TransportError):
            _get_app_at(base_url, sandbox, http)


def _get_app_at(base_url: str, sandbox: Sandbox, http: httpx2.Client) -> httpx2.Response:
    return http.get(
        f"{base_url}/app",
        params={"api_key": sandbox.api_key},
        headers=auth_headers(server_token(sandbox.api_secret)),
    )


def _slow_route(sandbox: Sandbox, entered: threading.Event, release: asyncio.Event | None):
    async def slow(request: Request) -> JSONResponse:
        entered.set()
        if release is None:
            await asyncio.sleep(0.3)
        else:
            await release.wait()  # never set: only cancellation ends it
        return JSONResponse({"done": True})

    # Ahead of the sandbox's catch-all route, which would answer it as a Stream path.
    sandbox.app.router.routes.insert(0, Route("/slow-for-test", slow))


def test_a_response_being_written_is_finished_before_the_stop_returns() -> None:
    sandbox = Sandbox()
    entered = threading.Event()
    _slow_route(sandbox, entered, None)
    sandbox.start()
    answers: list[httpx2.Response | BaseException] = []

    def ask() -> None:
        try:
            answers.append(httpx2.get(f"{sandbox.base_url}/slow-for-test", timeout=5))
        except BaseException as exc:  # recorded for the assertion below
            answers.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    assert entered.wait(5)
    sandbox.stop()
    asker.join(5)
    assert len(answers) == 1 and isinstance(answers[0], httpx2.Response), answers
    assert answers[0].status_code == 200 and answers[0].json() == {"done": True}
    assert not sandbox.running


def test_a_request_that_outlives_the_grace_period_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox_server, "STOP_TIMEOUT_SECONDS", 0.2)
    sandbox = Sandbox()
    entered = threading.Event()
    _slow_route(sandbox, entered, asyncio.Event())
    sandbox.start()
    answers: list[object] = []

    def ask() -> None:
        try:
            answers.append(httpx2.get(f"{sandbox.base_url}/slow-for-test", timeout=5))
        except httpx2.TransportError as exc:
            answers.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    assert entered.wait(5)
    sandbox.stop()
    assert not sandbox.running  # the stop did not wait for a response that never comes
    asker.join(5)
    assert not asker.is_alive()
    # Cut short: uvicorn answers a cancelled request with a 500, or the connection drops.
    assert len(answers) == 1, answers
    answer = answers[0]
    assert not isinstance(answer, httpx2.Response) or answer.status_code == 500, answer


def test_stopping_before_any_request_and_twice_is_fine() -> None:
    sandbox = Sandbox().start()
    sandbox.stop()
    sandbox.stop()
    assert not sandbox.running
