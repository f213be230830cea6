"""Read state: MarkRead, MarkUnread, UnreadCounts.

A user's read position in a channel is a timestamp; messages from others in the channel's main
list after it are unread. Members who never marked a channel read count from when they joined.
Threads keep their own read state (see :mod:`stream_mcp.sandbox.threads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import permissions, records, threads
from stream_mcp.sandbox.context import Call, opt_str, opt_time, str_list, user_ref
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.store import MEMBERS, MESSAGES, READS
from stream_mcp.sandbox.views import Renderer


def _reader(call: Call, source: Mapping[str, Any]) -> str:
    user_id = call.actor(
        source.get("user_id"),
        user_ref(source.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    if call.is_server:
        records.ensure_user(call, user_id, source.get("user"))
    return user_id


def _message_in(call: Call, cid: str, message_id: str, field: str) -> dict[str, Any]:
    message = call.store.get(MESSAGES, message_id)
    if message is None or message["cid"] != cid:
        raise input_error(f"message {message_id} does not exist in channel {cid}", field=field)
    return message


def mark_read(call: Call) -> dict[str, Any]:
    """MarkRead (POST /channels/{type}/{id}/read): up to now or to ``message_id``."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    user_id = _reader(call, call.body)
    permissions.require_read(call, channel)
    now = call.stamp()
    thread_id = opt_str(call.body, "thread_id")
    if thread_id:
        return _mark_thread_read(call, channel, user_id, thread_id, now)
    message_id = opt_str(call.body, "message_id")
    if message_id:
        last_read = _message_in(call, channel["cid"], message_id, "message_id")["created_at"]
    else:
        last_read = now
        latest = records.visible_messages(call, channel, user_id)
        message_id = latest[-1]["id"] if latest else None
    read = {"cid": channel["cid"], "user_id": user_id, "last_read": last_read}
    if message_id:
        read["last_read_message_id"] = message_id
    call.store.put(READS, read)
    render = Renderer(call)
    event: dict[str, Any] = {
        "type": "message.read",
        "cid": channel["cid"],
        "channel_id": channel["id"],
        "channel_type": channel["type"],
        "created_at": now,
        "user": render.user(user_id),
        "channel": render.channel(channel),
    }
    if message_id:
        event["last_read_message_id"] = message_id
    if channel.get("last_message_at"):
        event["channel_last_message_at"] = channel["last_message_at"]
    if channel.get("team"):
        event["team"] = channel["team"]
    return {"event": event}


def mark_unread(call: Call) -> dict[str, Any]:
    """MarkUnread: the given message (or timestamp) and everything after it become unread."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    user_id = _reader(call, call.body)
    permissions.require_read(call, channel)
    thread_id = opt_str(call.body, "thread_id")
    if thread_id:
        parent = _message_in(call, channel["cid"], thread_id, "thread_id")
        threads.mark_thread_read(call, parent["id"], user_id, parent["created_at"], "")
        return {}
    message_id = opt_str(call.body, "message_id")
    stamp = opt_time(call.body, "message_timestamp")
    if message_id:
        stamp = _message_in(call, channel["cid"], message_id, "message_id")["created_at"]
    if stamp is None:
        raise input_error("either message_id or message_timestamp must be set", field="message_id")
    previous = [
        m for m in records.visible_messages(call, channel, user_id) if m["created_at"] < stamp
    ]
    read = {"cid": channel["cid"], "user_id": user_id, "last_read": records.just_before(stamp)}
    if previous:
        read["last_read_message_id"] = previous[-1]["id"]
    call.store.put(READS, read)
    return {}


def _mark_thread_read(
    call: Call, channel: Mapping[str, Any], user_id: str, thread_id: str, now: str
) -> dict[str, Any]:
    parent = _message_in(call, channel["cid"], thread_id, "thread_id")
    replies = threads.replies_of(call, parent["id"], user_id)
    last_id = replies[-1]["id"] if replies else parent["id"]
    threads.mark_thread_read(call, parent["id"], user_id, now, last_id)
    render = Renderer(call)
    return {
        "event": {
            "type": "message.read",
            "cid": channel["cid"],
            "channel_id": channel["id"],
            "channel_type": channel["type"],
            "created_at": now,
            "user": render.user(user_id),
            "thread": threads.thread_view(call, parent, user_id),
            "last_read_message_id": last_id,
        }
    }


def counts_for(call: Call, user_id: str) -> dict[str, Any]:
    """UnreadCounts' answer for one user: channels, channel types and threads."""
    channels: list[dict[str, Any]] = []
    by_type: dict[str, dict[str, Any]] = {}
    by_team: dict[str, int] = {}
    total = 0
    for member in call.store.select(MEMBERS, user_id=user_id):
        channel = records.get_channel(call, member["cid"])
        if channel is None:
            continue
        count = records.unread_count(call, channel, user_id)
        last, _ = records.last_read(call, channel["cid"], user_id)
        kind = by_type.setdefault(
            channel["type"],
            {"channel_type": channel["type"], "channel_count": 0, "unread_count": 0},
        )
        if count:
            total += count
            kind["channel_count"] += 1
            kind["unread_count"] += count
            if channel.get("team"):
                by_team[channel["team"]] = by_team.get(channel["team"], 0) + count
            channels.append(
                {"channel_id": channel["cid"], "unread_count": count, "last_read": last}
            )
    unread_threads = threads.unread_threads(call, user_id)
    out: dict[str, Any] = {
        "total_unread_count": total,
        "total_unread_threads_count": len(unread_threads),
        "channels": channels,
        "channel_type": [t for t in by_type.values() if t["unread_count"]],
        "threads": unread_threads,
    }
    if by_team:
        out["total_unread_count_by_team"] = by_team
    return out


def unread_counts(call: Call) -> dict[str, Any]:
    """UnreadCounts (GET /unread?user_id=): per channel, channel type and thread."""
    user_id = call.actor(
        call.query_str("user_id"),
        required="user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.require_user(call, user_id)
    return counts_for(call, user_id)


def unread_counts_batch(call: Call) -> dict[str, Any]:
    """UnreadCountsBatch (POST /unread_batch): UnreadCounts for up to 100 users."""
    user_ids = str_list(call.body, "user_ids")
    if not user_ids:
        raise input_error("user_ids is a required field", field="user_ids")
    if len(user_ids) > 100:
        raise input_error("user_ids accepts at most 100 ids", field="user_ids")
    return {
        "counts_by_user": {
            uid: counts_for(call, uid)
            for uid in dict.fromkeys(user_ids)
            if records.get_user(call, uid) is not None
        }
    }


def mark_channels_read(call: Call) -> dict[str, Any]:
    """MarkChannelsRead (POST /channels/read): every channel (or those in ``read_by_channel``)
    read up to now for the user."""
    user_id = _reader(call, call.body)
    now = call.stamp()
    wanted = call.body.get("read_by_channel")
    if wanted is not None and not isinstance(wanted, Mapping):
        raise input_error("read_by_channel must map cids to message ids", field="read_by_channel")
    for member in call.store.select(MEMBERS, user_id=user_id):
        channel = records.get_channel(call, member["cid"])
        if channel is None or (wanted and channel["cid"] not in wanted):
            continue
        latest = records.visible_messages(call, channel, user_id)
        read = {"cid": channel["cid"], "user_id": user_id, "last_read": now}
        if latest:
            read["last_read_message_id"] = latest[-1]["id"]
        call.store.put(READS, read)
    return {}


def mark_delivered(call: Call) -> dict[str, Any]:
    """MarkDelivered (POST /channels/delivered): records the latest delivered message per
    channel for the user (delivery receipts); unknown messages are skipped, as nothing
    can be delivered twice."""
    user_id = call.actor(
        opt_str(call.body, "user_id"),
        call.query_str("user_id"),
        user_ref(call.body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.ensure_user(call, user_id, call.body.get("user"))
    latest = call.body.get("latest_delivered_messages")
    if not isinstance(latest, list) or not latest:
        raise input_error(
            "latest_delivered_messages must not be empty", field="latest_delivered_messages"
        )
    now = call.stamp()
    for item in latest:
        if not isinstance(item, Mapping) or not item.get("cid") or not item.get("id"):
            raise input_error(
                "every delivered message needs cid and id", field="latest_delivered_messages"
            )
        channel_type, channel_id = records.split_cid(str(item["cid"]))
        channel = records.require_channel(call, channel_type, channel_id)
        read = call.store.get(READS, channel["cid"], user_id)
        if read is None:
            last, _ = records.last_read(call, channel["cid"], user_id)
            read = {"cid": channel["cid"], "user_id": user_id, "last_read": last}
        read["last_delivered_at"] = now
        read["last_delivered_message_id"] = str(item["id"])
        call.store.put(READS, read)
    return {}
