"""Message reminders (CreateReminder, UpdateReminder, DeleteReminder, QueryReminders).

They need ``user_message_reminders`` on the channel (its type or its ``config_overrides``),
as Stream does. A reminder without ``remind_at`` is a bookmark. Nothing is delivered when a
reminder is due: the sandbox has no push or WebSocket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import paging, permissions, records, typeconfig
from stream_mcp.sandbox.context import Call, obj, opt_str, opt_time, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.store import CHANNELS, REMINDERS
from stream_mcp.sandbox.views import Renderer


def _owner(call: Call, source: Mapping[str, Any]) -> str:
    user_id = call.actor(
        opt_str(source, "user_id"),
        user_ref(source.get("user")),
        required="user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.require_user(call, user_id)
    return user_id


def _message(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    message = records.require_message(call, call.path["message_id"])
    channel = call.store.get(CHANNELS, message["cid"])
    if channel is None or channel.get("deleted_at"):
        raise not_found(f"Message with id {message['id']} doesn't exist")
    return message, channel


def _require_enabled(call: Call, channel: Mapping[str, Any]) -> None:
    if not typeconfig.effective(call.store, channel).get("user_message_reminders"):
        raise input_error(
            f"reminders are disabled for channel {channel['cid']}: enable "
            "user_message_reminders in the channel type or its config_overrides"
        )


def reminder_view(call: Call, doc: Mapping[str, Any]) -> dict[str, Any]:
    render = Renderer(call, doc["user_id"])
    out: dict[str, Any] = {
        "message_id": doc["message_id"],
        "user_id": doc["user_id"],
        "channel_cid": doc["channel_cid"],
        "remind_at": doc.get("remind_at"),
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "user": render.user(doc["user_id"]),
    }
    message = records.get_message(call, doc["message_id"])
    if message is not None:
        out["message"] = render.message(message)
    channel = call.store.get(CHANNELS, doc["channel_cid"])
    if channel is not None:
        out["channel"] = render.channel(channel)
    return {k: v for k, v in out.items() if v is not None}


def create_reminder(call: Call) -> dict[str, Any]:
    """CreateReminder (POST /messages/{message_id}/reminders)."""
    message, channel = _message(call)
    user_id = _owner(call, call.body)
    permissions.require_read(call, channel)
    _require_enabled(call, channel)
    if call.store.get(REMINDERS, message["id"], user_id) is not None:
        raise input_error(f"user {user_id} already has a reminder for message {message['id']}")
    now = call.stamp()
    doc: dict[str, Any] = {
        "message_id": message["id"],
        "user_id": user_id,
        "channel_cid": channel["cid"],
        "created_at": now,
        "updated_at": now,
    }
    remind_at = opt_time(call.body, "remind_at")
    if remind_at:
        doc["remind_at"] = remind_at
    call.store.put(REMINDERS, doc)
    return {"reminder": reminder_view(call, doc)}


def update_reminder(call: Call) -> dict[str, Any]:
    """UpdateReminder (PATCH /messages/{message_id}/reminders): change ``remind_at``."""
    message, channel = _message(call)
    user_id = _owner(call, call.body)
    _require_enabled(call, channel)
    doc = call.store.get(REMINDERS, message["id"], user_id)
    if doc is None:
        raise not_found(f"reminder of user {user_id} for message {message['id']} does not exist")
    if "remind_at" in call.body:
        remind_at = opt_time(call.body, "remind_at")
        if remind_at:
            doc["remind_at"] = remind_at
        else:
            doc.pop("remind_at", None)
    doc["updated_at"] = call.stamp()
    call.store.put(REMINDERS, doc)
    return {"reminder": reminder_view(call, doc)}


def delete_reminder(call: Call) -> dict[str, Any]:
    """DeleteReminder (DELETE /messages/{message_id}/reminders?user_id=)."""
    message, _channel = _message(call)
    user_id = _owner(call, call.query)
    if not call.store.delete(REMINDERS, message["id"], user_id):
        raise not_found(f"reminder of user {user_id} for message {message['id']} does not exist")
    return {}


def query_reminders(call: Call) -> dict[str, Any]:
    """QueryReminders (POST /reminders/query): the user's reminders; filters on message_id,
    channel_cid, remind_at, created_at."""
    user_id = _owner(call, call.body)
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("remind_at", 1)])
    found = []
    for doc in call.store.select(REMINDERS, user_id=user_id):
        view = {
            "message_id": doc["message_id"],
            "channel_cid": doc["channel_cid"],
            "remind_at": doc.get("remind_at"),
            "created_at": doc["created_at"],
            "_doc": doc,
        }
        if matches(view, conditions):
            found.append(view)
    ordered = sort_docs(found, sort)
    chunk, cursors = paging.page(ordered, call.body, default_limit=25, max_limit=100)
    return {"reminders": [reminder_view(call, v["_doc"]) for v in chunk], **cursors}
