"""Stream's documented behaviour, as the official SDK suite taught it, against the sandbox on a
real loopback socket (``stream-chat`` SDK and raw HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import jwt
import pytest
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException
from stream_chat.channel import Channel

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.ratelimit import RateLimits
from tests.sandbox_helpers import auth_headers, server_token, uid, user_token


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> StreamChat:
    return StreamChat(
        api_key=sandbox.api_key, api_secret=sandbox.api_secret, base_url=sandbox.base_url
    )


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


def api(
    sandbox: Sandbox,
    method: str,
    path: str,
    token: str | None = None,
    params: dict[str, str] | None = None,
) -> httpx2.Response:
    """A raw call with Stream's auth; a server token unless ``token`` is given."""
    headers = auth_headers(token or server_token(sandbox.api_secret))
    query = {"api_key": sandbox.api_key, **(params or {})}
    return httpx2.request(method, sandbox.base_url + path, params=query, headers=headers)


# -- the fixed behaviours -----------------------------------------------------------------


def test_partial_update_accepts_config_overrides(channel: Channel, users: list[str]) -> None:
    """Stream accepts ``config_overrides`` in UpdateChannelPartial and they take effect."""
    response = channel.update_partial({"config_overrides": {"max_message_length": 5}})
    assert response["channel"]["config"]["max_message_length"] == 5
    with pytest.raises(StreamAPIException) as raised:
        channel.send_message({"text": "far too long"}, users[0])
    assert raised.value.error_code == 20
    channel.update_partial(to_unset=["config_overrides"])
    assert channel.send_message({"text": "far too long"}, users[0])["message"]["text"]


def test_message_history_is_its_own_operation(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    """POST /messages/history is QueryMessageHistory, not UpdateMessage of id "history"."""
    msg_id = uid("msg")
    channel.send_message({"id": msg_id, "text": "v0"}, users[0])
    for version in ("v1", "v2", "v3"):
        client.update_message({"id": msg_id, "text": version, "user_id": users[0]})
    first = client.query_message_history(
        {"message_id": msg_id}, sort=[{"message_updated_at": -1}], limit=1
    )
    assert [e["text"] for e in first["message_history"]] == ["v2"]
    second = client.query_message_history(
        {"message_id": msg_id}, sort=[{"message_updated_at": -1}], limit=2, next=first["next"]
    )
    assert [e["text"] for e in second["message_history"]] == ["v1", "v0"]


def test_unread_counts_include_threads(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    reader, writer = users[1], users[2]
    parent = channel.send_message({"text": "parent"}, writer)["message"]["id"]
    channel.send_message({"text": "mine", "parent_id": parent}, reader)
    channel.send_message({"text": "theirs", "parent_id": parent}, writer)
    counts = client.unread_counts(reader)
    assert counts["total_unread_threads_count"] == 1
    assert counts["threads"][0]["parent_message_id"] == parent
    assert client.unread_counts(writer)["total_unread_threads_count"] == 0
    batch = client.unread_counts_batch([reader, writer])
    assert batch["counts_by_user"][reader]["total_unread_threads_count"] == 1


def test_keep_channel_hidden(client: StreamChat, channel: Channel, users: list[str]) -> None:
    channel.hide(users[1])
    channel.send_message({"text": "quiet"}, users[0], keep_channel_hidden=True)
    assert client.query_channels({"cid": channel.cid}, user_id=users[1])["channels"] == []
    channel.send_message({"text": "loud"}, users[0])
    assert len(client.query_channels({"cid": channel.cid}, user_id=users[1])["channels"]) == 1


def test_partial_privacy_settings_merge(client: StreamChat) -> None:
    user_id = uid()
    client.upsert_user(
        {
            "id": user_id,
            "privacy_settings": {
                "typing_indicators": {"enabled": False},
                "read_receipts": {"enabled": True},
            },
        }
    )
    response = client.update_user_partial(
        {"id": user_id, "set": {"privacy_settings": {"read_receipts": {"enabled": False}}}}
    )
    settings = response["users"][user_id]["privacy_settings"]
    assert settings == {
        "typing_indicators": {"enabled": False},
        "read_receipts": {"enabled": False},
    }


def test_send_message_answers_with_the_member(channel: Channel, users: list[str]) -> None:
    message = channel.send_message({"text": "hi"}, users[1])["message"]
    assert message["member"]["user_id"] == users[1]
    assert message["member"]["channel_role"] == "channel_member"


def test_search_refuses_query_with_message_filters(client: StreamChat) -> None:
    with pytest.raises(StreamAPIException) as raised:
        client.search({"type": "messaging"}, "hello", message_filter_conditions={"pinned": True})
    assert (raised.value.status_code, raised.value.error_code) == (400, 4)


def test_campaign_stats_and_completion(client: StreamChat, users: list[str]) -> None:
    created = client.create_campaign(
        data={
            "message_template": {"text": "hi"},
            "sender_id": users[0],
            "user_ids": users[1:],
            "create_channels": True,
            "channel_template": {"type": "messaging"},
        }
    )
    stats = created["campaign"]["stats"]
    assert stats["stats_started_at"] is None and stats["stats_completed_at"] is None
    started = client.start_campaign(created["campaign"]["id"])["campaign"]
    assert started["status"] == "completed"
    assert started["stats"]["stats_completed_at"]


def test_not_emulated_answers_carry_the_marker(sandbox: Sandbox) -> None:
    response = api(sandbox, "GET", "/og", params={"url": "https://example.com"})
    body = response.json()
    assert response.status_code == 501 and body["code"] == 4
    assert body["sandbox_not_emulated"] is True
    assert (body["sandbox_method"], body["sandbox_path"]) == ("GET", "/og")


# -- channel types, commands, blocklists ---------------------------------------------------


def test_channel_types_have_streams_default_grants(client: StreamChat) -> None:
    team = client.get_channel_type("team")
    assert "create-message" in team["grants"]["channel_member"]
    assert "permissions" in team
    listed = client.list_channel_types()["channel_types"]
    assert {"messaging", "team", "livestream", "commerce", "gaming"} <= set(listed)
    livestream = listed["livestream"]
    assert livestream["typing_events"] is False and livestream["read_events"] is False


def test_custom_type_and_commands(client: StreamChat, users: list[str]) -> None:
    command = uid("cmd")
    client.create_command({"name": command, "description": "does things"})
    assert client.get_command(command)["name"] == command
    name = uid("t").replace("-", "_").lower()
    client.create_channel_type({"name": name, "commands": [command], "search": False})
    updated = client.update_channel_type(name, commands=["giphy", command])
    assert updated["commands"] == ["giphy", command]
    channel = client.channel(name, uid("c"), {"members": users})
    channel.create(users[0])
    text = channel.send_message({"text": f"/{command} now"}, users[0])["message"]
    assert text["command"] == command
    found = client.search({"type": name}, "now")
    assert found["results"] == []  # search is off for this type
    client.delete_command(command)
    assert client.get_channel_type(name)["commands"][0]["name"] == "giphy"


def test_blocklist_block_and_flag(client: StreamChat, users: list[str]) -> None:
    words = uid("bad").replace("-", "")
    client.create_blocklist(name=words, words=[words])
    channel = client.channel("messaging", uid("c"), {"members": users})
    channel.create(users[0])
    channel.update_partial(
        {"config_overrides": {"blocklist": words, "blocklist_behavior": "block"}}
    )
    blocked = channel.send_message({"text": f"a {words.upper()}-thing"}, users[0])["message"]
    assert blocked["type"] == "error"
    state = channel.query()
    assert all(m["type"] != "error" for m in state["messages"])
    ok = channel.send_message({"text": "fine"}, users[0])["message"]
    with pytest.raises(StreamAPIException):
        client.update_message({"id": ok["id"], "text": words, "user_id": users[0]})
    channel.update_partial({"config_overrides": {"blocklist_behavior": "flag"}})
    flagged = channel.send_message({"text": words}, users[0])["message"]
    assert flagged["type"] == "regular"
    client.delete_blocklist(words)


# -- users, tasks, devices, blocks ---------------------------------------------------------


def test_user_lifecycle_and_tasks(client: StreamChat, users: list[str]) -> None:
    gone = users[0]
    assert client.delete_user(gone)["user"]["id"] == gone
    assert client.query_users({"id": gone})["users"] == []
    client.restore_users([gone])
    assert len(client.query_users({"id": gone})["users"]) == 1
    task = client.deactivate_users(users[1:])
    result = client.get_task(task["task_id"])
    assert result["status"] == "completed"
    assert {u["id"] for u in result["result"]["users"]} == set(users[1:])
    exported = client.get_task(client.export_users([gone])["task_id"])
    assert "/exports/users/" in exported["result"]["url"]
    assert httpx2.get(exported["result"]["url"]).json()["users"][0]["user"]["id"] == gone


def test_delete_channels_is_a_task(client: StreamChat, channel: Channel) -> None:
    task = client.get_task(client.delete_channels([channel.cid])["task_id"])
    assert task["status"] == "completed"
    assert task["result"][channel.cid] == {"status": "ok"}


def test_blocks_and_devices(client: StreamChat, users: list[str]) -> None:
    client.block_user(users[1], users[0])
    assert [b["blocked_user_id"] for b in client.get_blocked_users(users[0])["blocks"]] == [
        users[1]
    ]
    client.unblock_user(users[1], users[0])
    assert client.get_blocked_users(users[0])["blocks"] == []
    client.add_device("dev-1", "firebase", users[0])
    assert [d["id"] for d in client.get_devices(users[0])["devices"]] == ["dev-1"]
    client.delete_device("dev-1", users[0])
    assert client.get_devices(users[0])["devices"] == []


# -- members, batch, drafts, reminders, threads, polls -------------------------------------


def test_member_partial_and_batch_archive(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    member = channel.update_member_partial(users[1], to_set={"hat": "blue", "pinned": True})
    assert member["channel_member"]["hat"] == "blue" and member["channel_member"]["pinned_at"]
    assert (
        len(
            client.query_channels({"pinned": True, "cid": channel.cid}, user_id=users[1])[
                "channels"
            ]
        )
        == 1
    )
    updater = client.channel_batch_updater()
    task = updater.archive({"cids": {"$in": [channel.cid]}}, [{"user_id": users[2]}])
    assert client.get_task(task["task_id"])["status"] == "completed"
    members = {m["user_id"]: m for m in channel.query()["members"]}
    assert members[users[2]].get("archived_at")


def test_drafts_reminders_and_threads(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    channel.create_draft({"text": "later"}, users[0])
    assert channel.get_draft(users[0])["draft"]["message"]["text"] == "later"
    parent = channel.send_message({"text": "parent"}, users[0])["message"]["id"]
    with pytest.raises(StreamAPIException):  # drafts go when their author sends
        channel.get_draft(users[0])
    with pytest.raises(StreamAPIException):  # reminders need user_message_reminders
        client.create_reminder(parent, users[1])
    channel.update_partial({"config_overrides": {"user_message_reminders": True}})
    reminder = client.create_reminder(parent, users[1])["reminder"]
    assert reminder["channel_cid"] == channel.cid
    channel.send_message({"text": "reply", "parent_id": parent}, users[1])
    threads = client.query_threads(filter={"parent_message_id": parent}, user_id=users[0])
    assert threads["threads"][0]["latest_replies"][0]["text"] == "reply"


def test_polls_in_channels_that_enable_them(client: StreamChat, users: list[str]) -> None:
    channel = client.channel("messaging", uid("c"), {"members": users})
    channel.create(users[0])
    poll = client.post(
        "polls", data={"name": "lunch?", "user_id": users[0], "options": [{"text": "yes"}]}
    )["poll"]
    with pytest.raises(StreamAPIException):
        channel.send_message({"text": "vote", "poll_id": poll["id"]}, users[0])
    client.update_channel_type("messaging", polls=True)
    try:
        message = channel.send_message({"text": "vote", "poll_id": poll["id"]}, users[0])
        option = poll["options"][0]["id"]
        voted = client.post(
            f"messages/{message['message']['id']}/polls/{poll['id']}/vote",
            data={"user_id": users[1], "vote": {"option_id": option}},
        )
        assert voted["poll"]["vote_counts_by_option"] == {option: 1}
    finally:
        client.update_channel_type("messaging", polls=False)


# -- uploads, imports, rate limits, auth ---------------------------------------------------


def test_uploads_are_served_back(channel: Channel, users: list[str], tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello")
    url = channel.send_file(str(path), "hello.txt", {"id": users[0]})["file"]
    assert "hello.txt" in url
    assert httpx2.get(url).content == b"hello"
    channel.delete_file(url)
    assert httpx2.get(url).status_code == 404


def test_imports_upload_to_a_presigned_url(client: StreamChat) -> None:
    target = client.create_import_url("users.json")
    user_id = uid("imported")
    body = json.dumps([{"type": "user", "item": {"id": user_id, "name": "Imp"}}])
    assert httpx2.put(target["upload_url"], content=body).status_code == 200
    task = client.create_import(target["path"], "upsert")["import_task"]
    assert client.get_import(task["id"])["import_task"]["state"] == "completed"
    assert client.query_users({"id": user_id})["users"][0]["name"] == "Imp"


def test_rate_limit_headers_and_429() -> None:
    with Sandbox(rate_limits=RateLimits(user_per_minute=3)) as sb:
        token = user_token(sb.api_secret, "rita")
        seen = [api(sb, "GET", "/app", token) for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["x-ratelimit-remaining"] for r in seen[:3]] == ["2", "1", "0"]
        assert seen[3].json()["code"] == 9
        assert int(seen[3].headers["x-ratelimit-reset"]) > 0
        server = api(sb, "GET", "/app")
        assert server.status_code == 200
        assert int(server.headers["x-ratelimit-limit"]) > 3


def test_get_rate_limits(client: StreamChat) -> None:
    limits = client.get_rate_limits(server_side=True, android=True, endpoints=["GetApp"])
    assert set(limits) - {"duration"} == {"server_side", "android"}
    android = limits["android"]["GetApp"]
    assert android["limit"] == android["remaining"]


def test_claimless_token_is_server_side(sandbox: Sandbox) -> None:
    token = jwt.encode({}, sandbox.api_secret, algorithm="HS256")
    assert api(sandbox, "GET", "/channeltypes", token).status_code == 200


def test_v2_paths_reach_the_same_operations(sandbox: Sandbox) -> None:
    assert api(sandbox, "GET", "/api/v2/app").status_code == 200
    assert api(sandbox, "GET", "/api/v2/chat/channeltypes").status_code == 200
    assert api(sandbox, "GET", "/api/v2/chat/app").status_code == 501


def test_builtin_profanity_list_is_listed_and_fixed(client: StreamChat) -> None:
    names = [b["name"] for b in client.list_blocklists()["blocklists"]]
    assert names[0] == "profanity_en_2020_v1"
    assert client.get_blocklist("profanity_en_2020_v1")["blocklist"]["type"] == "word"
    with pytest.raises(StreamAPIException):
        client.delete_blocklist("profanity_en_2020_v1")


def test_flag_reports_and_review(client: StreamChat, channel: Channel, users: list[str]) -> None:
    msg_id = uid("msg")
    channel.send_message({"id": msg_id, "text": "hmm"}, users[0])
    client.flag_message(msg_id, user_id=users[1])
    reports = client._query_flag_reports(message_id=msg_id)["flag_reports"]
    assert [r["message"]["id"] for r in reports] == [msg_id]
    reviewed = client._review_flag_report(reports[0]["id"], "reviewed", users[2], note="ok")
    assert reviewed["flag_report"]["review_result"] == "reviewed"
    assert reviewed["flag_report"]["review_details"] == {"note": "ok"}
    client.unflag_message(msg_id, user_id=users[1])
    assert client._query_flag_reports(message_id=msg_id)["flag_reports"] == []


def test_pending_giphy_delete_for_me_and_translate(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    pending = channel.send_message({"text": "soon"}, users[0], pending=True)["message"]
    assert pending["pending"] is True
    assert all(m["id"] != pending["id"] for m in channel.query()["messages"])
    assert "pending" not in client.commit_message(pending["id"])["message"]
    giphy = channel.send_message({"text": "/giphy wave"}, users[0])["message"]
    assert (giphy["type"], giphy["command"]) == ("ephemeral", "giphy")
    sent = client.run_message_action(
        giphy["id"], {"user_id": users[0], "form_data": {"image_action": "send"}}
    )["message"]
    assert sent["type"] == "regular"
    client.delete_message(sent["id"], delete_for_me=True, deleted_by=users[1])
    theirs = client.query_channels({"cid": channel.cid}, user_id=users[1])["channels"][0]
    assert sent["id"] not in [m["id"] for m in theirs["messages"]]
    translated = client.translate_message(pending["id"], "hu")["message"]
    assert translated["i18n"]["hu_text"] == "soon"
    assert translated["translation_unavailable"] is True


def test_live_locations_and_team_stats(client: StreamChat, users: list[str]) -> None:
    channel = client.channel("team", uid("c"), {"members": users, "team": "blue"})
    channel.create(users[0])
    location = {"created_by_device_id": "d1", "latitude": 1.5, "longitude": 2.5}
    with pytest.raises(StreamAPIException):
        channel.send_message({"text": "here", "shared_location": location}, users[0])
    channel.update_partial({"config_overrides": {"shared_locations": True}})
    live = {**location, "end_at": "2999-01-01T00:00:00Z"}
    message = channel.send_message({"text": "here", "shared_location": live}, users[0])
    assert message["message"]["shared_location"]["latitude"] == 1.5
    moved = client.update_user_location(
        users[0], message["message"]["id"], {"latitude": 3.0, "longitude": 4.0}
    )
    assert (moved["latitude"], moved["longitude"]) == (3.0, 4.0)
    assert len(client.get_user_locations(users[0])["active_live_locations"]) == 1
    stats = client.query_team_usage_stats(team="blue")["teams"]
    assert stats[0]["team"] == "blue" and stats[0]["messages_total"]["total"] >= 1
