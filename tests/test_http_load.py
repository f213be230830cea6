"""20 HTTP sessions × 20 concurrent SendMessage calls on the embedded sandbox: none fails.

The embedded sandbox serves from its own thread and event loop, so a burst on the MCP side
cannot starve it (and the other way round).
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import TLS, http_server_process

SESSIONS = 20
CALLS = 20

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    keys = {"load": ("sandbox", ("*",))}
    with http_server_process(tmp_path_factory.mktemp("load"), keys) as running:
        yield running
    running["transcript"].assert_no_leaks()


async def _session(url: str, key: str, index: int, outcomes: list[str]) -> None:
    user = f"load-user-{index}"
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(verify=TLS, headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        made = await client.call_tool(
            "execute_operation",
            {
                "operation_id": "GetOrCreateChannel",
                "arguments": {"type": "messaging", "id": f"load-{index}"},
                "as_user": user,
            },
        )
        assert not made.is_error, made.structured_content

        async def send(n: int) -> None:
            result = await client.call_tool(
                "execute_operation",
                {
                    "operation_id": "SendMessage",
                    "arguments": {
                        "type": "messaging",
                        "id": f"load-{index}",
                        "message": {"text": f"message {n} from {user}"},
                    },
                    "as_user": user,
                    "select": "message.id",
                },
            )
            outcomes.append("ok" if not result.is_error else str(result.structured_content))

        async with anyio.create_task_group() as group:
            for n in range(CALLS):
                group.start_soon(send, n)


async def test_twenty_sessions_of_twenty_concurrent_sends_all_succeed(server) -> None:
    outcomes: list[str] = []
    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            for index in range(SESSIONS):
                group.start_soon(_session, server["url"], server["keys"]["load"], index, outcomes)
    failures = [o for o in outcomes if o != "ok"]
    assert len(outcomes) == SESSIONS * CALLS
    assert failures == [], failures[:3]
