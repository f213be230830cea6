"""Stream's v2 moderation API on the sandbox: ban, unban, mute, flag, the review queue,
submit_action, blocklist policies and check, sharing state with the v1 operations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.routes import V2_ROUTES
from tests.conftest import operation_lists, read_operation_list
from tests.sandbox_helpers import auth_headers, server_token, uid, user_token

MESSAGE = "stream:chat:v1:message"


class Api:
    """Calls the sandbox as the server, or as ``as_user``; returns (status, body)."""

    def __init__(self, http: httpx2.AsyncClient, key: str, secret: str) -> None:
        self.http, self.key, self.secret = http, key, secret

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        as_user: str | None = None,
        **params: Any,
    ) -> tuple[int, dict[str, Any]]:
        token = user_token(self.secret, as_user) if as_user else server_token(self.secret)
        response = await self.http.request(
            method,
            path,
            params={"api_key": self.key, **params},
            headers=auth_headers(token),
            json=body,
        )
        return response.status_code, response.json()

    async def ok(self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any):
        status, data = await self.call(method, path, body, **kw)
        assert status in (200, 201), data
        return data


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox()
    yield sb
    sb.stop()


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[Api]:
    transport = httpx2.ASGITransport(app=sandbox.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield Api(http, sandbox.api_key, sandbox.api_secret)


async def _room(api: Api, *, moderator: str | None = None) -> dict[str, str]:
    """Fresh users ann (author), bob (member), mod (app moderator role) and a channel of
    ann and bob with one message of ann's."""
    ann, bob, mod = uid("ann"), uid("bob"), moderator or uid("mod")
    users = {ann: {"id": ann}, bob: {"id": bob}, mod: {"id": mod, "role": "moderator"}}
    await api.ok("POST", "/api/v2/users", {"users": users})
    channel = uid("room")
    await api.ok(
        "POST",
        f"/api/v2/chat/channels/messaging/{channel}/query",
        {"data": {"created_by_id": ann, "members": [ann, bob]}},
    )
    sent = await api.ok(
        "POST",
        f"/api/v2/chat/channels/messaging/{channel}/message",
        {"message": {"text": "first", "user_id": ann}},
    )
    return {
        "ann": ann,
        "bob": bob,
        "mod": mod,
        "channel": channel,
        "cid": f"messaging:{channel}",
        "message": sent["message"]["id"],
    }


def test_routes_follow_the_v2_operation_table() -> None:
    """Operation ids, methods, paths and server-only marks are the v2 list's."""
    for listing in operation_lists("v2"):
        table = read_operation_list(listing)
        for route in V2_ROUTES:
            row = table[route.operation]
            assert (row["method"], row["path"]) == (route.method, route.path), route
            assert (row["user_token"] == "no") == route.server_only, route


async def test_flag_puts_the_message_in_the_review_queue_and_in_v1_flags(api: Api) -> None:
    room = await _room(api)
    flagged = await api.ok(
        "POST",
        "/api/v2/moderation/flag",
        {
            "entity_type": MESSAGE,
            "entity_id": room["message"],
            "entity_creator_id": room["ann"],
            "reason": "spam",
            "custom": {"source": "test"},
        },
        as_user=room["bob"],
    )
    item = (await api.ok("GET", f"/api/v2/moderation/review_queue/{flagged['item_id']}"))["item"]
    assert (item["entity_id"], item["entity_creator_id"]) == (room["message"], room["ann"])
    assert item["status"] == "pending" and item["recommended_action"] == "flag"
    assert item["flags_count"] == 1 and item["flags"][0]["user_id"] == room["bob"]
    assert item["flags"][0]["reason"] == "spam" and item["message"]["text"] == "first"
    assert isinstance(item["created_at"], int)  # v2: nanoseconds
    # The same flag is a v1 flag: QueryMessageFlags sees it, a second one is refused.
    payload = json.dumps({"filter_conditions": {"channel_cid": room["cid"]}})
    flags = await api.ok("GET", "/moderation/flags/message", payload=payload)
    assert [f["user"]["id"] for f in flags["flags"]] == [room["bob"]]
    status, again = await api.call(
        "POST",
        "/moderation/flag",
        {"target_message_id": room["message"]},
        as_user=room["bob"],
    )
    assert status == 400 and again["code"] == 4


async def test_a_v1_flag_lands_on_the_same_item_and_unflag_withdraws_it(api: Api) -> None:
    room = await _room(api)
    v1 = await api.ok(
        "POST", "/moderation/flag", {"target_message_id": room["message"]}, as_user=room["bob"]
    )
    second = await api.ok(
        "POST",
        "/api/v2/moderation/flag",
        {"entity_type": MESSAGE, "entity_id": room["message"], "user_id": room["mod"]},
    )
    assert second["item_id"] == v1["review_queue_item_id"]
    await api.ok(
        "POST", "/moderation/unflag", {"target_message_id": room["message"]}, as_user=room["bob"]
    )
    item = (await api.ok("GET", f"/api/v2/moderation/review_queue/{second['item_id']}"))["item"]
    assert [f["user_id"] for f in item["flags"]] == [room["mod"]]


async def test_flag_checks_its_target(api: Api) -> None:
    room = await _room(api)
    outsider = uid("out")
    reporter = {"user_id": room["bob"]}
    cases = [
        ({"entity_type": MESSAGE, "entity_id": "no-such-message", **reporter}, None, 404),
        ({"entity_type": "stream:user", "entity_id": "no-such-user", **reporter}, None, 404),
        ({"entity_type": MESSAGE, **reporter}, None, 400),
        ({"entity_type": MESSAGE, "entity_id": room["message"]}, outsider, 403),
        ({"entity_type": MESSAGE, "entity_id": room["message"]}, None, 400),  # no reporter
    ]
    for body, as_user, expected in cases:
        status, _ = await api.call("POST", "/api/v2/moderation/flag", body, as_user=as_user)
        assert status == expected, (body, as_user)


async def test_custom_entities_and_users_can_be_flagged(api: Api) -> None:
    room = await _room(api)
    user_item = await api.ok(
        "POST",
        "/api/v2/moderation/flag",
        {"entity_type": "stream:user", "entity_id": room["ann"], "reason": "rude"},
        as_user=room["bob"],
    )
    post = uid("post")
    custom = await api.ok(
        "POST",
        "/api/v2/moderation/flag",
        {
            "entity_type": "acme:post",
            "entity_id": post,
            "entity_creator_id": room["ann"],
            "moderation_payload": {"texts": ["buy now"]},
        },
        as_user=room["bob"],
    )
    queue = await api.ok(
        "POST",
        "/api/v2/moderation/review_queue",
        {"filter": {"entity_creator_id": room["ann"]}, "sort": [{"field": "created_at"}]},
    )
    ids = [item["id"] for item in queue["items"]]
    assert ids == [user_item["item_id"], custom["item_id"]]
    assert queue["items"][1]["moderation_payload"] == {"texts": ["buy now"]}
    assert queue["items"][0]["entity_creator"]["flagged_count"] >= 1


async def test_review_queue_filters_pages_and_needs_a_moderator(api: Api) -> None:
    room = await _room(api)
    for n in range(3):
        sent = await api.ok(
            "POST",
            f"/api/v2/chat/channels/messaging/{room['channel']}/message",
            {"message": {"text": f"m{n}", "user_id": room["ann"]}},
        )
        await api.ok(
            "POST",
            "/api/v2/moderation/flag",
            {"entity_type": MESSAGE, "entity_id": sent["message"]["id"]},
            as_user=room["bob"],
        )
    query = {"filter": {"channel_cid": room["cid"], "status": "pending"}, "limit": 2}
    first = await api.ok("POST", "/api/v2/moderation/review_queue", query, as_user=room["mod"])
    assert len(first["items"]) == 2 and first["next"] and first["stats"]["pending"] == 3
    second = await api.ok(
        "POST", "/api/v2/moderation/review_queue", {**query, "next": first["next"]}
    )
    assert len(second["items"]) == 1
    texts = [i["message"]["text"] for i in first["items"] + second["items"]]
    assert texts == ["m2", "m1", "m0"]  # newest first
    status, denied = await api.call(
        "POST", "/api/v2/moderation/review_queue", query, as_user=room["bob"]
    )
    assert status == 403 and denied["code"] == 17


async def test_submit_action_mark_reviewed_delete_and_ban(api: Api) -> None:
    room = await _room(api)
    item_id = (
        await api.ok(
            "POST",
            "/api/v2/moderation/flag",
            {"entity_type": MESSAGE, "entity_id": room["message"]},
            as_user=room["bob"],
        )
    )["item_id"]
    reviewed = await api.ok(
        "POST",
        "/api/v2/moderation/submit_action",
        {"action_type": "mark_reviewed", "item_id": item_id},
        as_user=room["mod"],
    )
    item = reviewed["item"]
    assert item["status"] == "reviewed" and item["reviewed_by"] == room["mod"]
    assert item["actions"][0]["type"] == "mark_reviewed"
    await api.ok(
        "POST",
        "/api/v2/moderation/submit_action",
        {"action_type": "delete_message", "item_id": item_id, "user_id": room["mod"]},
    )
    message = await api.ok("GET", f"/api/v2/chat/messages/{room['message']}")
    assert message["message"]["type"] == "deleted"
    banned = await api.ok(
        "POST",
        "/api/v2/moderation/submit_action",
        {
            "action_type": "ban",
            "item_id": item_id,
            "user_id": room["mod"],
            "ban": {"reason": "spam", "channel_ban_only": True},
        },
    )
    assert banned["item"]["bans"][0]["channel_cid"] == room["cid"]
    assert banned["item"]["latest_moderator_action"] == "ban"
    status, refused = await api.call(
        "POST",
        f"/api/v2/chat/channels/messaging/{room['channel']}/message",
        {"message": {"text": "still here?"}},
        as_user=room["ann"],
    )
    assert status == 403 and refused["code"] == 17
    status, other = await api.call(
        "POST", "/api/v2/moderation/submit_action", {"action_type": "escalate", "item_id": item_id}
    )
    assert status == 501 and other["sandbox_not_emulated"] is True


async def test_v2_ban_is_a_ban_for_v1_and_v2_unban_lifts_it(api: Api) -> None:
    room = await _room(api)
    await api.ok(
        "POST",
        "/api/v2/moderation/ban",
        {"target_user_id": room["ann"], "banned_by_id": room["mod"], "reason": "r", "timeout": 5},
    )
    status, _ = await api.call(
        "POST",
        f"/channels/messaging/{room['channel']}/message",
        {"message": {"text": "hi"}},
        as_user=room["ann"],
    )
    assert status == 403
    payload = json.dumps({"filter_conditions": {"user_id": room["ann"]}})
    bans = (await api.ok("GET", "/query_banned_users", payload=payload))["bans"]
    assert bans[0]["reason"] == "r" and bans[0]["banned_by"]["id"] == room["mod"]
    # created_by narrows the unban to bans that user issued.
    await api.ok(
        "POST",
        "/api/v2/moderation/unban",
        {"unbanned_by_id": room["mod"]},
        target_user_id=room["ann"],
        created_by=room["bob"],
    )
    assert (await api.ok("GET", "/query_banned_users", payload=payload))["bans"]
    await api.ok(
        "POST",
        "/api/v2/moderation/unban",
        {"unbanned_by_id": room["mod"]},
        target_user_id=room["ann"],
    )
    assert not (await api.ok("GET", "/query_banned_users", payload=payload))["bans"]
    status, _ = await api.call(
        "POST", "/api/v2/moderation/unban", {}, as_user=room["mod"], target_user_id=room["ann"]
    )
    assert status == 403  # server-side only


async def test_channel_ban_and_shadow_ban(api: Api) -> None:
    room = await _room(api)
    await api.ok(
        "POST",
        "/api/v2/moderation/ban",
        {"target_user_id": room["bob"], "channel_cid": room["cid"], "shadow": True},
    )
    sent = await api.ok(
        "POST",
        f"/api/v2/chat/channels/messaging/{room['channel']}/message",
        {"message": {"text": "hidden"}},
        as_user=room["bob"],
    )
    assert sent["message"]["shadowed"] is True
    status, _ = await api.call(
        "POST", "/api/v2/moderation/ban", {"target_user_id": room["bob"]}, as_user=room["ann"]
    )
    assert status == 403  # a plain user cannot ban app-wide


async def test_mute_and_unmute(api: Api) -> None:
    room = await _room(api)
    muted = await api.ok(
        "POST",
        "/api/v2/moderation/mute",
        {"target_ids": [room["bob"], "nobody-" + uid()], "timeout": 10},
        as_user=room["ann"],
    )
    assert [m["target"]["id"] for m in muted["mutes"]] == [room["bob"]]
    assert muted["non_existing_users"] and isinstance(muted["mutes"][0]["expires"], int)
    assert [m["target"]["id"] for m in muted["own_user"]["mutes"]] == [room["bob"]]
    await api.ok(
        "POST", "/api/v2/moderation/unmute", {"target_ids": [room["bob"]]}, as_user=room["ann"]
    )
    me = await api.ok(
        "POST", "/api/v2/moderation/mute", {"target_ids": [room["mod"]]}, as_user=room["ann"]
    )
    assert [m["target"]["id"] for m in me["own_user"]["mutes"]] == [room["mod"]]


async def _blocklist(api: Api, *words: str) -> str:
    name = uid("words").replace("-", "_")
    await api.ok("POST", "/api/v2/blocklists", {"name": name, "words": list(words)})
    return name


async def test_config_round_trip_and_its_checks(api: Api) -> None:
    name = await _blocklist(api, "darn")
    key = uid("policy")
    rules = {"enabled": True, "rules": [{"name": name, "action": "remove"}]}
    saved = await api.ok(
        "POST",
        "/api/v2/moderation/config",
        {"key": key, "block_list_config": rules, "ai_text_config": {"rules": []}},
    )
    config = saved["config"]
    assert config["key"] == key and config["block_list_config"] == rules
    assert "ai_text_config" in saved["sandbox_note"]
    got = await api.ok("GET", f"/api/v2/moderation/config/{key}")
    assert got["config"]["created_at"] == config["created_at"]
    for bad in ({"name": name, "action": "block"}, {"name": "missing-list", "action": "flag"}):
        status, _ = await api.call(
            "POST",
            "/api/v2/moderation/config",
            {"key": key, "block_list_config": {"rules": [bad]}},
        )
        assert status == 400, bad
    status, _ = await api.call(
        "POST", "/api/v2/moderation/config", {"key": key}, as_user=uid("plain")
    )
    assert status == 403
    await api.ok("DELETE", f"/api/v2/moderation/config/{key}")
    status, _ = await api.call("GET", f"/api/v2/moderation/config/{key}")
    assert status == 404


async def test_check_runs_the_blocklist_rules_and_says_ai_is_not_emulated(api: Api) -> None:
    flagged, removed = await _blocklist(api, "heck"), await _blocklist(api, "darn")
    key = uid("policy")
    rules = [{"name": flagged, "action": "flag"}, {"name": removed, "action": "remove"}]
    await api.ok(
        "POST", "/api/v2/moderation/config", {"key": key, "block_list_config": {"rules": rules}}
    )
    author, entity = uid("author"), uid("comment")

    async def check(*texts: str, entity_id: str = entity, **extra: Any) -> dict[str, Any]:
        body = {
            "entity_type": "acme:comment",
            "entity_id": entity_id,
            "entity_creator_id": author,
            "moderation_payload": {"texts": list(texts)},
            "config_key": key,
            **extra,
        }
        return await api.ok("POST", "/api/v2/moderation/check", body)

    clean = await check("all good here")
    assert clean["recommended_action"] == "keep" and "item" not in clean
    assert "AI labels are not emulated" in clean["sandbox_note"]
    assert clean["status"] == "complete"
    mild = await check("oh heck", entity_id=uid("comment"))
    assert mild["recommended_action"] == "flag" and mild["item"]["status"] == "pending"
    worst = await check("heck", "well darn it")
    assert worst["recommended_action"] == "remove"
    assert {m["blocklist"] for m in worst["sandbox_blocklist_matches"]} == {flagged, removed}
    item = worst["item"]
    assert item["recommended_action"] == "remove" and item["config_key"] == key
    assert item["flags"][0]["type"] == "automod" and item["entity_creator_id"] == author
    trial = await check(
        "darn",
        entity_id=uid("comment"),
        config_key=None,
        test_mode=True,
        config={"block_list_config": {"rules": [{"name": removed, "action": "shadow"}]}},
    )
    assert trial["recommended_action"] == "shadow" and "item" not in trial
    status, _ = await api.call(
        "POST",
        "/api/v2/moderation/check",
        {"entity_type": "x", "entity_id": "y", "entity_creator_id": author, "config_key": "nope"},
    )
    assert status == 404


async def test_blocklist_hits_on_send_reach_the_review_queue(api: Api) -> None:
    name = await _blocklist(api, "darn")
    room = await _room(api)
    await api.ok(
        "PATCH",
        f"/api/v2/chat/channels/messaging/{room['channel']}",
        {"set": {"config_overrides": {"blocklist": name, "blocklist_behavior": "flag"}}},
    )
    sent = await api.ok(
        "POST",
        f"/api/v2/chat/channels/messaging/{room['channel']}/message",
        {"message": {"text": "darn it", "user_id": room["bob"]}},
    )
    queue = await api.ok(
        "POST", "/api/v2/moderation/review_queue", {"filter": {"entity_id": sent["message"]["id"]}}
    )
    [item] = queue["items"]
    assert item["flags"][0]["type"] == "automod" and name in item["flags"][0]["reason"]
