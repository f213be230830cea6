"""v2 moderation's flag and unban, whose requests differ from their v1 counterparts.

v2's ``ban``, ``mute`` and ``unmute`` take v1's bodies and are served by
:mod:`stream_mcp.sandbox.moderation` as they are. ``flag`` names its target by entity
(``entity_type`` + ``entity_id``) instead of ``target_message_id``/``target_user_id``, and
``unban`` is a POST whose moderator is in the body. Both share v1's state: a v2 flag of a
message is seen by QueryMessageFlags, a v2 unban lifts a v1 ban.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import moderation, records, review_queue
from stream_mcp.sandbox.context import Call, obj, opt_str, user_ref
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.store import BANS

_PAYLOAD_LISTS = ("texts", "images", "videos", "audios", "other_media")


def moderation_payload(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``moderation_payload`` object: its lists must hold strings."""
    payload = obj(body, "moderation_payload")
    for name in _PAYLOAD_LISTS:
        value = payload.get(name)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            raise input_error(f"moderation_payload.{name} must be a list of strings", field=name)
    return payload


def flag(call: Call) -> dict[str, Any]:
    """flag (POST /api/v2/moderation/flag): report an entity to the review queue.

    ``stream:chat:v1:message`` and ``stream:user`` must name an existing message or user and
    are recorded as v1 flags too; any other entity type is custom content, known only by
    ``entity_id``, ``entity_creator_id`` and ``moderation_payload``.
    """
    body = call.body
    entity_type = opt_str(body, "entity_type")
    entity_id = opt_str(body, "entity_id")
    if not entity_type or not entity_id:
        raise input_error("entity_type and entity_id are required fields", field="entity_id")
    reporter = call.actor(
        body.get("user_id"),
        user_ref(body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert reporter is not None
    records.ensure_user(call, reporter, body.get("user"))
    payload = moderation_payload(body)
    reason = opt_str(body, "reason")
    if entity_type == review_queue.MESSAGE_ENTITY:
        message = moderation.flaggable_message(call, entity_id)
        _, item_id = moderation.create_flag(
            call, reporter, message, None, reason, body.get("custom"), payload
        )
    elif entity_type == review_queue.USER_ENTITY:
        records.require_user(call, entity_id)
        _, item_id = moderation.create_flag(
            call, reporter, None, entity_id, reason, body.get("custom"), payload
        )
    else:
        item_id = _flag_custom_entity(call, reporter, entity_type, entity_id, payload)
    return {"item_id": item_id}


def _flag_custom_entity(
    call: Call, reporter: str, entity_type: str, entity_id: str, payload: Mapping[str, Any]
) -> str:
    body = call.body
    custom = body.get("custom") or {}
    if not isinstance(custom, Mapping):
        raise input_error("custom must be an object", field="custom")
    item = review_queue.ensure_item(
        call,
        entity_type,
        entity_id,
        creator_id=opt_str(body, "entity_creator_id"),
        payload=payload,
    )
    if any(f["type"] == "user" and f["user_id"] == reporter for f in item["flags"]):
        raise input_error("this flag already exists")
    review_queue.add_flag(
        call, item, kind="user", user_id=reporter, reason=opt_str(body, "reason"), custom=custom
    )
    return str(item["id"])


def unban(call: Call) -> dict[str, Any]:
    """unban (POST /api/v2/moderation/unban?target_user_id=…[&channel_cid=…][&created_by=…]).

    Lifts the app-wide ban, or the one in ``channel_cid``; with ``created_by`` only a ban that
    user issued is lifted. Answers success when there is nothing to lift, as v1 Unban does.
    """
    target = call.query_str("target_user_id")
    if not target:
        raise input_error("target_user_id is a required field", field="target_user_id")
    channel_cid = call.query_str("channel_cid") or ""
    if channel_cid:
        records.require_channel(call, *records.split_cid(channel_cid))
    moderator = call.actor(call.body.get("unbanned_by_id"), user_ref(call.body.get("unbanned_by")))
    if moderator is not None:
        records.ensure_user(call, moderator, call.body.get("unbanned_by"))
    lift_ban(call, target, channel_cid, call.query_str("created_by"), moderator)
    return {}


def lift_ban(
    call: Call,
    target: str,
    channel_cid: str,
    created_by: str | None = None,
    by: str | None = None,
) -> bool:
    """Remove ``target``'s ban (app-wide when ``channel_cid`` is empty); True if one went.

    ``created_by`` lifts only a ban that user issued; ``by`` is who lifts it (the event's)."""
    ban = call.store.get(BANS, target, channel_cid)
    if ban is None or (created_by and ban.get("banned_by_id") != created_by):
        return False
    call.store.delete(BANS, target, channel_cid)
    moderation.record_unban(call, ban, by)
    return True
