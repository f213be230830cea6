"""The official ``stream-chat`` SDK against the sandbox on a real loopback socket.

Each test asserts what the SDK's own integration tests expect of Stream (response keys,
texts, member ids, counts), so the sandbox is held to the real API's shapes.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

import pytest
from stream_chat import StreamChat
from stream_chat.base.exceptions import StreamAPIException
from stream_chat.channel import Channel

from stream_mcp.sandbox import Sandbox
from tests.sandbox_helpers import uid


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
    response = client.upsert_users([{"id": i, "name": f"name {i}"} for i in ids])
    assert set(response["users"]) == set(ids)
    return ids


@pytest.fixture
def channel(client: StreamChat, users: list[str]) -> Channel:
    channel = client.channel("messaging", uid("chan"), {"members": users, "topic": "sandbox"})
    channel.create(users[0])
    return channel


# -- users ---------------------------------------------------------------------------------


def test_upsert_and_partial_update_user(client: StreamChat) -> None:
    user_id = uid()
    response = client.upsert_user({"id": user_id, "name": "Ada", "field": "value"})
    assert response["users"][user_id]["field"] == "value"
    assert response["users"][user_id]["role"] == "user"
    assert response["duration"].endswith("ms")

    response = client.update_user_partial(
        {"id": user_id, "set": {"field": "updated", "mood": "calm"}, "unset": ["name"]}
    )
    user = response["users"][user_id]
    assert user["field"] == "updated"
    assert user["mood"] == "calm"
    assert "name" not in user


def test_query_users_filters_and_sorts(client: StreamChat) -> None:
    squad = uid("squad")
    members = [
        {"id": uid("frodo"), "name": "Frodo", "race": "Hobbit", "age": 50, "squad": squad},
        {"id": uid("sam"), "name": "Sam", "race": "Hobbit", "age": 38, "squad": squad},
        {"id": uid("gimli"), "name": "Gimli", "race": "Dwarf", "age": 139, "squad": squad},
        {"id": uid("pippin"), "name": "Pippin", "race": "Hobbit", "age": 28, "squad": squad},
    ]
    client.upsert_users(members)
    response = client.query_users({"race": {"$eq": "Hobbit"}, "squad": squad}, {"age": -1})
    assert [u["age"] for u in response["users"]] == [50, 38, 28]

    response = client.query_users(
        {"squad": squad, "name": {"$autocomplete": "gi"}}, [{"field": "name", "direction": 1}]
    )
    assert [u["name"] for u in response["users"]] == ["Gimli"]

    response = client.query_users({"squad": squad}, {"age": 1}, limit=2, offset=1)
    assert [u["age"] for u in response["users"]] == [38, 50]


def test_deactivate_reactivate_and_delete_users(client: StreamChat, channel: Channel) -> None:
    user_id = uid()
    client.upsert_user({"id": user_id})
    channel.add_members([user_id])
    channel.send_message({"text": "before deactivation"}, user_id)

    response = client.deactivate_user(user_id, mark_messages_deleted=True)
    assert response["user"]["id"] == user_id
    assert response["user"]["deactivated_at"]
    assert client.query_users({"id": user_id})["users"] == []
    hidden = client.query_users({"id": user_id}, include_deactivated_users=True)["users"]
    assert [u["id"] for u in hidden] == [user_id]

    response = client.reactivate_user(user_id, restore_messages=True)
    assert response["user"]["id"] == user_id
    assert "deactivated_at" not in response["user"]
    texts = [m["text"] for m in channel.query()["messages"] if m["type"] == "regular"]
    assert "before deactivation" in texts

    task = client.delete_users([user_id], "hard", conversations="hard", messages="hard")
    status = client.get_task(task["task_id"])
    assert status["status"] == "completed"
    assert client.query_users({"id": user_id})["users"] == []


# -- channels ------------------------------------------------------------------------------


def test_create_and_query_channel(client: StreamChat, users: list[str]) -> None:
    channel = client.channel("messaging", uid("chan"), {"members": users, "color": "red"})
    created = channel.create(users[0])
    assert created["channel"]["created_by"]["id"] == users[0]
    assert created["channel"]["color"] == "red"
    assert {m["user_id"] for m in created["members"]} == set(users)
    owner = next(m for m in created["members"] if m["user_id"] == users[0])
    assert owner["channel_role"] == "owner"

    channel.send_message({"text": "first"}, users[1])
    state = channel.query(messages={"limit": 10})
    assert [m["text"] for m in state["messages"]] == ["first"]
    assert state["channel"]["member_count"] == 3
    reads = {r["user"]["id"]: r["unread_messages"] for r in state["read"]}
    assert reads[users[0]] == 1
    assert reads[users[1]] == 0


def test_create_requires_existing_members(client: StreamChat, users: list[str]) -> None:
    ghost = uid("ghost")
    channel = client.channel("messaging", uid("chan"), {"members": [users[0], ghost]})
    with pytest.raises(StreamAPIException) as raised:
        channel.create(users[0])
    assert raised.value.error_code == 4
    assert ghost in raised.value.error_message


def test_distinct_channel_without_id(client: StreamChat, users: list[str]) -> None:
    channel = client.channel("messaging", data={"members": users[:2]})
    channel.create(users[0])
    assert channel.id is not None and channel.id.startswith("!members-")
    again = client.channel("messaging", data={"members": list(reversed(users[:2]))})
    again.create(users[1])
    assert again.id == channel.id


def test_query_channels_filters_sort_and_paging(client: StreamChat, users: list[str]) -> None:
    tag = uid("tag")
    cids = []
    for index in range(3):
        channel = client.channel(
            "messaging", uid("chan"), {"members": users, "tag": tag, "n": index}
        )
        channel.create(users[0])
        cids.append(channel.cid)
    client.channel("messaging", cids[0].split(":")[1]).send_message({"text": "bump"}, users[0])

    response = client.query_channels({"tag": tag}, {"last_message_at": -1})
    assert response["channels"][0]["channel"]["cid"] == cids[0]
    assert len(response["channels"]) == 3

    response = client.query_channels({"tag": tag}, {"created_at": 1}, limit=2, offset=1)
    assert [c["channel"]["cid"] for c in response["channels"]] == cids[1:]

    response = client.query_channels({"tag": tag, "n": {"$in": [0, 2]}, "type": "messaging"})
    assert {c["channel"]["cid"] for c in response["channels"]} == {cids[0], cids[2]}

    response = client.query_channels({"cid": {"$in": cids}, "members": {"$in": [users[2]]}})
    assert len(response["channels"]) == 3
    assert len(response["channels"][0]["members"]) == 3


def test_update_and_update_partial(channel: Channel) -> None:
    response = channel.update({"motd": "one apple a day...", "color": "blue", "age": 30})
    assert response["channel"]["motd"] == "one apple a day..."
    assert "topic" not in response["channel"]  # full update replaces custom data

    response = channel.update_partial(to_set={"color": "red", "frozen": True}, to_unset=["age"])
    assert response["channel"]["color"] == "red"
    assert response["channel"]["frozen"] is True
    assert "age" not in response["channel"]


def test_members_moderators_and_roles(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    extra = uid()
    client.upsert_user({"id": extra})
    response = channel.remove_members([users[2]])
    assert {m["user_id"] for m in response["members"]} == set(users[:2])

    response = channel.add_members([extra])
    member = next(m for m in response["members"] if m["user_id"] == extra)
    assert not member.get("is_moderator", False)

    response = channel.add_moderators([extra])
    member = next(m for m in response["members"] if m["user_id"] == extra)
    assert member["is_moderator"] is True
    assert member["channel_role"] == "channel_moderator"

    response = channel.demote_moderators([extra])
    member = next(m for m in response["members"] if m["user_id"] == extra)
    assert not member.get("is_moderator", False)

    response = channel.assign_roles([{"user_id": extra, "channel_role": "channel_moderator"}])
    member = next(m for m in response["members"] if m["user_id"] == extra)
    assert member["channel_role"] == "channel_moderator"


def test_add_moderator_who_is_not_yet_a_member(client: StreamChat, users: list[str]) -> None:
    channel = client.channel("messaging", uid("chan"), {"test": True})
    channel.create(users[0])
    response = channel.add_moderators([users[0]])
    assert [m["user_id"] for m in response["members"]] == [users[0]]
    assert response["members"][0]["is_moderator"] is True


def test_invites(client: StreamChat, users: list[str]) -> None:
    invitee, declined = uid(), uid()
    client.upsert_users([{"id": invitee}, {"id": declined}])
    channel = client.channel(
        "team", uid("team"), {"members": users[:1], "invites": [invitee, declined]}
    )
    channel.create(users[0])
    with pytest.raises(StreamAPIException):
        channel.accept_invite(users[1])
    accepted = channel.accept_invite(invitee)
    member = next(m for m in accepted["members"] if m["user_id"] == invitee)
    assert member["invited"] is True
    assert "invite_accepted_at" in member
    rejected = channel.reject_invite(declined)
    member = next(m for m in rejected["members"] if m["user_id"] == declined)
    assert "invite_rejected_at" in member

    late = uid()
    client.upsert_user({"id": late})
    response = channel.invite_members([late])
    member = next(m for m in response["members"] if m["user_id"] == late)
    assert member["invited"] is True
    assert member["status"] == "pending"


def test_query_members(client: StreamChat, channel: Channel) -> None:
    names = ["paul", "george", "john", "jessica", "john2"]
    ids = {name: uid(name) for name in names}
    client.upsert_users([{"id": ids[n], "name": n} for n in names])
    for name in names:
        channel.add_members([ids[name]])
    members = channel.query_members(
        filter_conditions={"name": {"$autocomplete": "j"}},
        sort=[{"field": "created_at", "direction": 1}],
        offset=1,
        limit=10,
    )
    assert [m["user"]["id"] for m in members] == [ids["jessica"], ids["john2"]]


def test_hide_and_show(client: StreamChat, channel: Channel, users: list[str]) -> None:
    def visible() -> int:
        return len(client.query_channels({"id": channel.id}, user_id=users[1])["channels"])

    assert visible() == 1
    channel.hide(users[1])
    assert visible() == 0
    hidden = client.query_channels({"id": channel.id, "hidden": True}, user_id=users[1])
    assert len(hidden["channels"]) == 1
    channel.show(users[1])
    assert visible() == 1
    channel.hide(users[1])
    channel.send_message({"text": "wake up"}, users[2])
    assert visible() == 1


def test_truncate_and_delete(client: StreamChat, channel: Channel, users: list[str]) -> None:
    channel.send_message({"text": "old news"}, users[0])
    response = channel.truncate(
        skip_push=True, message={"text": "Truncating channel.", "user_id": users[0]}
    )
    assert response["channel"]["truncated_at"]
    assert [m["text"] for m in channel.query()["messages"]] == ["Truncating channel."]

    response = channel.delete()
    assert response["channel"]["deleted_at"] is not None
    assert client.query_channels({"cid": channel.cid})["channels"] == []


# -- messages ------------------------------------------------------------------------------


def test_send_get_and_get_many(client: StreamChat, channel: Channel, users: list[str]) -> None:
    msg_id = uid("msg")
    response = channel.send_message(
        {"id": msg_id, "text": "hi", "index": 7}, users[0], skip_push=True
    )
    assert response["message"]["text"] == "hi"
    assert response["message"]["index"] == 7
    assert response["message"]["user"]["id"] == users[0]

    message = client.get_message(msg_id)
    assert message["message"]["id"] == msg_id
    assert message["message"]["channel"]["cid"] == channel.cid

    other = channel.send_message({"text": "second"}, users[1])["message"]["id"]
    many = channel.get_messages([msg_id, other])
    assert [m["id"] for m in many["messages"]] == [msg_id, other]


def test_update_message_and_partial(client: StreamChat, channel: Channel, users: list[str]) -> None:
    msg_id = uid("msg")
    channel.send_message({"id": msg_id, "text": "hello world"}, users[0])
    response = client.update_message(
        {"id": msg_id, "awesome": True, "text": "helloworld", "user": {"id": users[0]}}
    )
    assert response["message"]["text"] == "helloworld"
    assert response["message"]["awesome"] is True

    response = client.update_message_partial(
        msg_id, {"set": {"text": "edited", "color": "red"}, "unset": ["awesome"]}, users[0]
    )
    assert response["message"]["text"] == "edited"
    assert response["message"]["color"] == "red"
    assert "awesome" not in response["message"]


def test_pin_and_pinned_messages(client: StreamChat, channel: Channel, users: list[str]) -> None:
    msg_id = channel.send_message({"text": "pin me"}, users[0])["message"]["id"]
    response = client.pin_message(msg_id, users[1])
    assert response["message"]["pinned"] is True
    assert response["message"]["pinned_by"]["id"] == users[1]

    pinned = client.get(f"channels/{channel.channel_type}/{channel.id}/pinned_messages")
    assert [m["id"] for m in pinned["messages"]] == [msg_id]
    assert [m["id"] for m in channel.query()["pinned_messages"]] == [msg_id]

    response = client.unpin_message(msg_id, users[1])
    assert response["message"]["pinned"] is False


def test_delete_message_soft_and_hard(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    soft = channel.send_message({"text": "soft"}, users[0])["message"]["id"]
    response = client.delete_message(soft)
    assert response["message"]["type"] == "deleted"
    assert response["message"]["deleted_at"]
    assert client.get_message(soft)["message"]["type"] == "deleted"

    hard = channel.send_message({"text": "hard"}, users[0])["message"]["id"]
    client.delete_message(hard, hard=True)
    with pytest.raises(StreamAPIException) as raised:
        client.get_message(hard)
    assert raised.value.status_code == 404
    assert raised.value.error_code == 16


def test_thread_replies(channel: Channel, users: list[str]) -> None:
    parent = channel.send_message({"text": "hi"}, users[0])["message"]["id"]
    assert channel.get_replies(parent)["messages"] == []
    for index in range(10):
        channel.send_message({"text": "reply", "index": index, "parent_id": parent}, users[1])
    replies = channel.get_replies(parent)["messages"]
    assert len(replies) == 10
    assert all(r["type"] == "reply" and r["parent_id"] == parent for r in replies)
    page = channel.get_replies(parent, limit=3)["messages"]
    assert [m["index"] for m in page] == [7, 8, 9]
    state = channel.query()
    assert [m["text"] for m in state["messages"]] == ["hi"]
    assert state["messages"][0]["reply_count"] == 10

    with pytest.raises(StreamAPIException) as raised:
        channel.send_message({"text": "nested", "parent_id": replies[0]["id"]}, users[0])
    assert raised.value.error_code == 21


def test_search(client: StreamChat, channel: Channel, users: list[str]) -> None:
    word = "supercalifragilisticexpialidocious" + uid("w").replace("-", "")
    channel.send_message({"text": f"How many syllables are there in {word}?"}, users[0])
    channel.send_message({"text": "Does 'cious' count as one or two?"}, users[0])
    response = client.search({"cid": channel.cid}, word, limit=2, offset=0)
    assert len(response["results"]) == 1
    assert word in response["results"][0]["message"]["text"]
    response = client.search({"cid": channel.cid}, "cious", limit=12, offset=0)
    assert [r["message"]["text"] for r in response["results"]] == [
        "Does 'cious' count as one or two?"
    ]
    response = client.search(
        {"members": {"$in": [users[0]]}, "cid": channel.cid},
        {"text": {"$autocomplete": "syllab"}},
    )
    assert len(response["results"]) == 1


# -- reactions -----------------------------------------------------------------------------


def test_reactions(channel: Channel, users: list[str]) -> None:
    msg_id = channel.send_message({"text": "react"}, users[0])["message"]["id"]
    assert channel.get_reactions(msg_id)["reactions"] == []

    response = channel.send_reaction(msg_id, {"type": "love", "count": 42}, users[1])
    assert len(response["message"]["latest_reactions"]) == 1
    assert response["message"]["latest_reactions"][0]["type"] == "love"
    assert response["reaction"]["user_id"] == users[1]
    channel.send_reaction(msg_id, {"type": "clap"}, users[1])

    reactions = channel.get_reactions(msg_id)["reactions"]
    assert [r["type"] for r in reactions] == ["clap", "love"]
    offset = channel.get_reactions(msg_id, offset=1)["reactions"]
    assert offset[0]["count"] == 42

    response = channel.delete_reaction(msg_id, "love", users[1])
    assert response["reaction"]["type"] == "love"
    assert response["message"]["reaction_counts"] == {"clap": 1}


# -- read state ----------------------------------------------------------------------------


def test_mark_read_unread_and_counts(
    client: StreamChat, channel: Channel, users: list[str]
) -> None:
    first = channel.send_message({"text": "one"}, users[0])["message"]["id"]
    channel.send_message({"text": "two"}, users[0])
    counts = client.unread_counts(users[1])
    assert counts["total_unread_count"] == 2
    assert counts["channels"][0]["channel_id"] == channel.cid

    response = channel.mark_read(users[1])
    assert response["event"]["type"] == "message.read"
    assert client.unread_counts(users[1])["total_unread_count"] == 0

    channel.mark_unread(users[1], message_id=first)
    counts = client.unread_counts(users[1])
    assert counts["total_unread_count"] == 2
    assert counts["channel_type"][0] == {
        "channel_type": "messaging",
        "channel_count": 1,
        "unread_count": 2,
    }


# -- moderation ----------------------------------------------------------------------------


def test_ban_unban_and_query(client: StreamChat, channel: Channel, users: list[str]) -> None:
    target, moderator = users[2], users[0]
    client.ban_user(target, user_id=moderator, reason="spam", timeout=60)
    bans = client.query_banned_users({"user_id": target})["bans"]
    assert len(bans) == 1
    assert bans[0]["reason"] == "spam"
    assert bans[0]["banned_by"]["id"] == moderator
    assert "expires" in bans[0]
    assert client.query_users({"id": target})["users"][0]["banned"] is True
    client.unban_user(target)
    assert client.query_banned_users({"user_id": target})["bans"] == []

    channel.ban_user(target, user_id=moderator)
    bans = client.query_banned_users({"channel_cid": channel.cid})["bans"]
    assert [b["user"]["id"] for b in bans] == [target]
    assert bans[0]["channel"]["cid"] == channel.cid
    member = next(m for m in channel.query()["members"] if m["user_id"] == target)
    assert member["banned"] is True
    channel.unban_user(target)
    assert client.query_banned_users({"channel_cid": channel.cid})["bans"] == []


def test_shadow_ban(client: StreamChat, channel: Channel, users: list[str]) -> None:
    target = users[1]
    client.shadow_ban(target, user_id=users[0])
    response = channel.send_message({"text": "psst"}, target)
    assert response["message"]["shadowed"] is True
    assert client.query_banned_users({"user_id": target, "shadow": True})["bans"]
    client.remove_shadow_ban(target)
    assert channel.send_message({"text": "back"}, target)["message"]["shadowed"] is False


def test_mute_and_unmute(client: StreamChat, users: list[str]) -> None:
    response = client.mute_user(users[0], users[1])
    assert "expires" not in response["mute"]
    assert response["mute"]["target"]["id"] == users[0]
    assert response["mute"]["user"]["id"] == users[1]
    assert [m["target"]["id"] for m in response["own_user"]["mutes"]] == [users[0]]

    response = client.mute_user(users[2], users[1], timeout=10)
    assert "expires" in response["mute"]
    client.unmute_user(users[0], users[1])
    mutes = client.query_users({"id": users[1]})["users"][0]["mutes"]
    assert [m["target"]["id"] for m in mutes] == [users[2]]


def test_flag_and_query_flags(client: StreamChat, channel: Channel, users: list[str]) -> None:
    msg_id = channel.send_message({"text": "rude"}, users[0])["message"]["id"]
    response = client.flag_message(msg_id, user_id=users[1], reason="rudeness")
    assert response["flag"]["target_message_id"] == msg_id
    assert response["flag"]["user"]["id"] == users[1]
    flags = client.query_message_flags({"channel_cid": channel.cid})["flags"]
    assert [f["message"]["id"] for f in flags] == [msg_id]
    assert flags[0]["reason"] == "rudeness"
    by_author = client.query_message_flags({"user_id": users[0], "channel_cid": channel.cid})
    assert len(by_author["flags"]) == 1
    with pytest.raises(StreamAPIException):
        client.flag_message(msg_id, user_id=users[1])


# -- blocklists ----------------------------------------------------------------------------


def test_blocklist_crud(client: StreamChat) -> None:
    name = uid("Foo")
    client.create_blocklist(name=name, words=["fudge", "heck"])
    names = {b["name"] for b in client.list_blocklists()["blocklists"]}
    assert name in names
    response = client.get_blocklist(name)
    assert response["blocklist"]["name"] == name
    assert response["blocklist"]["words"] == ["fudge", "heck"]
    client.update_blocklist(name, words=["dang"])
    assert client.get_blocklist(name)["blocklist"]["words"] == ["dang"]
    client.delete_blocklist(name)
    with pytest.raises(StreamAPIException) as raised:
        client.get_blocklist(name)
    assert raised.value.error_code == 16


# -- campaigns -----------------------------------------------------------------------------


def test_campaign_crud(client: StreamChat, users: list[str]) -> None:
    campaign = client.campaign(
        data={
            "message_template": {"text": "{Hello}"},
            "user_ids": users[1:],
            "sender_id": users[0],
            "name": "some name",
        }
    )
    created = campaign.create(data={"name": "created name"})
    assert created.is_ok()
    assert created["campaign"]["name"] == "created name"
    assert created["campaign"]["status"] == "draft"
    received = campaign.get()
    assert received["campaign"]["name"] == "created name"
    updated = campaign.update(
        {"message_template": {"text": "hi"}, "sender_id": users[0], "name": "updated_name"}
    )
    assert updated["campaign"]["name"] == "updated_name"
    listed = client.query_campaigns(
        filter_conditions={"id": {"$eq": campaign.campaign_id}},
        sort=[{"field": "created_at", "direction": -1}],
        options={"limit": 10},
    )
    assert [c["id"] for c in listed["campaigns"]] == [campaign.campaign_id]
    assert campaign.delete().is_ok()
    with pytest.raises(StreamAPIException):
        campaign.get()


def test_campaign_start_delivers_and_stops(client: StreamChat, users: list[str]) -> None:
    sender, receivers = users[0], users[1:]
    client.update_user_partial({"id": receivers[0], "set": {"name": "Bilbo"}})
    created = client.create_campaign(
        data={
            "message_template": {"text": "Hello {{ receiver.name }}"},
            "user_ids": receivers,
            "sender_id": sender,
            "name": "welcome",
            "create_channels": True,
            "channel_template": {"type": "messaging", "custom": {"origin": "campaign"}},
        }
    )
    campaign_id = created["campaign"]["id"]
    started = client.start_campaign(campaign_id)
    assert started["campaign"]["status"] == "completed"
    assert started["campaign"]["stats"]["stats_messages_sent"] == 2
    assert started["campaign"]["stats"]["stats_channels_created"] == 2

    inbox = client.query_channels({"members": {"$in": [receivers[0]]}, "origin": "campaign"})
    assert len(inbox["channels"]) == 1
    message = inbox["channels"][0]["messages"][0]
    assert message["text"] == "Hello Bilbo"
    assert message["user"]["id"] == sender

    with pytest.raises(StreamAPIException) as refused:
        client.stop_campaign(campaign_id)  # a completed campaign has nothing left to stop
    assert refused.value.status_code == 400


def test_campaign_scheduled_start(client: StreamChat, users: list[str]) -> None:
    campaign = client.campaign(
        data={"message_template": {"text": "later"}, "user_ids": users[1:], "sender_id": users[0]}
    )
    campaign.create()
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    started = campaign.start(scheduled_for=later)
    assert started["campaign"]["status"] == "scheduled"
    assert started["campaign"]["stats"]["stats_messages_sent"] == 0
    stopped = campaign.stop()
    assert stopped["campaign"]["status"] == "stopped"


# -- app and unemulated operations ---------------------------------------------------------


def test_get_app_settings(client: StreamChat) -> None:
    configs = client.get_app_settings()
    assert "app" in configs
    assert "messaging" in configs["app"]["channel_configs"]
    assert configs["app"]["disable_auth_checks"] is False


def test_unemulated_operation_is_an_error_not_a_fake_success(client: StreamChat) -> None:
    with pytest.raises(StreamAPIException) as raised:
        client.set_guest_user({"user": {"id": uid("guest")}})
    assert raised.value.status_code == 501
    assert "does not emulate POST /guest" in raised.value.error_message
    assert json.loads(raised.value.response_text)["sandbox_not_emulated"] is True
