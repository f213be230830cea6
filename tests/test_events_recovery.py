"""Lost webhooks are recovered by Sync: every message reaches the feed exactly once.

``serve --transport http --sandbox`` with the sandbox dropping 30% of its webhook deliveries
(as Stream may: at most once, never retried) and a one-second Sync interval. 200 messages go
to 10 channels; within one Sync interval of the last send, the feed holds each exactly once,
whichever way it arrived, and an agent limited to alice sees only the channels she is in.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from contextlib import asynccontextmanager

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import TLS, http_server_process

MESSAGES = 200
CHANNELS = 10


@asynccontextmanager
async def connect(server: dict, key: str):
    headers = {"Authorization": f"Bearer {server['keys'][key]}"}
    async with (
        httpx2.AsyncClient(verify=TLS, headers=headers, timeout=60) as http,
        Client(streamable_http_client(server["url"], http_client=http)) as client,
    ):
        yield client


async def call(client: Client, tool: str, arguments: dict) -> dict:
    result = await client.call_tool(tool, arguments)
    payload = json.loads(result.content[0].text)
    assert not result.is_error, payload
    return payload


async def execute(client: Client, operation: str, arguments: dict, **extra) -> dict:
    return await call(
        client, "execute_operation", {"operation_id": operation, "arguments": arguments, **extra}
    )


async def drain(client: Client, cursor: str) -> tuple[list[dict], str]:
    events: list[dict] = []
    while True:
        got = await call(
            client,
            "wait_for_events",
            {"after": cursor, "types": ["message.new"], "timeout_seconds": 0, "limit": 100},
        )
        events += got["events"]
        if got["next"] == cursor:
            return events, cursor
        cursor = got["next"]


@pytest.fixture(scope="module")
def lossy_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lossy")
    keys = {"ops": ("sandbox", ("*",)), "alice-only": ("sandbox", ("alice",))}
    saved = os.environ.get("STREAM_MCP_EVENTS_SYNC_INTERVAL")
    os.environ["STREAM_MCP_EVENTS_SYNC_INTERVAL"] = "1"
    try:
        with http_server_process(tmp, keys, "--sandbox-drop-webhooks", "0.3") as server:
            yield server
    finally:
        if saved is None:
            os.environ.pop("STREAM_MCP_EVENTS_SYNC_INTERVAL", None)
        else:
            os.environ["STREAM_MCP_EVENTS_SYNC_INTERVAL"] = saved


async def test_every_message_arrives_exactly_once_despite_lost_webhooks(lossy_server):
    async with connect(lossy_server, "ops") as ops:
        # One sender per channel: Stream (and the sandbox) allow 60 sends a minute per user.
        senders = [f"sender-{i}" for i in range(CHANNELS)]
        users = {u: {"id": u} for u in ("alice", "carol", *senders)}
        await execute(ops, "UpdateUsers", {"users": users}, confirm=True)
        names = [f"lossy-{i}" for i in range(CHANNELS)]
        for i, name in enumerate(names):
            members = [senders[i], "alice" if i % 2 == 0 else "carol"]
            await execute(
                ops,
                "GetOrCreateChannel",
                {"type": "messaging", "id": name, "data": {"members": members}},
                as_user=senders[i],
            )
        start = await call(ops, "wait_for_events", {"timeout_seconds": 0})
        async with connect(lossy_server, "alice-only") as alice:
            alice_start = await call(alice, "wait_for_events", {"timeout_seconds": 0})
            for i in range(MESSAGES):
                await execute(
                    ops,
                    "SendMessage",
                    {"type": "messaging", "id": names[i % CHANNELS], "message": {"text": f"n{i}"}},
                    as_user=senders[i % CHANNELS],
                    select="message.id",
                )
            # Sync fills in what the webhooks lost, one Sync interval (1 s) at most after the
            # sends: read until every message is in, with room for a slow machine.
            sent = {f"n{i}" for i in range(MESSAGES)}
            events, cursor = await drain(ops, start["next"])
            with anyio.fail_after(30):
                while not sent <= {e["message"]["text"] for e in events}:
                    await anyio.sleep(0.1)
                    more, cursor = await drain(ops, cursor)
                    events += more
            texts = Counter(e["message"]["text"] for e in events if e["message"]["text"][0] == "n")
            assert set(texts) == {f"n{i}" for i in range(MESSAGES)}, "a message was lost"
            assert max(texts.values()) == 1, "a message was delivered twice"
            sources = Counter(e["source"] for e in events)
            assert sources["sync"] > 0 and sources["webhook"] > 0, sources

            seen, _ = await drain(alice, alice_start["next"])
            cids = {e["cid"] for e in seen}
            assert cids == {f"messaging:{n}" for i, n in enumerate(names) if i % 2 == 0}
            assert len(seen) == MESSAGES // 2
