"""Less-travelled paths: update options, hard deletes, revived channels, pagination cursors,
partial updates of system fields, and the input errors Stream gives for bad requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException
from stream_chat.channel import Channel

from stream_mcp.sandbox import Sandbox
from tests.sandbox_helpers import uid


@pytest.fixture(scope="module")
def client() -> Iterator[StreamChat]:
    with Sandbox() as sb:
        yield StreamChat(api_key=sb.api_key, api_secret=sb.api_secret, base_url=sb.base_url)


@pytest.fixture
def users(client: StreamChat) -> list[str]:
    ids = [uid("user") for _ in range(3)]
    client.upsert_users([{"id": i} for i in ids])
    return ids


@pytest.fixture
def channel(client: StreamChat, users: list[str]) -> Channel:
    channel = client.channel("messaging", uid("chan"), {"members": users})
    channel.create(users[0])
    return channel


def error_of(call: Any) -> StreamAPIException:
    with pytest.raises(StreamAPIException) as raised:
        call()
    return raised.value


def test_update_channel_options(client: StreamChat, channel: Channel, users: list[str]) -> None:
    old = channel.send_message({"text": "before"}, users[0])["message"]["id"]
    newcomer = uid()
    client.upsert_user({"id": newcomer})
    response = client.post(
        channel.url,
        data={
            "data": {"name": "Renamed", "team": "blue"},
            "cooldown": 10,
            "add_filter_tags": ["vip", "beta"],
            "add_members": [newcomer],
            "hide_history": True,
            "message": {"text": "welcome", "user_id": users[0]},
        },
    )
    assert response["channel"]["name"] == "Renamed"
    assert response["channel"]["team"] == "blue"
    assert response["channel"]["cooldown"] == 10
    assert response["channel"]["filter_tags"] == ["vip", "beta"]
    assert response["message"]["text"] == "welcome"
    response = client.post(channel.url, data={"remove_filter_tags": ["vip"]})
    assert response["channel"]["filter_tags"] == ["beta"]
    seen = client.query_channels({"cid": channel.cid}, user_id=newcomer)["channels"][0]
    assert [m["text"] for m in seen["messages"]] == ["welcome"]
    assert old not in [m["id"] for m in seen["messages"]]


def test_hard_truncate_and_hard_delete(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    gone = channel.send_message({"text": "gone"}, users[0])["message"]["id"]
    channel.truncate(hard_delete=True)
    assert error_of(lambda: client.get_message(gone)).error_code == 16
    channel.send_message({"text": "after"}, users[0])
    response = channel.delete(hard=True)
    assert response["channel"]["deleted_at"]
    assert error_of(lambda: channel.update({"x": 1})).error_code == 16


def test_soft_deleted_channel_is_recreated_empty(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    channel.send_message({"text": "old life"}, users[0])
    channel.delete()
    revived = client.channel("messaging", channel.id, {"members": users[:2]})
    state = revived.create(users[1])
    assert state["messages"] == []
    assert {m["user_id"] for m in state["members"]} == set(users[:2])
    assert state["channel"]["created_by"]["id"] == users[1]


def test_message_pagination_and_reply_sort(channel: Channel, users: list[str]) -> None:
    ids = [channel.send_message({"text": f"m{i}"}, users[0])["message"]["id"] for i in range(6)]
    page = channel.query(messages={"limit": 2, "id_lt": ids[4]})["messages"]
    assert [m["text"] for m in page] == ["m2", "m3"]
    page = channel.query(messages={"limit": 2, "id_gt": ids[1]})["messages"]
    assert [m["text"] for m in page] == ["m2", "m3"]
    page = channel.query(messages={"limit": 3, "id_around": ids[3]})["messages"]
    assert [m["text"] for m in page] == ["m2", "m3", "m4"]
    for i in range(3):
        channel.send_message({"text": f"r{i}", "parent_id": ids[0]}, users[1])
    newest_first = channel.get_replies(
        ids[0], sort=json.dumps([{"field": "created_at", "direction": -1}])
    )
    assert [m["text"] for m in newest_first["messages"]] == ["r2", "r1", "r0"]


def test_mark_read_at_a_message(client: StreamChat, channel: Channel, users: list[str]) -> None:
    ids = [channel.send_message({"text": f"m{i}"}, users[0])["message"]["id"] for i in range(3)]
    response = channel.mark_read(users[1], message_id=ids[0])
    assert response["event"]["last_read_message_id"] == ids[0]
    assert client.unread_counts(users[1])["total_unread_count"] == 2
    read = next(r for r in channel.query()["read"] if r["user"]["id"] == users[1])
    assert read["unread_messages"] == 2


def test_search_cursor_and_message_filters(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    word = uid("needle").replace("-", "")
    for i in range(3):
        channel.send_message({"text": f"{word} number {i}", "rank": i}, users[i % 2])
    first = client.search({"cid": channel.cid}, word, limit=2)
    assert len(first["results"]) == 2 and "next" in first
    rest = client.search({"cid": channel.cid}, word, limit=2, next=first["next"])
    assert len(rest["results"]) == 1 and "next" not in rest
    texts = {r["message"]["text"] for r in first["results"] + rest["results"]}
    assert texts == {f"{word} number {i}" for i in range(3)}
    by_user = client.search(
        {"cid": channel.cid}, {"user_id": users[1], "text": {"$q": word}}, sort=[{"rank": 1}]
    )
    assert [r["message"]["rank"] for r in by_user["results"]] == [1]
    assert error_of(lambda: client.search({}, word)).error_code == 4


def test_query_members_of_a_distinct_channel(client: StreamChat, users: list[str]) -> None:
    client.channel("messaging", data={"members": users[:2]}).create(users[0])
    payload = {"type": "messaging", "members": users[:2], "filter_conditions": {"id": users[1]}}
    members = client.get("members", params={"payload": json.dumps(payload)})["members"]
    assert [m["user_id"] for m in members] == [users[1]]


def test_partial_user_update_of_system_fields(client: StreamChat) -> None:
    user_id = uid()
    client.upsert_user({"id": user_id, "name": "N", "image": "http://img", "teams": ["a"]})
    response = client.update_user_partial(
        {"id": user_id, "set": {"role": "admin", "teams": ["b"]}, "unset": ["image"]}
    )
    user = response["users"][user_id]
    assert (user["role"], user["teams"], user["name"]) == ("admin", ["b"], "N")
    assert "image" not in user
    bad = error_of(lambda: client.update_user_partial({"id": user_id, "set": {"role": "king"}}))
    assert bad.error_code == 4
    missing = error_of(lambda: client.update_user_partial({"id": uid(), "set": {"a": 1}}))
    assert missing.status_code == 404


def test_delete_users_soft_with_conversations(client: StreamChat, users: list[str]) -> None:
    pair = client.channel("messaging", uid("pair"), {"members": users[:2]})
    pair.create(users[0])
    pair.send_message({"text": "bye"}, users[1])
    task = client.delete_users([users[1]], "pruning", messages="soft", conversations="soft")
    assert client.get_task(task["task_id"])["result"][users[1]]["status"] == "ok"
    assert client.query_users({"id": users[1]})["users"] == []
    assert client.query_channels({"cid": pair.cid})["channels"] == []
    with pytest.raises(StreamAPIException):
        client.delete_users([users[0]], "hard")


def test_flag_user_and_unmute_unknown(client: StreamChat, users: list[str]) -> None:
    flagged = client.flag_user(users[0], user_id=users[1], reason="bot")
    assert flagged["flag"]["target_user"]["id"] == users[0]
    response = client.unmute_users([uid("ghost")], users[1])
    assert len(response["non_existing_users"]) == 1


def test_reaction_errors(channel: Channel, users: list[str]) -> None:
    msg_id = channel.send_message({"text": "x"}, users[0])["message"]["id"]
    missing = error_of(lambda: channel.delete_reaction(msg_id, "love", users[1]))
    assert (missing.status_code, missing.error_code) == (404, 16)
    channel.send_reaction(msg_id, {"type": "love"}, users[1])
    channel.send_reaction(msg_id, {"type": "like", "score": 3}, users[1])
    response = channel.client.post(
        f"messages/{msg_id}/reaction",
        data={"reaction": {"type": "wow", "user_id": users[1]}, "enforce_unique": True},
    )
    assert response["message"]["reaction_counts"] == {"wow": 1}


def test_input_errors(client: StreamChat, channel: Channel, users: list[str]) -> None:
    assert error_of(lambda: channel.send_message({"text": ""}, users[0])).error_code == 4
    assert error_of(lambda: channel.send_message({"text": "x" * 5001}, users[0])).error_code == 20
    msg_id = channel.send_message({"text": "dup"}, users[0])["message"]["id"]
    dup = error_of(lambda: channel.send_message({"id": msg_id, "text": "again"}, users[0]))
    assert "already exists" in dup.error_message
    assert error_of(lambda: client.channel("nonsense", "x").create(users[0])).error_code == 16
    assert error_of(lambda: client.channel("messaging", "bad id").create(users[0])).error_code == 4
    assert error_of(lambda: client.query_users({"age": {"$near": 3}})).error_code == 4
    assert error_of(lambda: client.query_users({}, limit=101)).error_code == 4


def test_blocklist_types_and_teams(client: StreamChat) -> None:
    name = uid("rx")
    bad = error_of(
        lambda: client.post("blocklists", data={"name": name, "words": ["("], "type": "regex"})
    )
    assert bad.error_code == 4
    client.post("blocklists", data={"name": name, "words": ["fo+"], "type": "regex", "team": "red"})
    listed = client.get("blocklists", params={"team": "red"})["blocklists"]
    assert [(b["name"], b["type"], b["team"]) for b in listed] == [(name, "regex", "red")]
    invalid = error_of(lambda: client.create_blocklist(name="no spaces!", words=["a"]))
    assert invalid.error_code == 4
    plain = uid("plain")
    client.create_blocklist(name=plain, words=["a"])
    duplicate = error_of(lambda: client.create_blocklist(name=plain, words=["b"]))
    assert "already exists" in duplicate.error_message


def test_campaign_state_rules(client: StreamChat, users: list[str]) -> None:
    created = client.create_campaign(
        data={"message_template": {"text": "hi"}, "sender_id": users[0], "user_ids": users[1:]}
    )
    campaign_id = created["campaign"]["id"]
    assert error_of(lambda: client.stop_campaign(campaign_id)).error_code == 4
    client.start_campaign(campaign_id)
    assert error_of(lambda: client.start_campaign(campaign_id)).error_code == 4
    blocked = error_of(
        lambda: client.update_campaign(
            campaign_id, {"message_template": {"text": "x"}, "sender_id": users[0]}
        )
    )
    assert blocked.error_code == 4
    segments = error_of(
        lambda: client.create_campaign(
            data={"message_template": {"text": "x"}, "sender_id": users[0], "segment_ids": ["s"]}
        )
    )
    assert segments.status_code == 501
