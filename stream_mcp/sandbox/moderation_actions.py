"""v2 moderation's submit_action: a moderator's decision on a review item or a user.

Emulated actions: ``mark_reviewed``, ``delete_message``, ``ban`` and ``unban``. Each does
what the same v1 operation does (the message is deleted, the ban stored where SendMessage
checks it) and is logged on the review item, which is then reviewed. Other action types
answer "not emulated" rather than pretend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stream_mcp.sandbox import messages, moderation, moderation_v2, records, review_queue
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, user_ref
from stream_mcp.sandbox.errors import feature_not_emulated, input_error

Action = Callable[[Call, dict[str, Any] | None, str | None, Mapping[str, Any]], None]


def _entity_message(call: Call, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if item is None or item["entity_type"] != review_queue.MESSAGE_ENTITY:
        return None
    return records.get_message(call, item["entity_id"])


def _mark_reviewed(
    call: Call, item: dict[str, Any] | None, moderator: str | None, options: Mapping[str, Any]
) -> None:
    if item is None:
        raise input_error("item_id is required for mark_reviewed", field="item_id")
    review_queue.record_action(
        call, item, "mark_reviewed", moderator, opt_str(options, "decision_reason")
    )


def _delete_message(
    call: Call, item: dict[str, Any] | None, moderator: str | None, options: Mapping[str, Any]
) -> None:
    message_id = opt_str(options, "entity_id")
    if message_id is None:
        message = _entity_message(call, item)
        if message is None:
            raise input_error(
                "delete_message needs a message item_id or delete_message.entity_id",
                field="item_id",
            )
    else:
        message = records.require_message(call, message_id)
        item = item or review_queue.find_item(call, review_queue.MESSAGE_ENTITY, message_id)
    messages.erase_message(call, message, hard=bool(opt_bool(options, "hard_delete")))
    if item is not None:
        review_queue.record_action(
            call, item, "delete_message", moderator, opt_str(options, "reason")
        )


def _target(item: Mapping[str, Any] | None, options: Mapping[str, Any], action: str) -> str:
    target = opt_str(options, "target_user_id") or (item or {}).get("entity_creator_id")
    if not target:
        raise input_error(
            f"{action} needs an item_id with an entity creator or {action}.target_user_id",
            field="target_user_id",
        )
    return str(target)


def _ban(
    call: Call, item: dict[str, Any] | None, moderator: str | None, options: Mapping[str, Any]
) -> None:
    target = _target(item, options, "ban")
    records.require_user(call, target)
    channel = None
    cid = opt_str(options, "channel_cid")
    message = _entity_message(call, item)
    if cid is None and opt_bool(options, "channel_ban_only") and message is not None:
        cid = str(message["cid"])
    if cid:
        channel = records.require_channel(call, *records.split_cid(cid))
    moderation.apply_ban(call, target, channel, moderator, options)
    if item is not None:
        review_queue.record_action(call, item, "ban", moderator, opt_str(options, "reason"))


def _unban(
    call: Call, item: dict[str, Any] | None, moderator: str | None, options: Mapping[str, Any]
) -> None:
    target = _target(item, options, "unban")
    cid = opt_str(options, "channel_cid") or ""
    moderation_v2.lift_ban(call, target, cid, by=moderator)
    if item is not None:
        review_queue.record_action(
            call, item, "unban", moderator, opt_str(options, "decision_reason")
        )


ACTIONS: dict[str, Action] = {
    "mark_reviewed": _mark_reviewed,
    "delete_message": _delete_message,
    "ban": _ban,
    "unban": _unban,
}


def submit_action(call: Call) -> dict[str, Any]:
    """submit_action (POST /api/v2/moderation/submit_action): ``action_type`` on ``item_id``
    (or, for ban, unban and delete_message, straight on the target named in the action's
    object); answers the updated item."""
    body = call.body
    action_type = opt_str(body, "action_type")
    if not action_type:
        raise input_error("action_type is a required field", field="action_type")
    moderator = call.actor(body.get("user_id"), user_ref(body.get("user")))
    review_queue.require_moderation(call, "SubmitModerationAction")
    action = ACTIONS.get(action_type)
    if action is None:
        raise feature_not_emulated(
            f"submit_action with action_type {action_type!r} "
            f"(emulated: {', '.join(sorted(ACTIONS))})"
        )
    if moderator is not None and call.is_server:
        records.ensure_user(call, moderator, body.get("user"))
    item_id = opt_str(body, "item_id")
    item = review_queue.require_item(call, item_id) if item_id else None
    action(call, item, moderator, obj(body, action_type))
    if item is None:
        return {}
    return {"item": review_queue.ItemRenderer(call).item(item)}
