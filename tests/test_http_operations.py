"""Operating the HTTP server: health and readiness probes, and a graceful SIGTERM."""

from __future__ import annotations

import signal
import time

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import TLS, http_server_process


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_probes_and_a_graceful_sigterm(tmp_path, mode):
    keys = {"ops": ("sandbox", ("*",))}
    with http_server_process(tmp_path, keys) as server:
        base = f"http://127.0.0.1:{server['port']}"
        async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
            health = await http.get(f"{base}/healthz")
            assert health.status_code == 200 and health.json() == {"status": "ok"}
            ready = await http.get(f"{base}/readyz")
            assert ready.status_code == 200 and ready.json()["checked"] == ["budget", "event_store"]

        headers = {"Authorization": f"Bearer {server['keys']['ops']}"}
        outcome: dict = {}
        transport = streamable_http_client
        try:
            async with (
                httpx2.AsyncClient(verify=TLS, headers=headers, timeout=60) as http,
                Client(transport(server["url"], http_client=http), mode=mode) as client,
            ):
                await client.list_tools()  # cached, so the call needs no new request

                async def long_poll() -> None:
                    started = time.monotonic()
                    result = await client.call_tool("wait_for_events", {"timeout_seconds": 50})
                    outcome["seconds"] = time.monotonic() - started
                    outcome["error"] = result.is_error

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(long_poll)
                    await anyio.sleep(1.0)  # the call is in flight
                    server["process"].send_signal(signal.SIGTERM)
        except* httpx2.ConnectError:
            pass  # closing the client after the server went away
        # The in-flight call was answered (not cut off), well before its 50 s, and the
        # process then exited cleanly, after closing its stores.
        assert outcome["error"] is False and outcome["seconds"] < 10
        assert server["process"].wait(timeout=30) == 0
        async with httpx2.AsyncClient(verify=TLS, timeout=5) as http:
            try:
                await http.get(f"{base}/healthz")
            except httpx2.ConnectError:
                pass
            else:
                raise AssertionError("the server still answers after its shutdown")
