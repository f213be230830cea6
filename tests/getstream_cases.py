"""The actions compared by ``test_wire_compat_getstream``: each done once with Stream's official
``getstream`` SDK (v7, generated from the same v2 spec as our catalog) and once as a tool call.

Every case names the catalog operation and gives the tool arguments that say the same thing as
the SDK call. Actor fields (``user_id``, ``created_by_id``…) are given on both sides, so the
executor's server-side actor filling adds nothing and the two bodies must be equal as they are.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.getstream_lazy import models

if TYPE_CHECKING:
    from getstream import Stream


@dataclass(frozen=True)
class Case:
    """One action done both ways.

    ``xfail``: why our request is known to differ from the SDK's (a product bug the test
    exposes; the case is marked ``xfail(strict=True)`` so fixing it turns the test red until
    the mark is removed).
    """

    name: str
    sdk: Callable[[Stream], Any]
    operation_id: str
    arguments: Mapping[str, Any]
    xfail: str | None = None


def _desc(name: str) -> models.SortParamRequest:
    return models.SortParamRequest(field=name, direction=-1)


def _sort_desc(name: str) -> list[dict[str, Any]]:
    return [{"field": name, "direction": -1}]


# An instant as the SDK writes a ``datetime`` (``isoformat()``); the tool takes the same text.
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
WHEN_TEXT = "2025-01-02T03:04:05+00:00"
# Ids that need percent-encoding in a path segment, as real ones do: moderation config keys
# hold colons, blocklist names may hold spaces.
CONFIG_KEY = "chat:messaging:general"
BLOCKLIST = "rude-words@v1"


def user_cases() -> list[Case]:
    return [
        Case(
            "update_users",
            lambda c: c.update_users(
                users={
                    "u1": models.UserRequest(
                        id="u1", name="Ann", role="user", custom={"team": "red"}
                    )
                }
            ),
            "UpdateUsers",
            {
                "users": {
                    "u1": {"id": "u1", "name": "Ann", "role": "user", "custom": {"team": "red"}}
                }
            },
        ),
        Case(
            "update_users_partial",
            lambda c: c.update_users_partial(
                users=[
                    models.UpdateUserPartialRequest(id="u1", set={"name": "Bo"}, unset=["nickname"])
                ]
            ),
            "UpdateUsersPartial",
            {"users": [{"id": "u1", "set": {"name": "Bo"}, "unset": ["nickname"]}]},
        ),
        Case(
            "query_users",
            lambda c: c.query_users(
                models.QueryUsersPayload(
                    filter_conditions={"id": {"$in": ["u1", "u2"]}},
                    sort=[_desc("last_active")],
                    limit=5,
                    offset=10,
                    presence=True,
                    include_deactivated_users=True,
                    user_id="u1",
                )
            ),
            "QueryUsers",
            {
                "filter_conditions": {"id": {"$in": ["u1", "u2"]}},
                "sort": _sort_desc("last_active"),
                "limit": 5,
                "offset": 10,
                "presence": True,
                "include_deactivated_users": True,
                "user_id": "u1",
            },
        ),
        Case(
            "deactivate_user",
            lambda c: c.deactivate_user("u2", created_by_id="u1", mark_messages_deleted=True),
            "DeactivateUser",
            {"user_id": "u2", "created_by_id": "u1", "mark_messages_deleted": True},
        ),
        Case(
            "deactivate_users",
            lambda c: c.deactivate_users(
                ["u2", "u3"], created_by_id="u1", mark_channels_deleted=True
            ),
            "DeactivateUsers",
            {"user_ids": ["u2", "u3"], "created_by_id": "u1", "mark_channels_deleted": True},
        ),
        Case(
            "reactivate_users",
            lambda c: c.reactivate_users(["u2"], created_by_id="u1", restore_messages=True),
            "ReactivateUsers",
            {"user_ids": ["u2"], "created_by_id": "u1", "restore_messages": True},
        ),
        Case(
            "delete_users",
            lambda c: c.delete_users(
                ["u2", "u3"],
                user="hard",
                messages="soft",
                conversations="hard",
                files=True,
                new_channel_owner_id="u1",
            ),
            "DeleteUsers",
            {
                "user_ids": ["u2", "u3"],
                "user": "hard",
                "messages": "soft",
                "conversations": "hard",
                "files": True,
                "new_channel_owner_id": "u1",
            },
        ),
        Case(
            "block_users",
            lambda c: c.block_users(blocked_user_id="u2", user_id="u1"),
            "BlockUsers",
            {"blocked_user_id": "u2", "user_id": "u1"},
        ),
        Case(
            "unblock_users",
            lambda c: c.unblock_users(blocked_user_id="u2", user_id="u1"),
            "UnblockUsers",
            {"blocked_user_id": "u2", "user_id": "u1"},
        ),
        Case(
            "get_blocked_users",
            lambda c: c.get_blocked_users(user_id="u1"),
            "GetBlockedUsers",
            {"user_id": "u1"},
        ),
    ]


def channel_cases() -> list[Case]:
    ch = {"type": "messaging", "id": "general"}
    return [
        Case(
            "get_or_create_channel",
            lambda c: c.chat.get_or_create_channel(
                "messaging",
                "general",
                state=True,
                data=models.ChannelInput(
                    created_by_id="u1",
                    members=[
                        models.ChannelMemberRequest(user_id="u1"),
                        models.ChannelMemberRequest(user_id="u2", channel_role="channel_moderator"),
                    ],
                    custom={"color": "blue"},
                ),
                messages=models.MessagePaginationParams(limit=10),
                members=models.PaginationParams(limit=5),
            ),
            "GetOrCreateChannel",
            {
                **ch,
                "state": True,
                "data": {
                    "created_by_id": "u1",
                    "members": [
                        {"user_id": "u1"},
                        {"user_id": "u2", "channel_role": "channel_moderator"},
                    ],
                    "custom": {"color": "blue"},
                },
                "messages": {"limit": 10},
                "members": {"limit": 5},
            },
        ),
        Case(
            "update_channel",
            lambda c: c.chat.update_channel(
                "messaging",
                "general",
                add_members=[models.ChannelMemberRequest(user_id="u3")],
                message=models.MessageRequest(text="welcome", user_id="u1"),
                hide_history=True,
                user_id="u1",
            ),
            "UpdateChannel",
            {
                **ch,
                "add_members": [{"user_id": "u3"}],
                "message": {"text": "welcome", "user_id": "u1"},
                "hide_history": True,
                "user_id": "u1",
            },
        ),
        Case(
            "update_channel_partial",
            lambda c: c.chat.update_channel_partial(
                "messaging", "general", set={"color": "red"}, unset=["topic"], user_id="u1"
            ),
            "UpdateChannelPartial",
            {**ch, "set": {"color": "red"}, "unset": ["topic"], "user_id": "u1"},
        ),
        Case(
            "query_channels",
            lambda c: c.chat.query_channels(
                filter_conditions={"members": {"$in": ["u1"]}},
                sort=[_desc("last_message_at")],
                limit=10,
                offset=20,
                state=True,
                member_limit=3,
                message_limit=2,
                user_id="u1",
            ),
            "QueryChannels",
            {
                "filter_conditions": {"members": {"$in": ["u1"]}},
                "sort": _sort_desc("last_message_at"),
                "limit": 10,
                "offset": 20,
                "state": True,
                "member_limit": 3,
                "message_limit": 2,
                "user_id": "u1",
            },
        ),
        Case(
            "delete_channel",
            lambda c: c.chat.delete_channel("messaging", "general", hard_delete=True),
            "DeleteChannel",
            {**ch, "hard_delete": True},
        ),
        Case(
            "delete_channels",
            lambda c: c.chat.delete_channels(
                cids=["messaging:general", "messaging:random"], hard_delete=True
            ),
            "DeleteChannels",
            {"cids": ["messaging:general", "messaging:random"], "hard_delete": True},
        ),
        Case(
            "truncate_channel",
            lambda c: c.chat.truncate_channel(
                "messaging",
                "general",
                hard_delete=True,
                skip_push=True,
                truncated_at=WHEN,
                message=models.MessageRequest(text="cleared", user_id="u1"),
                user_id="u1",
            ),
            "TruncateChannel",
            {
                **ch,
                "hard_delete": True,
                "skip_push": True,
                "truncated_at": WHEN_TEXT,
                "message": {"text": "cleared", "user_id": "u1"},
                "user_id": "u1",
            },
        ),
        Case(
            "hide_channel",
            lambda c: c.chat.hide_channel("messaging", "general", clear_history=True, user_id="u1"),
            "HideChannel",
            {**ch, "clear_history": True, "user_id": "u1"},
        ),
        Case(
            "show_channel",
            lambda c: c.chat.show_channel("messaging", "general", user_id="u1"),
            "ShowChannel",
            {**ch, "user_id": "u1"},
        ),
        Case(
            "query_members",
            lambda c: c.chat.query_members(
                models.QueryMembersPayload(
                    type="messaging",
                    id="general",
                    filter_conditions={"name": {"$autocomplete": "ja"}},
                    sort=[_desc("created_at")],
                    limit=10,
                    offset=5,
                    user_id="u1",
                )
            ),
            "QueryMembers",
            {
                **ch,
                "filter_conditions": {"name": {"$autocomplete": "ja"}},
                "sort": _sort_desc("created_at"),
                "limit": 10,
                "offset": 5,
                "user_id": "u1",
            },
        ),
        Case(
            "update_member_partial",
            lambda c: c.chat.update_member_partial(
                "messaging", "general", user_id="u2", set={"pinned": True}, unset=["color"]
            ),
            "UpdateMemberPartial",
            {**ch, "user_id": "u2", "set": {"pinned": True}, "unset": ["color"]},
        ),
        Case(
            "send_event",
            lambda c: c.chat.send_event(
                "messaging",
                "general",
                event=models.EventRequest(type="typing.start", user_id="u1", parent_id="m1"),
            ),
            "SendEvent",
            {**ch, "event": {"type": "typing.start", "user_id": "u1", "parent_id": "m1"}},
        ),
        Case(
            "mute_channel",
            lambda c: c.chat.mute_channel(
                channel_cids=["messaging:general"], expiration=60000, user_id="u1"
            ),
            "MuteChannel",
            {"channel_cids": ["messaging:general"], "expiration": 60000, "user_id": "u1"},
        ),
    ]


def message_cases() -> list[Case]:
    return [
        Case(
            "send_message",
            lambda c: c.chat.send_message(
                "messaging",
                "general",
                message=models.MessageRequest(
                    text="hello @u2",
                    user_id="u1",
                    mentioned_users=["u2"],
                    custom={"priority": "high"},
                ),
                skip_push=True,
                keep_channel_hidden=True,
            ),
            "SendMessage",
            {
                "type": "messaging",
                "id": "general",
                "message": {
                    "text": "hello @u2",
                    "user_id": "u1",
                    "mentioned_users": ["u2"],
                    "custom": {"priority": "high"},
                },
                "skip_push": True,
                "keep_channel_hidden": True,
            },
        ),
        Case(
            "get_message",
            lambda c: c.chat.get_message("m1", show_deleted_message=True),
            "GetMessage",
            {"id": "m1", "show_deleted_message": True},
        ),
        Case(
            "update_message",
            lambda c: c.chat.update_message(
                "m1",
                message=models.MessageRequest(text="edited", user_id="u1"),
                skip_enrich_url=True,
            ),
            "UpdateMessage",
            {"id": "m1", "message": {"text": "edited", "user_id": "u1"}, "skip_enrich_url": True},
        ),
        Case(
            "update_message_partial",
            lambda c: c.chat.update_message_partial(
                "m1", set={"text": "edited"}, unset=["color"], user_id="u1", skip_push=True
            ),
            "UpdateMessagePartial",
            {
                "id": "m1",
                "set": {"text": "edited"},
                "unset": ["color"],
                "user_id": "u1",
                "skip_push": True,
            },
        ),
        Case(
            "delete_message",
            lambda c: c.chat.delete_message("m1", hard=True, deleted_by="u1"),
            "DeleteMessage",
            {"id": "m1", "hard": True, "deleted_by": "u1"},
        ),
        # ``sort`` is left out: the SDK writes a list of objects in a query value as each
        # object's JSON, percent-encoded, joined by commas, and then encoded again by httpx, so
        # Stream would read ``%7B%22direction…`` (a bug in the SDK, not a form to copy). We
        # send the JSON array, as for every other JSON-valued query parameter.
        Case(
            "get_replies",
            lambda c: c.chat.get_replies("m1", limit=10, id_lt="m0"),
            "GetReplies",
            {"parent_id": "m1", "limit": 10, "id_lt": "m0"},
        ),
        Case(
            "search",
            lambda c: c.chat.search(
                models.SearchPayload(
                    filter_conditions={"members": {"$in": ["u1"]}},
                    query="hello",
                    sort=[_desc("created_at")],
                    limit=2,
                    offset=4,
                )
            ),
            "Search",
            {
                "filter_conditions": {"members": {"$in": ["u1"]}},
                "query": "hello",
                "sort": _sort_desc("created_at"),
                "limit": 2,
                "offset": 4,
            },
        ),
        Case(
            "get_many_messages",
            lambda c: c.chat.get_many_messages("messaging", "general", ids=["m1", "m2"]),
            "GetManyMessages",
            {"type": "messaging", "id": "general", "ids": ["m1", "m2"]},
        ),
        Case(
            "translate_message",
            lambda c: c.chat.translate_message("m1", language="fr"),
            "TranslateMessage",
            {"id": "m1", "language": "fr"},
        ),
        Case(
            "undelete_message",
            lambda c: c.chat.undelete_message("m1", undeleted_by="u1"),
            "UndeleteMessage",
            {"id": "m1", "undeleted_by": "u1"},
        ),
        Case(
            "send_reaction",
            lambda c: c.chat.send_reaction(
                "m1",
                reaction=models.ReactionRequest(type="love", score=2, user_id="u1"),
                enforce_unique=True,
            ),
            "SendReaction",
            {
                "id": "m1",
                "reaction": {"type": "love", "score": 2, "user_id": "u1"},
                "enforce_unique": True,
            },
        ),
        Case(
            "delete_reaction",
            lambda c: c.chat.delete_reaction("m1", "love", user_id="u1"),
            "DeleteReaction",
            {"id": "m1", "type": "love", "user_id": "u1"},
        ),
        Case(
            "get_reactions",
            lambda c: c.chat.get_reactions("m1", limit=10, offset=5),
            "GetReactions",
            {"id": "m1", "limit": 10, "offset": 5},
        ),
        Case(
            "query_reactions",
            lambda c: c.chat.query_reactions(
                "m1", filter={"type": "love"}, sort=[_desc("created_at")], limit=5, user_id="u1"
            ),
            "QueryReactions",
            {
                "id": "m1",
                "filter": {"type": "love"},
                "sort": _sort_desc("created_at"),
                "limit": 5,
                "user_id": "u1",
            },
        ),
        Case(
            "query_threads",
            lambda c: c.chat.query_threads(
                filter={"channel_cid": "messaging:general"}, limit=5, reply_limit=3, user_id="u1"
            ),
            "QueryThreads",
            {
                "filter": {"channel_cid": "messaging:general"},
                "limit": 5,
                "reply_limit": 3,
                "user_id": "u1",
            },
        ),
        Case(
            "get_thread",
            lambda c: c.chat.get_thread("m1", reply_limit=3, participant_limit=4),
            "GetThread",
            {"message_id": "m1", "reply_limit": 3, "participant_limit": 4},
        ),
    ]


def read_state_cases() -> list[Case]:
    ch = {"type": "messaging", "id": "general"}
    return [
        Case(
            "mark_read",
            lambda c: c.chat.mark_read("messaging", "general", message_id="m1", user_id="u1"),
            "MarkRead",
            {**ch, "message_id": "m1", "user_id": "u1"},
        ),
        Case(
            "mark_unread",
            lambda c: c.chat.mark_unread(
                "messaging", "general", message_timestamp=WHEN, user_id="u1"
            ),
            "MarkUnread",
            {**ch, "message_timestamp": WHEN_TEXT, "user_id": "u1"},
        ),
        Case(
            "unread_counts",
            lambda c: c.chat.unread_counts(user_id="u1"),
            "UnreadCounts",
            {"user_id": "u1"},
        ),
        Case(
            "unread_counts_batch",
            lambda c: c.chat.unread_counts_batch(user_ids=["u1", "u2"]),
            "UnreadCountsBatch",
            {"user_ids": ["u1", "u2"]},
        ),
        Case(
            "mark_channels_read",
            lambda c: c.chat.mark_channels_read(
                user_id="u1", read_by_channel={"messaging:general": "m1"}
            ),
            "MarkChannelsRead",
            {"user_id": "u1", "read_by_channel": {"messaging:general": "m1"}},
        ),
    ]


def blocklist_cases() -> list[Case]:
    return [
        Case(
            "create_block_list",
            lambda c: c.create_block_list(
                name=BLOCKLIST,
                words=["foo", "bar"],
                type="word",
                is_leet_check_enabled=True,
                user_id="u1",
            ),
            "CreateBlockList",
            {
                "name": BLOCKLIST,
                "words": ["foo", "bar"],
                "type": "word",
                "is_leet_check_enabled": True,
                "user_id": "u1",
            },
        ),
        Case(
            "get_block_list",
            lambda c: c.get_block_list(BLOCKLIST, team="blue"),
            "GetBlockList",
            {"name": BLOCKLIST, "team": "blue"},
        ),
        Case(
            "update_block_list",
            lambda c: c.update_block_list(
                BLOCKLIST, words=["baz"], is_plural_check_enabled=False, user_id="u1"
            ),
            "UpdateBlockList",
            {
                "name": BLOCKLIST,
                "words": ["baz"],
                "is_plural_check_enabled": False,
                "user_id": "u1",
            },
        ),
        Case(
            "delete_block_list",
            lambda c: c.delete_block_list(BLOCKLIST, user_id="u1"),
            "DeleteBlockList",
            {"name": BLOCKLIST, "user_id": "u1"},
        ),
        Case(
            "list_block_lists",
            lambda c: c.list_block_lists(team="blue", limit=25),
            "ListBlockLists",
            {"team": "blue", "limit": 25},
        ),
    ]


def campaign_cases() -> list[Case]:
    return [
        Case(
            "create_campaign",
            lambda c: c.chat.create_campaign(
                sender_id="u1",
                message_template=models.CampaignMessageTemplate(text="Hi {{ receiver.name }}"),
                name="spring",
                user_ids=["u2", "u3"],
                create_channels=True,
                skip_push=True,
            ),
            "CreateCampaign",
            {
                "sender_id": "u1",
                "message_template": {"text": "Hi {{ receiver.name }}"},
                "name": "spring",
                "user_ids": ["u2", "u3"],
                "create_channels": True,
                "skip_push": True,
            },
        ),
        Case(
            "query_campaigns",
            lambda c: c.chat.query_campaigns(
                filter={"status": "running"}, sort=[_desc("created_at")], limit=5
            ),
            "QueryCampaigns",
            {"filter": {"status": "running"}, "sort": _sort_desc("created_at"), "limit": 5},
        ),
        Case(
            "get_campaign",
            lambda c: c.chat.get_campaign("cmp1", limit=10),
            "GetCampaign",
            {"id": "cmp1", "limit": 10},
        ),
        Case(
            "start_campaign",
            lambda c: c.chat.start_campaign("cmp1", scheduled_for=WHEN),
            "StartCampaign",
            {"id": "cmp1", "scheduled_for": WHEN_TEXT},
        ),
        Case(
            "stop_campaign",
            lambda c: c.chat.stop_campaign("cmp1"),
            "StopCampaign",
            {"id": "cmp1"},
        ),
    ]


def poll_cases() -> list[Case]:
    return [
        Case(
            "create_poll",
            lambda c: c.create_poll(
                name="Lunch?",
                options=[
                    models.PollOptionInput(text="pizza"),
                    models.PollOptionInput(text="salad"),
                ],
                enforce_unique_vote=True,
                max_votes_allowed=1,
                voting_visibility="anonymous",
                custom={"topic": "food"},
                user_id="u1",
            ),
            "CreatePoll",
            {
                "name": "Lunch?",
                "options": [{"text": "pizza"}, {"text": "salad"}],
                "enforce_unique_vote": True,
                "max_votes_allowed": 1,
                "voting_visibility": "anonymous",
                "custom": {"topic": "food"},
                "user_id": "u1",
            },
        ),
        Case(
            "get_poll",
            lambda c: c.get_poll("p1", user_id="u1"),
            "GetPoll",
            {"poll_id": "p1", "user_id": "u1"},
        ),
        Case(
            "update_poll_partial",
            lambda c: c.update_poll_partial(
                "p1", set={"is_closed": True}, unset=["description"], user_id="u1"
            ),
            "UpdatePollPartial",
            {
                "poll_id": "p1",
                "set": {"is_closed": True},
                "unset": ["description"],
                "user_id": "u1",
            },
        ),
        Case(
            "cast_poll_vote",
            lambda c: c.chat.cast_poll_vote(
                "m1", "p1", vote=models.VoteData(option_id="o1"), user_id="u1"
            ),
            "CastPollVote",
            {"message_id": "m1", "poll_id": "p1", "vote": {"option_id": "o1"}, "user_id": "u1"},
        ),
        Case(
            "query_polls",
            lambda c: c.query_polls(user_id="u1", filter={"is_closed": False}, limit=10),
            "QueryPolls",
            {"user_id": "u1", "filter": {"is_closed": False}, "limit": 10},
        ),
        Case(
            "delete_poll",
            lambda c: c.delete_poll("p1", user_id="u1"),
            "DeletePoll",
            {"poll_id": "p1", "user_id": "u1"},
        ),
    ]


def moderation_cases() -> list[Case]:
    return [
        Case(
            "ban",
            lambda c: c.moderation.ban(
                target_user_id="u2",
                banned_by_id="u1",
                channel_cid="messaging:general",
                reason="spam",
                timeout=60,
                delete_messages="soft",
            ),
            "ban",
            {
                "target_user_id": "u2",
                "banned_by_id": "u1",
                "channel_cid": "messaging:general",
                "reason": "spam",
                "timeout": 60,
                "delete_messages": "soft",
            },
        ),
        Case(
            "unban",
            lambda c: c.moderation.unban(
                target_user_id="u2", channel_cid="messaging:general", unbanned_by_id="u1"
            ),
            "unban",
            {"target_user_id": "u2", "channel_cid": "messaging:general", "unbanned_by_id": "u1"},
        ),
        Case(
            "mute",
            lambda c: c.moderation.mute(target_ids=["u2", "u3"], user_id="u1", timeout=30),
            "mute",
            {"target_ids": ["u2", "u3"], "user_id": "u1", "timeout": 30},
        ),
        Case(
            "unmute",
            lambda c: c.moderation.unmute(target_ids=["u2"], user_id="u1"),
            "unmute",
            {"target_ids": ["u2"], "user_id": "u1"},
        ),
        Case(
            "flag",
            lambda c: c.moderation.flag(
                entity_id="m1",
                entity_type="stream:chat:v1:message",
                entity_creator_id="u2",
                reason="harassment",
                custom={"severity": "high"},
                user_id="u1",
            ),
            "flag",
            {
                "entity_id": "m1",
                "entity_type": "stream:chat:v1:message",
                "entity_creator_id": "u2",
                "reason": "harassment",
                "custom": {"severity": "high"},
                "user_id": "u1",
            },
        ),
        Case(
            "check",
            lambda c: c.moderation.check(
                entity_creator_id="u2",
                entity_id="m1",
                entity_type="stream:chat:v1:message",
                config_key=CONFIG_KEY,
                moderation_payload=models.ModerationPayload(texts=["you are awful"]),
                test_mode=True,
                user_id="u1",
            ),
            "check",
            {
                "entity_creator_id": "u2",
                "entity_id": "m1",
                "entity_type": "stream:chat:v1:message",
                "config_key": CONFIG_KEY,
                "moderation_payload": {"texts": ["you are awful"]},
                "test_mode": True,
                "user_id": "u1",
            },
        ),
        Case(
            "query_review_queue",
            lambda c: c.moderation.query_review_queue(
                filter={"entity_type": "stream:chat:v1:message"},
                sort=[_desc("created_at")],
                limit=20,
                user_id="u1",
            ),
            "query_review_queue",
            {
                "filter": {"entity_type": "stream:chat:v1:message"},
                "sort": _sort_desc("created_at"),
                "limit": 20,
                "user_id": "u1",
            },
        ),
        Case(
            "submit_action",
            lambda c: c.moderation.submit_action(
                action_type="ban",
                item_id="item1",
                ban=models.BanActionRequestPayload(
                    reason="spam", timeout=60, channel_ban_only=True
                ),
                user_id="u1",
            ),
            "submit_action",
            {
                "action_type": "ban",
                "item_id": "item1",
                "ban": {"reason": "spam", "timeout": 60, "channel_ban_only": True},
                "user_id": "u1",
            },
        ),
        Case(
            "upsert_config",
            lambda c: c.moderation.upsert_config(
                key=CONFIG_KEY,
                _async=False,
                block_list_config=models.BlockListConfig(
                    enabled=True, rules=[models.BlockListRule(name=BLOCKLIST, action="remove")]
                ),
                user_id="u1",
            ),
            "upsert_config",
            {
                "key": CONFIG_KEY,
                "async": False,
                "block_list_config": {
                    "enabled": True,
                    "rules": [{"name": BLOCKLIST, "action": "remove"}],
                },
                "user_id": "u1",
            },
        ),
        Case(
            "get_config",
            lambda c: c.moderation.get_config(CONFIG_KEY, team="blue"),
            "get_config",
            {"key": CONFIG_KEY, "team": "blue"},
        ),
        Case(
            "delete_config",
            lambda c: c.moderation.delete_config(CONFIG_KEY, user_id="u1"),
            "delete_config",
            {"key": CONFIG_KEY, "user_id": "u1"},
        ),
        Case(
            "query_banned_users",
            lambda c: c.chat.query_banned_users(
                models.QueryBannedUsersPayload(
                    filter_conditions={"channel_cid": "messaging:general"},
                    exclude_expired_bans=True,
                    limit=5,
                    user_id="u1",
                )
            ),
            "QueryBannedUsers",
            {
                "filter_conditions": {"channel_cid": "messaging:general"},
                "exclude_expired_bans": True,
                "limit": 5,
                "user_id": "u1",
            },
        ),
    ]


def app_cases() -> list[Case]:
    return [
        Case("get_app", lambda c: c.get_app(), "GetApp", {}),
        Case(
            "get_rate_limits",
            lambda c: c.get_rate_limits(server_side=True, endpoints="QueryChannels,Search"),
            "GetRateLimits",
            {"server_side": True, "endpoints": "QueryChannels,Search"},
        ),
        Case("get_task", lambda c: c.get_task("t1"), "GetTask", {"id": "t1"}),
    ]


def more_message_cases() -> list[Case]:
    ch = {"type": "messaging", "id": "general"}
    return [
        Case(
            "get_replies_member_custom_include",
            lambda c: c.chat.get_replies("m1", id_around="m5", member_custom_include=["a", "b"]),
            "GetReplies",
            {"parent_id": "m1", "id_around": "m5", "member_custom_include": ["a", "b"]},
        ),
        # Date-times in a query string: the SDK writes ``isoformat()``; we send the text given.
        Case(
            "get_pinned_messages",
            lambda c: c.chat.get_pinned_messages(
                "messaging", "general", limit=5, pinned_at_before=WHEN, user_id="u1"
            ),
            "GetPinnedMessages",
            {**ch, "limit": 5, "pinned_at_before": WHEN_TEXT, "user_id": "u1"},
        ),
        Case(
            "run_message_action",
            lambda c: c.chat.run_message_action(
                "m1", form_data={"image_action": "shuffle"}, user_id="u1"
            ),
            "RunMessageAction",
            {"id": "m1", "form_data": {"image_action": "shuffle"}, "user_id": "u1"},
        ),
        Case(
            "commit_message", lambda c: c.chat.commit_message("m1"), "CommitMessage", {"id": "m1"}
        ),
        Case(
            "create_reminder",
            lambda c: c.chat.create_reminder("m1", remind_at=WHEN, user_id="u1"),
            "CreateReminder",
            {"message_id": "m1", "remind_at": WHEN_TEXT, "user_id": "u1"},
        ),
        Case(
            "delete_reminder",
            lambda c: c.chat.delete_reminder("m1", user_id="u1"),
            "DeleteReminder",
            {"message_id": "m1", "user_id": "u1"},
        ),
        Case(
            "get_draft",
            lambda c: c.chat.get_draft("messaging", "general", parent_id="m1", user_id="u1"),
            "GetDraft",
            {**ch, "parent_id": "m1", "user_id": "u1"},
        ),
        Case(
            "mark_delivered",
            lambda c: c.chat.mark_delivered(
                user_id="u1",
                latest_delivered_messages=[
                    models.DeliveredMessagePayload(cid="messaging:general", id="m1")
                ],
            ),
            "MarkDelivered",
            {
                "user_id": "u1",
                "latest_delivered_messages": [{"cid": "messaging:general", "id": "m1"}],
            },
        ),
        Case(
            "send_user_custom_event",
            lambda c: c.chat.send_user_custom_event(
                "u2",
                event=models.UserCustomEventRequest(
                    type="friendship_request", custom={"from": "u1"}
                ),
            ),
            "SendUserCustomEvent",
            {"user_id": "u2", "event": {"type": "friendship_request", "custom": {"from": "u1"}}},
        ),
        Case(
            "unmute_channel",
            lambda c: c.chat.unmute_channel(channel_cids=["messaging:general"], user_id="u1"),
            "UnmuteChannel",
            {"channel_cids": ["messaging:general"], "user_id": "u1"},
        ),
        Case(
            "query_message_flags",
            lambda c: c.chat.query_message_flags(
                models.QueryMessageFlagsPayload(
                    filter_conditions={"channel_cid": "messaging:general"},
                    show_deleted_messages=True,
                    limit=10,
                    user_id="u1",
                )
            ),
            "QueryMessageFlags",
            {
                "filter_conditions": {"channel_cid": "messaging:general"},
                "show_deleted_messages": True,
                "limit": 10,
                "user_id": "u1",
            },
        ),
        Case(
            "query_future_channel_bans",
            lambda c: c.chat.query_future_channel_bans(
                models.QueryFutureChannelBansPayload(
                    target_user_id="u2", include_total=True, user_id="u1"
                )
            ),
            "QueryFutureChannelBans",
            {"target_user_id": "u2", "include_total": True, "user_id": "u1"},
        ),
    ]


def more_cases() -> list[Case]:
    return [
        # The body's own ``id`` shares its name with the path's: the SDK calls it ``id_``,
        # the tool ``body_id``; both must put it in the body, the path id in the path.
        Case(
            "update_campaign",
            lambda c: c.chat.update_campaign(
                "cmp1",
                sender_id="u1",
                message_template=models.CampaignMessageTemplate(text="Hello again"),
                id_="cmp1-v2",
                name="autumn",
            ),
            "UpdateCampaign",
            {
                "id": "cmp1",
                "sender_id": "u1",
                "message_template": {"text": "Hello again"},
                "body_id": "cmp1-v2",
                "name": "autumn",
            },
        ),
        # Stream's spec spells this body's keys ``Sort`` and ``Filter``; the tool keeps them.
        Case(
            "query_segment_targets",
            lambda c: c.chat.query_segment_targets(
                "seg1", limit=10, sort=[_desc("created_at")], filter={"target_id": {"$in": ["u2"]}}
            ),
            "QuerySegmentTargets",
            {
                "id": "seg1",
                "limit": 10,
                "Sort": _sort_desc("created_at"),
                "Filter": {"target_id": {"$in": ["u2"]}},
            },
        ),
        Case(
            "create_poll_option",
            lambda c: c.create_poll_option("p1", text="tacos", custom={"veg": True}, user_id="u1"),
            "CreatePollOption",
            {"poll_id": "p1", "text": "tacos", "custom": {"veg": True}, "user_id": "u1"},
        ),
        Case(
            "query_poll_votes",
            lambda c: c.query_poll_votes("p1", user_id="u1", filter={"option_id": "o1"}, limit=3),
            "QueryPollVotes",
            {"poll_id": "p1", "user_id": "u1", "filter": {"option_id": "o1"}, "limit": 3},
        ),
        Case(
            "delete_poll_vote",
            lambda c: c.chat.delete_poll_vote("m1", "p1", "v1", user_id="u1"),
            "DeletePollVote",
            {"message_id": "m1", "poll_id": "p1", "vote_id": "v1", "user_id": "u1"},
        ),
        Case(
            "create_device",
            lambda c: c.create_device(id="tok1", push_provider="firebase", user_id="u1"),
            "CreateDevice",
            {"id": "tok1", "push_provider": "firebase", "user_id": "u1"},
        ),
        Case(
            "list_devices",
            lambda c: c.list_devices(user_id="u1"),
            "ListDevices",
            {"user_id": "u1"},
        ),
        Case(
            "delete_device",
            lambda c: c.delete_device("tok1", user_id="u1"),
            "DeleteDevice",
            {"id": "tok1", "user_id": "u1"},
        ),
        # A URL as a query value: reserved characters must survive the encoding.
        Case(
            "get_og",
            lambda c: c.get_og("https://example.com/a b?x=1&y=é#top"),
            "GetOG",
            {"url": "https://example.com/a b?x=1&y=é#top"},
        ),
        Case(
            "delete_file",
            lambda c: c.delete_file(url="https://cdn.example.com/f/1.txt?sig=a+b"),
            "DeleteFile",
            {"url": "https://cdn.example.com/f/1.txt?sig=a+b"},
        ),
        Case(
            "export_user",
            lambda c: c.export_user("u1@example.com"),
            "ExportUser",
            {"user_id": "u1@example.com"},
        ),
    ]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
TEXT = "plain notes, with unicode: é ü\n".encode()
UPLOADS = {"pixel.png": PNG, "notes.txt": TEXT}


def write_uploads(directory: Path) -> None:
    for name, data in UPLOADS.items():
        (directory / name).write_bytes(data)


def _u1() -> models.OnlyUserID:
    return models.OnlyUserID(id="u1")


def upload_cases(files: Path) -> list[Case]:
    """Uploads: the SDK reads a file from disk and names the part after it, with a content
    type guessed from its extension; the tool takes base64 (or a data URL) and a file name."""
    png, txt = str(files / "pixel.png"), str(files / "notes.txt")
    png64 = base64.b64encode(PNG).decode()
    text64 = base64.b64encode(TEXT).decode()
    return [
        Case(
            "upload_file",
            lambda c: c.upload_file(txt, user=_u1()),
            "UploadFile",
            {
                "file": text64,
                "filename": "notes.txt",
                "content_type": "text/plain",
                "user": {"id": "u1"},
            },
        ),
        Case(
            "upload_file_type_from_name",
            lambda c: c.upload_file(txt, user=_u1()),
            "UploadFile",
            {"file": text64, "filename": "notes.txt", "user": {"id": "u1"}},
        ),
        Case(
            "upload_image",
            lambda c: c.upload_image(
                png,
                upload_sizes=[models.ImageSize(width=64, height=64, crop="center", resize="crop")],
                user=_u1(),
            ),
            "UploadImage",
            {
                "file": "data:image/png;base64," + png64,
                "filename": "pixel.png",
                "upload_sizes": [{"width": 64, "height": 64, "crop": "center", "resize": "crop"}],
                "user": {"id": "u1"},
            },
        ),
        Case(
            "upload_channel_file",
            lambda c: c.chat.upload_channel_file("messaging", "general", txt, user=_u1()),
            "UploadChannelFile",
            {
                "type": "messaging",
                "id": "general",
                "file": text64,
                "filename": "notes.txt",
                "content_type": "text/plain",
                "user": {"id": "u1"},
            },
        ),
        Case(
            "upload_channel_image",
            lambda c: c.chat.upload_channel_image("messaging", "general", file=png, user=_u1()),
            "UploadChannelImage",
            {
                "type": "messaging",
                "id": "general",
                "file": png64,
                "filename": "pixel.png",
                "user": {"id": "u1"},
            },
        ),
    ]


def cases(files: Path) -> list[Case]:
    """Every case; upload cases read their files from ``files`` (see :func:`write_uploads`)."""
    return [
        *user_cases(),
        *channel_cases(),
        *message_cases(),
        *more_message_cases(),
        *read_state_cases(),
        *blocklist_cases(),
        *campaign_cases(),
        *poll_cases(),
        *moderation_cases(),
        *more_cases(),
        *app_cases(),
        *upload_cases(files),
    ]
