"""Webhook intake and wait_for_events over real sockets, with the real MCP client.

``serve --transport http --sandbox`` runs as a subprocess; webhooks are posted the way Stream
posts them (signed with the app secret), and agents read them back through MCP, on both
protocol versions, within their key's scope.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e import TLS, RecordingClient, http_server_process

API_KEY = "e2e-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("events-http")
    keys = {"ops": ("sandbox", ("*",)), "alice-only": ("sandbox", ("alice",))}
    with http_server_process(tmp, keys) as running:
        running["hook"] = f"http://127.0.0.1:{running['port']}/webhooks/stream"
        yield running
        transcript = running["transcript"]
    transcript.assert_no_leaks()


@asynccontextmanager
async def connect(server: dict, key: str, mode: str = "auto"):
    headers = {"Authorization": f"Bearer {server['keys'][key]}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=90, verify=TLS) as http,
        Client(streamable_http_client(server["url"], http_client=http), mode=mode) as client,
    ):
        yield RecordingClient(client, server["transcript"])


def signed(server: dict, body: bytes, *, secret: str | None = None, **headers: str) -> dict:
    key = (secret or server["transcript"].api_secret).encode()
    out = {
        "content-type": "application/json",
        "x-api-key": API_KEY,
        "x-signature": hmac.new(key, body, hashlib.sha256).hexdigest(),
        "x-webhook-id": str(uuid.uuid4()),
    }
    out.update({k.replace("_", "-"): v for k, v in headers.items()})
    return out


def message_new(cid: str, mid: str, user: str, text: str = "hi") -> bytes:
    kind, ident = cid.split(":")
    event: dict[str, Any] = {
        "type": "message.new",
        "cid": cid,
        "channel_type": kind,
        "channel_id": ident,
        "created_at": "2026-12-02T10:00:00.000001Z",
        "user": {"id": user},
        "message": {"id": mid, "text": text, "user": {"id": user}, "cid": cid},
    }
    return json.dumps(event).encode()


async def post(server: dict, body: bytes, headers: dict) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10, verify=TLS) as http:
        return await http.post(server["hook"], content=body, headers=headers)


async def test_signed_webhooks_are_stored_once_and_bad_ones_refused(server):
    body = message_new("messaging:intake", "intake-1", "alice")
    headers = signed(server, body)
    first = await post(server, body, headers)
    assert first.status_code == 200 and first.json() == {"stored": 1, "duplicates": 0}
    # A redelivery (same X-Webhook-Id) answers 200 and stores nothing.
    again = await post(server, body, headers)
    assert again.status_code == 200 and again.json()["stored"] == 0
    # The same event under a new delivery id is recognised by its content.
    fresh = await post(server, body, signed(server, body))
    assert fresh.status_code == 200 and fresh.json() == {"stored": 0, "duplicates": 1}

    assert (await post(server, body, signed(server, body, secret="wrong"))).status_code == 401
    unsigned = signed(server, body)
    del unsigned["x-signature"]
    assert (await post(server, body, unsigned)).status_code == 401
    assert (await post(server, body, signed(server, body, x_api_key="other"))).status_code == 401
    tampered = body.replace(b"hi", b"HI")
    assert (await post(server, tampered, signed(server, body))).status_code == 401
    junk = b"not json"
    assert (await post(server, junk, signed(server, junk))).status_code == 400
    big = b'{"type":"message.new","pad":"' + b"x" * (1 << 20) + b'"}'
    assert (await post(server, big, signed(server, big))).status_code == 413
    array = b"[1, 2]"
    assert (await post(server, array, signed(server, array))).status_code == 400
    # The MCP endpoint's bearer check does not apply to the webhook path, nor the reverse.
    async with httpx2.AsyncClient(timeout=10, verify=TLS) as http:
        assert (await http.post(server["url"], json={})).status_code == 401


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_webhook_reaches_wait_for_events(server, mode):
    async with connect(server, "ops", mode) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        assert tools[-1] == "wait_for_events"
        start, error = await client.call("wait_for_events", {"timeout_seconds": 0})
        assert not error and start["events"] == []
        body = message_new("messaging:wait", f"wait-{mode}", "bob", text=f"ping {mode}")
        assert (await post(server, body, signed(server, body))).status_code == 200
        got, error = await client.call(
            "wait_for_events", {"after": start["next"], "timeout_seconds": 10}
        )
        assert not error, got
        assert [e["message"]["text"] for e in got["events"]] == [f"ping {mode}"]
        event = got["events"][0]
        assert event["type"] == "message.new" and event["source"] == "webhook"
        assert event["cid"] == "messaging:wait" and event["user_id"] == "bob"
        # Nothing newer: a short wait returns empty with the same cursor.
        empty, _ = await client.call(
            "wait_for_events", {"after": got["next"], "timeout_seconds": 0.2}
        )
        assert empty == {"events": [], "next": got["next"]}
        full, _ = await client.call(
            "wait_for_events", {"after": start["next"], "timeout_seconds": 0, "detail": "full"}
        )
        assert full["events"][0]["message"]["id"] == f"wait-{mode}"


async def test_a_key_limited_to_alice_sees_only_her_channels(server):
    async with connect(server, "ops") as ops:
        users = {u: {"id": u} for u in ("alice", "bob", "carol")}
        _, error = await ops.call(
            "execute_operation",
            {"operation_id": "UpdateUsers", "arguments": {"users": users}, "confirm": True},
        )
        assert not error, _
        for cid, members in (("scope-a", ["alice", "bob"]), ("scope-b", ["bob", "carol"])):
            _, error = await ops.call(
                "execute_operation",
                {
                    "operation_id": "GetOrCreateChannel",
                    "arguments": {
                        "type": "messaging",
                        "id": cid,
                        "data": {"members": members},
                    },
                    "as_user": "bob",
                },
            )
            assert not error, _["message"]
    async with connect(server, "alice-only") as alice:
        start, _ = await alice.call("wait_for_events", {"timeout_seconds": 0})
        for cid, mid in (("messaging:scope-b", "secret-b"), ("messaging:scope-a", "open-a")):
            body = message_new(cid, mid, "bob", text=mid)
            assert (await post(server, body, signed(server, body))).status_code == 200
        # Only messages: the set-up's own channel and member webhooks may land after ``start``.
        got, error = await alice.call(
            "wait_for_events",
            {"after": start["next"], "types": ["message.new"], "timeout_seconds": 5},
        )
        assert not error, got
        assert [e["message"]["id"] for e in got["events"]] == ["open-a"]
        # Asking for the other channel by name does not widen the scope.
        other, _ = await alice.call(
            "wait_for_events",
            {"after": start["next"], "channels": ["messaging:scope-b"], "timeout_seconds": 0},
        )
        assert other["events"] == []
        read = await alice.client.read_resource("stream://events")
        assert "secret-b" not in read.contents[0].text


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "1" * 40}, "after"),
        ({"timeout_seconds": 61}, "timeout_seconds"),
        ({"timeout_seconds": "5"}, "timeout_seconds"),
        ({"limit": 0}, "limit"),
        ({"types": ["message.new"] * 51}, "types"),
        ({"types": [{"$ne": 1}]}, "types"),
        ({"channels": ["messaging:a b"]}, "channels"),
        ({"detail": "raw"}, "detail"),
    ],
)
async def test_bad_wait_arguments_name_the_field(server, arguments, field):
    async with connect(server, "ops") as client:
        payload, error = await client.call("wait_for_events", arguments)
        assert error and payload["field"] == field, payload


async def test_listeners_hear_of_new_events_on_2026_07_28(server):
    async with connect(server, "ops", "auto") as client:
        async with client.client.listen(resource_subscriptions=["stream://events"]) as sub:
            body = message_new("messaging:listen", "listen-1", "bob")
            assert (await post(server, body, signed(server, body))).status_code == 200
            with anyio.fail_after(10):
                event = await sub.__anext__()
        assert getattr(event, "uri", None) == "stream://events"


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_subscribers_hear_of_new_events_on_2025_11_25(server):
    heard = anyio.Event()

    async def on_message(message) -> None:
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/resources/updated":
            heard.set()

    headers = {"Authorization": f"Bearer {server['keys']['ops']}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30, verify=TLS) as http,
        Client(
            streamable_http_client(server["url"], http_client=http),
            mode="legacy",
            message_handler=on_message,
        ) as client,
    ):
        await client.subscribe_resource("stream://events")
        body = message_new("messaging:subscribe", "subscribe-1", "bob")
        assert (await post(server, body, signed(server, body))).status_code == 200
        with anyio.fail_after(10):
            await heard.wait()


async def test_a_message_sent_through_mcp_arrives_by_webhook_alone(tmp_path_factory):
    """With Sync off, the sandbox's own signed webhook is the only way in."""
    import os

    tmp = tmp_path_factory.mktemp("webhook-only")
    os.environ["STREAM_MCP_EVENTS_SYNC_INTERVAL"] = "0"
    try:
        with http_server_process(tmp, {"ops": ("sandbox", ("*",))}) as server:
            async with connect(server, "ops") as client:
                users = {u: {"id": u} for u in ("alice", "bob")}
                _, error = await client.call(
                    "execute_operation",
                    {"operation_id": "UpdateUsers", "arguments": {"users": users}, "confirm": True},
                )
                assert not error
                _, error = await client.call(
                    "execute_operation",
                    {
                        "operation_id": "GetOrCreateChannel",
                        "arguments": {
                            "type": "messaging",
                            "id": "hooked",
                            "data": {"members": ["alice", "bob"]},
                        },
                        "as_user": "alice",
                    },
                )
                assert not error
                start, _ = await client.call("wait_for_events", {"timeout_seconds": 0})
                _, error = await client.call(
                    "execute_operation",
                    {
                        "operation_id": "SendMessage",
                        "arguments": {
                            "type": "messaging",
                            "id": "hooked",
                            "message": {"text": "by webhook"},
                        },
                        "as_user": "bob",
                    },
                )
                assert not error
                got, error = await client.call(
                    "wait_for_events",
                    {"after": start["next"], "types": ["message.new"], "timeout_seconds": 10},
                )
                assert not error, got
                assert [(e["message"]["text"], e["source"]) for e in got["events"]] == [
                    ("by webhook", "webhook")
                ]
            server["transcript"].assert_no_leaks()
    finally:
        os.environ.pop("STREAM_MCP_EVENTS_SYNC_INTERVAL", None)


async def test_a_member_added_mid_read_sees_what_follows(server):
    """Scope follows membership as the feed learns it, within one answer too: a wait that
    already found the channel closed to alice sees it open once she is added."""
    cid = "messaging:joined-later"
    async with connect(server, "alice-only") as alice:
        start, _ = await alice.call("wait_for_events", {"timeout_seconds": 0})
        before = message_new(cid, "before-join", "bob", text="before")
        joined = json.dumps(
            {
                "type": "member.added",
                "cid": cid,
                "created_at": "2026-12-02T10:00:01.000001Z",
                "user": {"id": "bob"},
                "member": {"user_id": "alice", "user": {"id": "alice"}},
            }
        ).encode()
        after = message_new(cid, "after-join", "bob", text="after")
        seen: list[str] = []

        async def listen() -> None:
            cursor = start["next"]
            with anyio.fail_after(15):
                while "after-join" not in seen:
                    got, error = await alice.call(
                        "wait_for_events", {"after": cursor, "timeout_seconds": 10}
                    )
                    assert not error, got
                    seen.extend(e.get("message", {}).get("id") or e["type"] for e in got["events"])
                    cursor = got["next"]

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(listen)
            # The wait scans "before" while the channel is closed to alice, then parks.
            assert (await post(server, before, signed(server, before))).status_code == 200
            await anyio.sleep(1.5)  # room for the first scan on a loaded machine
            for body in (joined, after):
                assert (await post(server, body, signed(server, body))).status_code == 200
        assert "before-join" not in seen
        assert "member.added" in seen and "after-join" in seen
