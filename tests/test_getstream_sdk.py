"""Stream's own v2 Python SDK (``getstream``) drives the sandbox, unchanged.

The SDK is built with ``Stream(api_key, api_secret, base_url=...)`` and talks HTTP to an
embedded sandbox: its server token (claims ``{}``), its ``/api/v2/...`` paths and its decoding
(v2 date-times are nanosecond numbers, which it turns into ``datetime``). Every test counts
the requests the sandbox served for it and checks none failed on the server's side; the SDK's
own "a required field is missing" warnings are checked against the sandbox's documented gaps.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from stream_mcp.sandbox import Sandbox
from tests.getstream_lazy import exceptions, models, sdk
from tests.sandbox_helpers import uid

if TYPE_CHECKING:
    from getstream import Stream

# Required fields the sandbox leaves out on purpose (EMULATION.md): the SDK warns, then
# decodes them as None. Anything else missing is a shape bug.
KNOWN_GAPS = frozenset(
    {
        ("membership_deletion_task_id", "UpdateUsersResponse"),
        ("stats_started_at", "CampaignStatsResponse"),
        ("stats_completed_at", "CampaignStatsResponse"),
    }
)
MESSAGE = "stream:chat:v1:message"


class Traffic(logging.Handler):
    """The sandbox's request log, as (method, path, status, operation) tuples."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            method, path, status, operation, _ = args
            self.seen.append((str(method), str(path), int(str(status)), str(operation)))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> Iterator[Stream]:
    stream = sdk.Stream(
        api_key=sandbox.api_key, api_secret=sandbox.api_secret, base_url=sandbox.base_url
    )
    yield stream
    stream.close()


@pytest.fixture
def traffic() -> Iterator[Traffic]:
    """Requests and SDK decoding warnings of one test; checked when it ends."""
    logger = logging.getLogger("stream_mcp.sandbox")
    handler, level = Traffic(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
    assert not [s for s in handler.seen if s[2] >= 500], handler.seen
    missing = set()
    for warning in caught:
        text = str(warning.message)
        if text.startswith("Missing value of non-optional type"):
            words = text.split()
            missing.add((words[5], words[9]))
    assert missing <= KNOWN_GAPS, missing - KNOWN_GAPS


def _recent(moment: datetime | None) -> bool:
    """A decoded v2 date-time: timezone-aware and within a minute of now."""
    return moment is not None and abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


def _people(client: Stream, *names: str, moderator: str | None = None) -> list[str]:
    ids = [uid(name) for name in names]
    users = {
        i: models.UserRequest(id=i, name=i.split("-")[0].title(), custom={"team": "red"})
        for i in ids
    }
    if moderator:
        users[moderator] = models.UserRequest(id=moderator, role="admin")
    client.update_users(users=users)
    return ids


def _room(client: Stream, owner: str, *members: str):
    channel_id = uid("room")
    client.chat.get_or_create_channel(
        "messaging",
        channel_id,
        data=models.ChannelInput(
            created_by_id=owner,
            members=[models.ChannelMemberRequest(user_id=u) for u in (owner, *members)],
            custom={"topic": "tests"},
        ),
    )
    return client.chat.channel("messaging", channel_id)


def test_users(client: Stream, traffic: Traffic) -> None:
    ann, bob, cat = _people(client, "ann", "bob", "cat")
    found = client.query_users(
        models.QueryUsersPayload(
            filter_conditions={"id": {"$in": [ann, bob, cat]}},
            sort=[models.SortParamRequest(field="id", direction=1)],
        )
    ).data.users
    assert [u.id for u in found] == sorted([ann, bob, cat])
    assert found[0].custom == {"team": "red"} and _recent(found[0].created_at)
    updated = client.update_users_partial(
        users=[models.UpdateUserPartialRequest(id=bob, set={"name": "Bobby"}, unset=["team"])]
    ).data.users[bob]
    assert updated.name == "Bobby" and updated.custom == {}
    assert updated.updated_at >= updated.created_at
    client.block_users(blocked_user_id=cat, user_id=ann)
    blocks = client.get_blocked_users(user_id=ann).data.blocks
    assert [b.blocked_user_id for b in blocks] == [cat] and _recent(blocks[0].created_at)
    client.unblock_users(blocked_user_id=cat, user_id=ann)
    assert client.get_blocked_users(user_id=ann).data.blocks == []
    gone = client.deactivate_user(cat, created_by_id=ann).data.user
    assert gone is not None and _recent(gone.deactivated_at)
    client.reactivate_user(cat, created_by_id=ann)
    task = client.delete_users(user_ids=[cat], user="soft").data.task_id
    done = client.get_task(task).data
    assert done.status == "completed" and _recent(done.created_at)
    left = client.query_users(models.QueryUsersPayload(filter_conditions={"id": cat})).data.users
    assert left == []
    assert len(traffic.seen) >= 11


def test_channels_members_and_messages(client: Stream, traffic: Traffic) -> None:
    ann, bob, cat = _people(client, "ann", "bob", "cat")
    room = _room(client, ann, bob)
    room.update(add_members=[models.ChannelMemberRequest(user_id=cat)])
    members = client.chat.query_members(
        models.QueryMembersPayload(type="messaging", id=room.channel_id, filter_conditions={})
    ).data.members
    assert sorted(m.user_id for m in members) == sorted([ann, bob, cat])
    room.update_channel_partial(set={"topic": "renamed"}, user_id=ann)
    cid = f"messaging:{room.channel_id}"
    listed = client.chat.query_channels(filter_conditions={"cid": cid}, user_id=bob).data
    assert listed.channels[0].channel.custom["topic"] == "renamed"
    sent = room.send_message(
        message=models.MessageRequest(text="hello world", user_id=ann)
    ).data.message
    assert sent.user.id == ann and _recent(sent.created_at)
    client.chat.update_message(
        sent.id, message=models.MessageRequest(text="hello there", user_id=ann)
    )
    client.chat.update_message_partial(sent.id, set={"pinned": True}, user_id=ann)
    fetched = client.chat.get_message(sent.id).data.message
    assert fetched.text == "hello there" and fetched.pinned and _recent(fetched.pinned_at)
    pinned = room.get_pinned_messages().data.messages
    assert [m.id for m in pinned] == [sent.id]
    many = room.get_many_messages(ids=[sent.id]).data.messages
    assert [m.text for m in many] == ["hello there"]
    hits = client.chat.search(
        models.SearchPayload(filter_conditions={"cid": cid}, query="there")
    ).data.results
    assert [h.message.id for h in hits] == [sent.id]
    deleted = client.chat.delete_message(sent.id).data.message
    assert deleted.type == "deleted" and _recent(deleted.deleted_at)
    state = room.get().data
    assert state.channel.member_count == 3 and state.messages[0].type == "deleted"
    assert len(traffic.seen) >= 14


def test_threads_and_reactions(client: Stream, traffic: Traffic) -> None:
    ann, bob = _people(client, "ann", "bob")
    room = _room(client, ann, bob)
    parent = room.send_message(
        message=models.MessageRequest(text="question", user_id=ann)
    ).data.message
    room.send_message(
        message=models.MessageRequest(text="answer", user_id=bob, parent_id=parent.id)
    )
    replies = client.chat.get_replies(parent.id).data.messages
    assert [r.text for r in replies] == ["answer"]
    threads = client.chat.query_threads(user_id=ann).data.threads
    mine = [t for t in threads if t.parent_message_id == parent.id]
    assert mine and mine[0].reply_count == 1 and _recent(mine[0].last_message_at)
    client.chat.update_thread_partial(parent.id, set={"title": "The question"}, user_id=ann)
    thread = client.chat.get_thread(parent.id).data.thread
    assert thread.title == "The question" and {p.user_id for p in thread.thread_participants} == {
        ann,
        bob,
    }
    reaction = client.chat.send_reaction(
        parent.id, reaction=models.ReactionRequest(type="love", score=3, user_id=bob)
    ).data.reaction
    assert reaction.score == 3 and _recent(reaction.created_at)
    listed = client.chat.get_reactions(parent.id).data.reactions
    assert [(r.type, r.user_id) for r in listed] == [("love", bob)]
    queried = client.chat.query_reactions(parent.id, filter={"type": "love"}).data.reactions
    assert len(queried) == 1
    client.chat.delete_reaction(parent.id, "love", user_id=bob)
    assert client.chat.get_message(parent.id).data.message.reaction_counts == {}
    assert len(traffic.seen) >= 11


def test_read_state(client: Stream, traffic: Traffic) -> None:
    ann, bob = _people(client, "ann", "bob")
    room = _room(client, ann, bob)
    first = room.send_message(message=models.MessageRequest(text="one", user_id=ann)).data.message
    room.send_message(message=models.MessageRequest(text="two", user_id=ann))
    assert client.chat.unread_counts(user_id=bob).data.total_unread_count == 2
    room.mark_read(user_id=bob)
    counts = client.chat.unread_counts(user_id=bob).data
    assert counts.total_unread_count == 0
    read = [r for r in room.get().data.read if r.user.id == bob]
    assert _recent(read[0].last_read) and read[0].unread_messages == 0
    room.mark_unread(message_id=first.id, user_id=bob)
    batch = client.chat.unread_counts_batch(user_ids=[ann, bob]).data.counts_by_user
    assert batch[bob].total_unread_count == 2 and batch[ann].total_unread_count == 0
    assert len(traffic.seen) >= 9


def test_blocklists(client: Stream, traffic: Traffic) -> None:
    ann, bob = _people(client, "ann", "bob")
    name = uid("words").replace("-", "_")
    created = client.create_block_list(name=name, words=["darn", "heck"]).data.blocklist
    assert created.words == ["darn", "heck"] and _recent(created.created_at)
    names = [b.name for b in client.list_block_lists().data.blocklists]
    assert name in names and "profanity_en_2020_v1" in names
    client.update_block_list(name, words=["darn", "heck", "drat"])
    assert client.get_block_list(name).data.blocklist.words == ["darn", "heck", "drat"]
    room = _room(client, ann, bob)
    room.update_channel_partial(
        set={"config_overrides": {"blocklist": name, "blocklist_behavior": "block"}}
    )
    blocked = room.send_message(
        message=models.MessageRequest(text="oh drat", user_id=bob)
    ).data.message
    assert blocked.type == "error"
    client.delete_block_list(name)
    with pytest.raises(exceptions.StreamApiException) as missing:
        client.get_block_list(name)
    assert missing.value.status_code == 404
    assert len(traffic.seen) >= 8


def test_campaigns(client: Stream, traffic: Traffic) -> None:
    sender, ann, bob = _people(client, "sender", "ann", "bob")
    created = client.chat.create_campaign(
        sender_id=sender,
        message_template=models.CampaignMessageTemplate(text="Welcome aboard"),
        user_ids=[ann, bob],
        channel_template=models.CampaignChannelTemplate(type="messaging"),
        create_channels=True,
        name="welcome",
    ).data.campaign
    assert created.status == "draft" and _recent(created.created_at)
    assert client.chat.get_campaign(created.id).data.campaign.name == "welcome"
    started = client.chat.start_campaign(created.id).data.campaign
    assert started.status == "completed" and started.stats.stats_messages_sent == 2
    assert _recent(started.stats.stats_completed_at)
    found = client.chat.query_campaigns(filter={"id": created.id}).data.campaigns
    assert [c.id for c in found] == [created.id]
    inbox = client.chat.query_channels(
        filter_conditions={"members": {"$in": [ann]}}, user_id=ann
    ).data.channels
    assert any(m.text == "Welcome aboard" for c in inbox for m in c.messages)
    assert len(traffic.seen) >= 6


def test_moderation_v2(client: Stream, sandbox: Sandbox, traffic: Traffic) -> None:
    moderator = uid("mod")
    ann, bob = _people(client, "ann", "bob", moderator=moderator)
    room = _room(client, ann, bob)
    spam = room.send_message(
        message=models.MessageRequest(text="buy stuff", user_id=ann)
    ).data.message
    name = uid("words").replace("-", "_")
    client.create_block_list(name=name, words=["darn"])
    key = uid("policy")
    rules = models.BlockListConfig(
        enabled=True, rules=[models.BlockListRule(name=name, action="remove")]
    )
    client.moderation.upsert_config(key=key, block_list_config=rules)
    config = client.moderation.get_config(key).data.config
    assert config.block_list_config.rules[0].action == "remove" and _recent(config.created_at)

    def check(text: str):
        return client.moderation.check(
            entity_type="acme:comment",
            entity_id=uid("comment"),
            entity_creator_id=bob,
            moderation_payload=models.ModerationPayload(texts=[text]),
            config_key=key,
        ).data

    assert check("all fine").recommended_action == "keep"
    removed = check("well darn")
    assert removed.recommended_action == "remove" and removed.status == "complete"
    assert removed.item is not None and removed.item.entity_creator_id == bob

    item_id = client.moderation.flag(
        entity_type=MESSAGE, entity_id=spam.id, entity_creator_id=ann, reason="spam", user_id=bob
    ).data.item_id
    queue = client.moderation.query_review_queue(
        filter={"entity_id": spam.id, "status": "pending"}, limit=5
    ).data.items
    assert [i.id for i in queue] == [item_id] and queue[0].flags[0].reason == "spam"
    item = client.moderation.get_review_queue_item(item_id).data.item
    assert item.message.text == "buy stuff" and _recent(item.created_at)
    reviewed = client.moderation.submit_action(
        action_type="mark_reviewed", item_id=item_id, user_id=moderator
    ).data.item
    assert reviewed.status == "reviewed" and _recent(reviewed.reviewed_at)

    client.moderation.ban(target_user_id=bob, banned_by_id=moderator, reason="spam", timeout=60)
    as_bob = sdk.Stream(
        api_key=sandbox.api_key, token=client.create_token(bob), base_url=sandbox.base_url
    )
    with pytest.raises(exceptions.StreamApiException) as refused:
        as_bob.chat.send_message(
            "messaging", room.channel_id, message=models.MessageRequest(text="let me talk")
        )
    as_bob.close()
    assert refused.value.status_code == 403
    bans = client.chat.query_banned_users(
        models.QueryBannedUsersPayload(filter_conditions={"user_id": bob})
    ).data.bans
    assert bans[0].reason == "spam" and bans[0].expires - bans[0].created_at > timedelta(minutes=59)
    client.moderation.unban(target_user_id=bob, unbanned_by_id=moderator)
    assert not client.chat.query_banned_users(
        models.QueryBannedUsersPayload(filter_conditions={"user_id": bob})
    ).data.bans

    mutes = client.moderation.mute(target_ids=[bob], user_id=ann, timeout=10).data.mutes
    lasts = mutes[0].expires - mutes[0].created_at
    assert mutes[0].target.id == bob and abs(lasts - timedelta(minutes=10)) < timedelta(seconds=1)
    client.moderation.unmute(target_ids=[bob], user_id=ann)

    banned = client.moderation.submit_action(
        action_type="ban",
        item_id=item_id,
        user_id=moderator,
        ban=models.BanActionRequestPayload(reason="spam again", channel_ban_only=True),
    ).data.item
    assert banned.bans[0].channel_cid == f"messaging:{room.channel_id}"
    client.moderation.submit_action(
        action_type="delete_message", item_id=item_id, user_id=moderator
    )
    assert client.chat.get_message(spam.id).data.message.type == "deleted"
    client.moderation.delete_config(key)
    with pytest.raises(exceptions.StreamApiException):
        client.moderation.get_config(key)
    assert len(traffic.seen) >= 22
