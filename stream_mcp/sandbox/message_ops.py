"""Message operations beyond CRUD: pending-message commit, undelete, message actions (giphy),
translation, reaction queries and message history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import events, paging, permissions, records
from stream_mcp.sandbox.context import Call, obj, opt_str, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.messages import create_message
from stream_mcp.sandbox.store import CHANNELS, HISTORY, MEMBERS, MESSAGES, REACTIONS
from stream_mcp.sandbox.views import Renderer


def _channel(call: Call, message: Mapping[str, Any]) -> dict[str, Any]:
    channel = call.store.get(CHANNELS, message["cid"])
    if channel is None or channel.get("deleted_at"):
        raise not_found(f"Message with id {message['id']} doesn't exist")
    return channel


def commit_message(call: Call) -> dict[str, Any]:
    """CommitMessage (POST /messages/{id}/commit): a pending message becomes visible."""
    doc = records.require_message(call, call.path["id"])
    if not doc.get("pending"):
        raise input_error(f"message {doc['id']} is not pending")
    channel = _channel(call, doc)
    doc.pop("pending", None)
    doc.pop("pending_message_metadata", None)
    doc["updated_at"] = call.stamp()
    call.store.put(MESSAGES, doc)
    if not doc.get("parent_id") or doc.get("show_in_channel"):
        channel["last_message_at"] = doc["created_at"]
        call.store.put(CHANNELS, channel)
        for member in records.channel_members(call, channel["cid"]):
            if member.get("hidden"):
                member["hidden"] = False
                call.store.put(MEMBERS, member)
    events.record(call, "message.new", channel=channel, user=doc.get("user_id"), message=doc)
    return {"message": Renderer(call).message(doc)}


def undelete_message(call: Call) -> dict[str, Any]:
    """UndeleteMessage (POST /messages/{id}/undelete): restore a soft-deleted message."""
    doc = records.require_message(call, call.path["id"])
    if doc.get("type") != "deleted":
        raise input_error(f"message {doc['id']} is not deleted")
    undeleted_by = opt_str(call.body, "undeleted_by")
    if undeleted_by:
        records.require_user(call, undeleted_by)
    doc["type"] = "reply" if doc.get("parent_id") else "regular"
    doc.pop("deleted_at", None)
    doc["updated_at"] = call.stamp()
    call.store.put(MESSAGES, doc)
    events.record(call, "message.undeleted", message=doc)
    return {"message": Renderer(call).message(doc)}


def run_message_action(call: Call) -> dict[str, Any]:
    """RunMessageAction (POST /messages/{id}/action): the giphy preview's send/shuffle/cancel.

    ``send`` posts the command as a regular message, ``cancel`` drops the preview and
    ``shuffle`` returns it again (the sandbox has no other image to offer).
    """
    doc = records.require_message(call, call.path["id"])
    form = obj(call.body, "form_data", required=True)
    user_id = call.actor(
        opt_str(call.body, "user_id"),
        user_ref(call.body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    if doc.get("command") != "giphy":
        raise input_error(f"message {doc['id']} has no command to act on")
    if user_id != doc.get("user_id"):
        raise input_error("only the author of a command preview can act on it")
    action = form.get("image_action")
    if action not in ("send", "shuffle", "cancel"):
        raise input_error("form_data.image_action must be send, shuffle or cancel")
    channel = _channel(call, doc)
    render = Renderer(call, user_id)
    if action == "shuffle":
        return {"message": render.message(doc)}
    call.store.delete(MESSAGES, doc["id"])
    if action == "cancel":
        return {}
    sent = create_message(
        call,
        channel,
        {
            "text": doc["text"],
            "attachments": doc.get("attachments", []),
            "parent_id": doc.get("parent_id"),
            "type": "regular",
        },
        author=str(user_id),
    )
    sent.pop("command", None)
    if sent.get("type") == "ephemeral":
        sent["type"] = "reply" if sent.get("parent_id") else "regular"
        sent["command"] = "giphy"
        call.store.put(MESSAGES, sent)
        events.record(call, "message.new", channel=channel, user=str(user_id), message=sent)
    return {"message": render.message(sent)}


def translate_message(call: Call) -> dict[str, Any]:
    """TranslateMessage (POST /messages/{id}/translate).

    The sandbox has no translation service: ``i18n`` carries the original text under the
    requested language, and ``translation_unavailable`` says so.
    """
    doc = records.require_message(call, call.path["id"])
    language = opt_str(call.body, "language")
    if not language:
        raise input_error("language is a required field", field="language")
    channel = _channel(call, doc)
    permissions.require_read(call, channel)
    i18n = dict(doc.get("i18n") or {})
    i18n.setdefault("language", doc.get("language") or "en")
    i18n[f"{language}_text"] = doc.get("text", "")
    doc["i18n"] = i18n
    call.store.put(MESSAGES, doc)
    out = Renderer(call).message(doc)
    out["i18n"] = i18n
    out["translation_unavailable"] = True
    return {"message": out}


def query_reactions(call: Call) -> dict[str, Any]:
    """QueryReactions (POST /messages/{id}/reactions): filter (type, user_id), sort, cursors."""
    message = records.require_message(call, call.path["id"])
    permissions.require_read(call, _channel(call, message))
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("created_at", -1)])
    render = Renderer(call)
    docs = call.store.select(REACTIONS, message_id=message["id"])
    found = [d for d in docs if matches({**(d.get("custom") or {}), **d}, conditions)]
    ordered = sort_docs(found, sort)
    chunk, cursors = paging.page(ordered, call.body, default_limit=25, max_limit=100)
    return {"reactions": [render.reaction(r) for r in chunk], **cursors}


def query_message_history(call: Call) -> dict[str, Any]:
    """QueryMessageHistory (POST /messages/history): earlier versions of updated messages.

    Each update keeps the version it replaced; ``message_updated_at`` is when that version
    was written. Filters: ``message_id``, ``user_id`` (who wrote the version).
    """
    conditions = obj(call.body, "filter", required=True)
    if not conditions:
        raise input_error("filter must not be empty", field="filter")
    sort = parse_sort(call.body.get("sort"), default=[("message_updated_at", -1)])
    entries = []
    for doc in call.store.select(HISTORY):
        view = {
            "message_id": doc["message_id"],
            "text": doc.get("text", ""),
            "attachments": doc.get("attachments", []),
            "custom": doc.get("custom") or {},
            "message_updated_at": doc.get("message_updated_at"),
            "message_updated_by_id": doc.get("message_updated_by_id") or "",
            "user_id": doc.get("message_updated_by_id") or "",
            "is_deleted": False,
        }
        if matches(view, conditions):
            entries.append(view)
    ordered = sort_docs(entries, sort)
    chunk, cursors = paging.page(ordered, call.body, default_limit=10, max_limit=100)
    for entry in chunk:
        entry.pop("user_id", None)
    return {"message_history": chunk, **cursors}
