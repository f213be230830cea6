"""The filter language, and time-dependent behaviour driven by a controllable clock.

Expiring bans and mutes, pin expiry and scheduled campaigns depend on the passage of time; an
app built with a hand-wound :class:`Clock` checks them without sleeping.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from stream_mcp.sandbox.app import build_app
from stream_mcp.sandbox.auth import Credentials
from stream_mcp.sandbox.clock import Clock, iso, normalize_time
from stream_mcp.sandbox.errors import APIError
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.store import Store
from tests.sandbox_helpers import auth_headers, server_token

# -- filters -------------------------------------------------------------------------------

DOC = {
    "id": "frodo",
    "name": "Frodo Baggins",
    "age": 50,
    "teams": ["red", "blue"],
    "banned": False,
    "created_at": "2024-03-01T10:00:00.000000Z",
    "custom": {"race": "Hobbit"},
}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"id": "frodo"}, True),
        ({"id": {"$eq": "sam"}}, False),
        ({"age": {"$gt": 40, "$lte": 50}}, True),
        ({"age": {"$lt": 40}}, False),
        ({"teams": "red"}, True),
        ({"teams": {"$in": ["green", "blue"]}}, True),
        ({"teams": {"$nin": ["red"]}}, False),
        ({"teams": {"$contains": "blue"}}, True),
        ({"name": {"$autocomplete": "bag"}}, True),
        ({"name": {"$autocomplete": "ggins"}}, False),
        ({"name": {"$q": "frodo"}}, True),
        ({"custom.race": "Hobbit"}, True),
        ({"missing": {"$exists": False}}, True),
        ({"banned": False}, True),
        ({"banned": 0}, False),
        ({"created_at": {"$gte": "2024-03-01T10:00:00Z"}}, True),
        ({"created_at": {"$lt": "2024-03-01T11:00:00+01:00"}}, False),
        ({"$or": [{"id": "sam"}, {"age": 50}]}, True),
        ({"$and": [{"id": "frodo"}, {"age": 1}]}, False),
        ({"$nor": [{"id": "sam"}]}, True),
    ],
)
def test_filter_operators(conditions: dict[str, Any], expected: bool) -> None:
    assert matches(DOC, conditions) is expected


def test_unknown_operator_is_an_input_error() -> None:
    with pytest.raises(APIError) as raised:
        matches(DOC, {"age": {"$near": 3}})
    assert raised.value.code == 4


def test_sort_keeps_missing_values_last_in_both_directions() -> None:
    docs = [{"id": "a", "n": 2}, {"id": "b"}, {"id": "c", "n": 1}, {"id": "d", "n": 2}]
    ascending = sort_docs(docs, parse_sort([{"n": 1}, {"id": -1}]))
    assert [d["id"] for d in ascending] == ["c", "d", "a", "b"]
    descending = sort_docs(docs, parse_sort({"field": "n", "direction": -1}))
    assert [d["id"] for d in descending] == ["a", "d", "c", "b"]
    with pytest.raises(APIError):
        parse_sort([{"field": "n", "direction": 0}])


def test_timestamps_normalise_and_order() -> None:
    assert normalize_time("2024-03-01T12:00:00+02:00") == "2024-03-01T10:00:00.000000Z"
    clock = Clock(lambda: datetime(2024, 1, 1, tzinfo=UTC))
    first, second = clock.stamp(), clock.stamp()
    assert first < second


# -- time-dependent behaviour ----------------------------------------------------------------


class HandClock:
    """A time source that only moves when told to."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Client:
    def __init__(self, http: httpx2.AsyncClient, credentials: Credentials) -> None:
        self.http = http
        self.credentials = credentials

    async def __call__(
        self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any
    ) -> dict[str, Any]:
        response = await self.http.request(
            method,
            path,
            params={"api_key": self.credentials.api_key, **params},
            headers=auth_headers(server_token(self.credentials.api_secret)),
            json=body,
        )
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture
def hand() -> HandClock:
    return HandClock()


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    yield db
    db.close()


@pytest.fixture
async def api(hand: HandClock, store: Store) -> AsyncIterator[Client]:
    credentials = Credentials.generate()
    app = build_app(store, credentials, Clock(hand))
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        client = Client(http, credentials)
        await client("POST", "/users", {"users": {u: {"id": u} for u in ("ann", "bob", "cat")}})
        await client(
            "POST",
            "/channels/messaging/room/query",
            {"data": {"created_by_id": "ann", "members": ["ann", "bob", "cat"]}},
        )
        yield client


async def query_bans(api: Client, **conditions: Any) -> list[dict[str, Any]]:
    payload = json.dumps({"filter_conditions": conditions, "exclude_expired_bans": True})
    return (await api("GET", "/query_banned_users", payload=payload))["bans"]


async def test_ban_timeout_expires(api: Client, hand: HandClock) -> None:
    await api("POST", "/moderation/ban", {"target_user_id": "bob", "timeout": 30})
    assert len(await query_bans(api, user_id="bob")) == 1
    users = await api("GET", "/users", payload=json.dumps({"filter_conditions": {"id": "bob"}}))
    assert users["users"][0]["banned"] is True
    hand.advance(minutes=31)
    assert await query_bans(api, user_id="bob") == []
    users = await api("GET", "/users", payload=json.dumps({"filter_conditions": {"id": "bob"}}))
    assert users["users"][0]["banned"] is False


async def test_mute_timeout_expires(api: Client, hand: HandClock) -> None:
    muted = await api(
        "POST", "/moderation/mute", {"target_id": "bob", "user_id": "ann", "timeout": 5}
    )
    assert muted["mute"]["expires"] == iso(hand.now + timedelta(minutes=5))
    hand.advance(minutes=6)
    payload = json.dumps({"filter_conditions": {"id": "ann"}})
    assert (await api("GET", "/users", payload=payload))["users"][0]["mutes"] == []


async def test_pin_expires(api: Client, hand: HandClock) -> None:
    sent = await api(
        "POST", "/channels/messaging/room/message", {"message": {"text": "pin", "user_id": "ann"}}
    )
    message_id = sent["message"]["id"]
    expires = iso(hand.now + timedelta(minutes=10))
    pinned = await api(
        "PUT", f"/messages/{message_id}", {"set": {"pinned": True, "pin_expires": expires}}
    )
    assert pinned["message"]["pinned"] is True
    listed = await api("GET", "/channels/messaging/room/pinned_messages")
    assert [m["id"] for m in listed["messages"]] == [message_id]
    hand.advance(minutes=11)
    assert (await api("GET", "/channels/messaging/room/pinned_messages"))["messages"] == []
    assert (await api("GET", f"/messages/{message_id}"))["message"]["pinned"] is False


async def test_scheduled_campaign_is_delivered_once_due(api: Client, hand: HandClock) -> None:
    created = await api(
        "POST",
        "/campaigns",
        {
            "message_template": {"text": "hello {{ receiver.id }}"},
            "sender_id": "ann",
            "user_ids": ["bob"],
            "create_channels": True,
            "channel_template": {"type": "messaging"},
        },
    )
    campaign_id = created["campaign"]["id"]
    later = iso(hand.now + timedelta(hours=1))
    started = await api("POST", f"/campaigns/{campaign_id}/start", {"scheduled_for": later})
    assert started["campaign"]["status"] == "scheduled"
    hand.advance(minutes=30)
    assert (await api("GET", f"/campaigns/{campaign_id}"))["campaign"]["status"] == "scheduled"
    hand.advance(minutes=31)
    campaign = (await api("GET", f"/campaigns/{campaign_id}"))["campaign"]
    assert campaign["status"] == "completed"
    assert campaign["stats"]["stats_messages_sent"] == 1
    channels = await api(
        "POST", "/channels", {"filter_conditions": {"members": {"$eq": ["ann", "bob"]}}}
    )
    assert [m["text"] for m in channels["channels"][0]["messages"]] == ["hello bob"]


async def test_campaign_without_create_channels_uses_existing_channels_only(
    api: Client,
) -> None:
    await api(
        "POST",
        "/channels/messaging/query",
        {"data": {"created_by_id": "ann", "members": ["ann", "cat"]}},
    )
    created = await api(
        "POST",
        "/campaigns",
        {"message_template": {"text": "news"}, "sender_id": "ann", "user_ids": ["bob", "cat"]},
    )
    started = await api("POST", f"/campaigns/{created['campaign']['id']}/start", {})
    stats = started["campaign"]["stats"]
    assert (stats["stats_messages_sent"], stats["stats_channels_created"]) == (1, 0)


# -- route table -----------------------------------------------------------------------------


def test_routes_match_streams_operation_table() -> None:
    """Every emulated route uses Stream's method and path, and server-only marks agree."""
    from stream_mcp.sandbox.routes import ROUTES
    from tests.conftest import operation_lists, read_operation_list

    # The sandbox speaks v1: its table is the v1 list (our snapshot, and ../shared's if there).
    for path in operation_lists("v1"):
        table = {
            op_id: (row["method"], row["path"], row["user_token"] == "no")
            for op_id, row in read_operation_list(path).items()
        }
        assert len(table) == 195, path
        for route in ROUTES:
            if not route.in_spec:
                continue  # paths Stream's SDKs call that its spec does not list
            assert table[route.operation] == (route.method, route.path, route.server_only), route
