"""Reactions: SendReaction, DeleteReaction, GetReactions (newest first)."""

from __future__ import annotations

from typing import Any

from stream_mcp.sandbox import events, permissions, records
from stream_mcp.sandbox.context import Call, obj, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import CHANNELS, MESSAGES, REACTIONS
from stream_mcp.sandbox.views import Renderer

_REACTION_FIELDS = frozenset({"type", "score"})
_REACTION_CONTROL = frozenset({"user", "user_id", "message_id"})
_REACTION_COMPUTED = frozenset({"created_at", "updated_at"})


def _message_and_channel(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    message = records.require_message(call, call.path["id"])
    channel = call.store.get(CHANNELS, message["cid"])
    if channel is None or channel.get("deleted_at"):
        raise not_found(f"Message with id {message['id']} doesn't exist")
    return message, channel


def send_reaction(call: Call) -> dict[str, Any]:
    """SendReaction (POST /messages/{id}/reaction): add or update the user's reaction."""
    message, channel = _message_and_channel(call)
    reaction = obj(call.body, "reaction", required=True)
    kind = reaction.get("type")
    if not isinstance(kind, str) or not kind:
        raise input_error("reaction.type is a required field", field="type")
    score = reaction.get("score", 1)
    if isinstance(score, bool) or not isinstance(score, int) or score < 0:
        raise input_error("reaction.score must be a non-negative integer", field="score")
    user_id = call.actor(
        reaction.get("user_id"),
        user_ref(reaction.get("user")),
        required="reaction.user or reaction.user_id must be provided when using server side auth",
    )
    assert user_id is not None
    if call.is_server:
        records.ensure_user(call, user_id, reaction.get("user"))
    else:
        permissions.require_member(call, channel, "CreateReaction")
        permissions.require_not_banned(call, channel, "CreateReaction")
    if message.get("type") == "deleted":
        raise input_error("cannot react to a deleted message")
    _, custom = records.split_fields(
        reaction, _REACTION_FIELDS, _REACTION_CONTROL | _REACTION_COMPUTED
    )
    now = call.stamp()
    replaced = False
    if call.body.get("enforce_unique"):
        for old in call.store.select(REACTIONS, message_id=message["id"], user_id=user_id):
            if old["type"] != kind:
                call.store.delete(REACTIONS, message["id"], user_id, old["type"])
                replaced = True
    existing = call.store.get(REACTIONS, message["id"], user_id, kind)
    doc = {
        "message_id": message["id"],
        "user_id": user_id,
        "type": kind,
        "score": score,
        "created_at": existing["created_at"] if existing else now,
        "updated_at": now,
        "custom": custom,
    }
    call.store.put(REACTIONS, doc)
    message["updated_at"] = now
    call.store.put(MESSAGES, message)
    kind_of_event = "reaction.updated" if existing or replaced else "reaction.new"
    events.record(call, kind_of_event, channel=channel, user=user_id, message=message, reaction=doc)
    render = Renderer(call)
    return {"message": render.message(message), "reaction": render.reaction(doc)}


def delete_reaction(call: Call) -> dict[str, Any]:
    """DeleteReaction (DELETE /messages/{id}/reaction/{type}?user_id=)."""
    message, channel = _message_and_channel(call)
    user_id = call.actor(
        call.query_str("user_id"),
        required="user_id must be provided when using server side auth",
    )
    assert user_id is not None
    kind = call.path["type"]
    existing = call.store.get(REACTIONS, message["id"], user_id, kind)
    if existing is None:
        raise not_found(
            f"reaction {kind!r} of user {user_id!r} on message {message['id']} does not exist"
        )
    call.store.delete(REACTIONS, message["id"], user_id, kind)
    message["updated_at"] = call.stamp()
    call.store.put(MESSAGES, message)
    events.record(
        call,
        "reaction.deleted",
        channel=channel,
        user=user_id,
        message=message,
        reaction=existing,
    )
    render = Renderer(call)
    return {"message": render.message(message), "reaction": render.reaction(existing)}


def get_reactions(call: Call) -> dict[str, Any]:
    """GetReactions (GET /messages/{id}/reactions): newest first, limit/offset."""
    message, channel = _message_and_channel(call)
    permissions.require_read(call, channel)
    limit = call.query_int("limit", default=10, maximum=300)
    offset = call.query_int("offset", default=0)
    docs = call.store.select(
        REACTIONS, message_id=message["id"], order_by="created_at", descending=True
    )
    render = Renderer(call)
    return {"reactions": [render.reaction(r) for r in docs[offset : offset + limit]]}
