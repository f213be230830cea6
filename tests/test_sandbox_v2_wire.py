"""v2's wire format on the sandbox: numeric date-times (nanoseconds) on ``/api/v2/...``,
RFC 3339 strings on v1, converted in one place, and read back by the product as the same
instant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_mcp.execution.timestamps import is_datetime_key, normalise
from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.clock import iso, parse_time
from stream_mcp.sandbox.wire import (
    RESPONSE_KEYS,
    V1,
    V2,
    decode_request,
    encode_response,
    from_number,
    to_nanoseconds,
    version_of,
)
from tests.sandbox_helpers import auth_headers, server_token, uid

# Numeric fields of the v2 spec that are durations, not instants: they stay numbers.
DURATIONS = frozenset({"expiration"})


@given(
    st.datetimes(
        min_value=datetime(1980, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC),
    )
)
def test_nanoseconds_round_trip_exactly(moment: datetime) -> None:
    stamp = iso(moment)
    nanos = to_nanoseconds(stamp)
    assert nanos is not None and nanos % 1000 == 0
    assert from_number(nanos) == stamp
    assert from_number(nanos // 1000) == stamp  # microseconds are told apart by magnitude


def test_units_and_non_instants() -> None:
    expected = "2024-05-01T12:30:00.000000Z"
    for number in (1714566600, 1714566600_000, 1714566600_000_000, 1714566600_000_000_000):
        assert from_number(number) == expected
    assert from_number(1714566600.25) == "2024-05-01T12:30:00.250000Z"
    assert from_number(60_000) is None  # a duration, not an instant
    assert to_nanoseconds("not a time") is None
    assert version_of("/api/v2/chat/messages/x") == V2 and version_of("/messages/x") == V1


def test_the_transform_touches_date_times_only() -> None:
    body = {
        "created_at": "2024-05-01T12:30:00.000000Z",
        "uploaded_at": "2024-05-01T12:30:00.000000Z",  # the sandbox's own field: not in v2
        "duration": "1.00ms",
        "custom": {"expires": "2024-05-01T12:30:00Z"},
        "members": [{"user": {"last_active": "2024-05-01T12:30:00Z", "name": "x"}}],
        "deleted_at": None,
    }
    out = encode_response(body, V2)
    assert out["created_at"] == 1714566600_000_000_000
    assert out["members"][0]["user"] == {"last_active": 1714566600_000_000_000, "name": "x"}
    assert out["custom"] == body["custom"] and out["uploaded_at"] == body["uploaded_at"]
    assert out["duration"] == "1.00ms" and out["deleted_at"] is None
    assert encode_response(body, V1) is body
    request = {
        "message_timestamp": 1714566600_000_000_000,
        "expiration": 1714566600_000,  # MuteChannel's milliseconds: a duration, kept
        "filter_conditions": {"created_at": {"$gt": 1714566600, "$in": [1714566600_000]}},
        "timeout": 30,
    }
    decoded = decode_request(request, V2)
    assert decoded["message_timestamp"] == "2024-05-01T12:30:00.000000Z"
    assert decoded["expiration"] == request["expiration"] and decoded["timeout"] == 30
    stamp = "2024-05-01T12:30:00.000000Z"
    assert decoded["filter_conditions"] == {"created_at": {"$gt": stamp, "$in": [stamp]}}
    assert decode_request(request, V1) is request


# -- through HTTP ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox()
    yield sb
    sb.stop()


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sandbox.app)
    async with httpx2.AsyncClient(
        transport=transport,
        base_url="http://sandbox",
        params={"api_key": sandbox.api_key},
        headers=auth_headers(server_token(sandbox.api_secret)),
    ) as client:
        yield client


async def _call(
    http: httpx2.AsyncClient, method: str, path: str, body: Any = None, **params: Any
) -> dict[str, Any]:
    response = await http.request(method, path, json=body, params=params)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    data.pop("duration", None)
    return data


def _pairs(v1: Any, v2: Any, path: str = "") -> Iterator[tuple[str, str, Any, Any]]:
    """Walk two answers in step, yielding every (path, key, v1 value, v2 value) leaf."""
    if isinstance(v1, dict):
        assert isinstance(v2, dict) and set(v1) == set(v2), path
        for key in v1:
            if isinstance(v1[key], dict | list):
                yield from _pairs(v1[key], v2[key], f"{path}.{key}")
            else:
                yield path, key, v1[key], v2[key]
    elif isinstance(v1, list):
        assert isinstance(v2, list) and len(v1) == len(v2), path
        for index, (a, b) in enumerate(zip(v1, v2, strict=True)):
            yield from _pairs(a, b, f"{path}[{index}]")


async def _scene(http: httpx2.AsyncClient) -> dict[str, str]:
    """A channel with a thread, a reaction, a read, a pin, a ban, a mute and a campaign."""
    ann, bob = uid("ann"), uid("bob")
    users = {ann: {"id": ann, "custom": {"party_at": "2030-01-01T00:00:00Z"}}, bob: {"id": bob}}
    await _call(http, "POST", "/users", {"users": users})
    channel = uid("room")
    await _call(
        http,
        "POST",
        f"/channels/messaging/{channel}/query",
        {"data": {"created_by_id": ann, "members": [ann, bob]}},
    )
    sent = await _call(
        http,
        "POST",
        f"/channels/messaging/{channel}/message",
        {"message": {"text": "hi", "user_id": ann, "pinned": True}},
    )
    parent = sent["message"]["id"]
    await _call(
        http,
        "POST",
        f"/channels/messaging/{channel}/message",
        {"message": {"text": "re", "user_id": bob, "parent_id": parent}},
    )
    await _call(
        http, "POST", f"/messages/{parent}/reaction", {"reaction": {"type": "like", "user_id": bob}}
    )
    await _call(http, "POST", f"/channels/messaging/{channel}/read", {"user_id": bob})
    await _call(http, "POST", "/moderation/ban", {"target_user_id": bob, "timeout": 60})
    await _call(http, "POST", "/moderation/mute", {"target_ids": [bob], "user_id": ann})
    return {"ann": ann, "bob": bob, "channel": channel, "parent": parent}


async def _both(http: httpx2.AsyncClient, method: str, path: str, body: Any = None, **q: Any):
    v1 = await _call(http, method, path, body, **q)
    v2 = await _call(http, method, f"/api/v2/chat{path}", body, **q)
    return v1, v2


async def test_v2_sends_every_date_time_as_nanoseconds_and_v1_as_text(
    http: httpx2.AsyncClient,
) -> None:
    scene = await _scene(http)
    reads = [
        ("GET", f"/channels/messaging/{scene['channel']}", None, {}),
        ("GET", f"/messages/{scene['parent']}", None, {}),
        ("GET", f"/threads/{scene['parent']}", None, {}),
        ("GET", "/query_banned_users", None, {"payload": json.dumps({"filter_conditions": {}})}),
        ("GET", "/unread", None, {"user_id": scene["bob"]}),
    ]
    converted: set[str] = set()
    for method, path, body, query in reads:
        v1, v2 = await _both(http, method, path, body, **query)
        for where, key, old, new in _pairs(v1, v2):
            if key in RESPONSE_KEYS and isinstance(old, str) and "custom" not in where:
                assert new == to_nanoseconds(old), (path, where, key)
                converted.add(key)
            else:
                assert new == old, (path, where, key)
    assert {"created_at", "updated_at", "last_read", "pinned_at", "expires"} <= converted
    assert {"last_message_at", "ban_expires"} <= converted


async def test_v2_accepts_numeric_date_times(http: httpx2.AsyncClient) -> None:
    scene = await _scene(http)
    message = (await _call(http, "GET", f"/messages/{scene['parent']}"))["message"]
    nanos = to_nanoseconds(message["created_at"])
    await _call(
        http,
        "POST",
        f"/api/v2/chat/channels/messaging/{scene['channel']}/unread",
        {"message_timestamp": nanos, "user_id": scene["bob"]},
    )
    unread = await _call(http, "GET", "/unread", user_id=scene["bob"])
    [state] = [c for c in unread["channels"] if c["channel_id"].endswith(scene["channel"])]
    assert state["unread_count"] == 1
    before = parse_time(message["created_at"]) - timedelta(seconds=1)
    since = to_nanoseconds(iso(before))
    found = await _call(
        http,
        "POST",
        "/api/v2/chat/channels",
        {"filter_conditions": {"id": scene["channel"], "created_at": {"$gt": since}}},
    )
    assert [c["channel"]["id"] for c in found["channels"]] == [scene["channel"]]


async def test_the_product_reads_v2_date_times_back_as_the_same_instants(
    http: httpx2.AsyncClient,
) -> None:
    """stream_mcp.execution.timestamps turns v2's numbers into RFC 3339 for agents."""
    scene = await _scene(http)
    v1, v2 = await _both(http, "GET", f"/channels/messaging/{scene['channel']}")
    for where, key, old, new in _pairs(v1, normalise(v2)):
        if key in RESPONSE_KEYS and isinstance(old, str) and key not in DURATIONS:
            assert is_datetime_key(key)
            assert parse_time(new) == parse_time(old), (where, key)


def test_the_product_knows_every_v2_date_time_key_the_sandbox_sends() -> None:
    assert sorted(k for k in RESPONSE_KEYS if not is_datetime_key(k)) == sorted(DURATIONS)
