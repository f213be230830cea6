"""Read state: MarkRead, MarkUnread, UnreadCounts.

A user's read position in a channel is a timestamp; messages from others in the channel's main
list after it are unread. Members who never marked a channel read count from when they joined.
Thread read state is not emulated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import permissions, records
from stream_mcp.sandbox.context import Call, opt_str, opt_time, user_ref
from stream_mcp.sandbox.errors import feature_not_emulated, input_error
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
    if call.body.get("thread_id"):
        raise feature_not_emulated("thread read state (thread_id)")
    now = call.stamp()
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
    if call.body.get("thread_id"):
        raise feature_not_emulated("thread read state (thread_id)")
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


def unread_counts(call: Call) -> dict[str, Any]:
    """UnreadCounts (GET /unread?user_id=): per channel and per channel type."""
    user_id = call.actor(
        call.query_str("user_id"),
        required="user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.require_user(call, user_id)
    channels: list[dict[str, Any]] = []
    by_type: dict[str, dict[str, Any]] = {}
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
            channels.append(
                {"channel_id": channel["cid"], "unread_count": count, "last_read": last}
            )
    return {
        "total_unread_count": total,
        "total_unread_threads_count": 0,
        "channels": channels,
        "channel_type": [t for t in by_type.values() if t["unread_count"]],
        "threads": [],
    }
