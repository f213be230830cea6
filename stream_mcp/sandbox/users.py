"""Users: UpdateUsers, UpdateUsersPartial, QueryUsers, Deactivate/Reactivate, DeleteUsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import events, records, tasks
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, opt_time, str_list
from stream_mcp.sandbox.errors import input_error, not_allowed, not_found
from stream_mcp.sandbox.filters import matches, query_window, sort_docs
from stream_mcp.sandbox.store import (
    BANS,
    CHANNELS,
    MEMBERS,
    MESSAGES,
    MUTES,
    REACTIONS,
    READS,
    USERS,
)
from stream_mcp.sandbox.views import Renderer

_UNSETTABLE = frozenset({"name", "image", "language", "teams", "teams_role", "privacy_settings"})


def _check_self_service(call: Call, user_id: str, role_change: bool) -> None:
    """A user token may only edit its own user, and never its role."""
    if call.user_id is None:
        return
    if records.user_role(call, call.user_id) == "admin":
        return
    if user_id != call.user_id:
        raise not_allowed(f"user '{call.user_id}' is not allowed to update user '{user_id}'")
    if role_change:
        raise not_allowed(f"user '{call.user_id}' is not allowed to change its own role")


def update_users(call: Call) -> dict[str, Any]:
    """UpdateUsers (POST /users): full upserts; fields left out are removed, role is kept."""
    users = obj(call.body, "users", required=True)
    if not users:
        raise input_error("users must not be empty", field="users")
    result: dict[str, Any] = {}
    stored: list[dict[str, Any]] = []
    for key, data in users.items():
        if not isinstance(data, Mapping):
            raise input_error(f"users.{key} must be a user object", field="users")
        user_id = data.get("id", key)
        if user_id != key:
            raise input_error(f"users.{key}.id must equal its key", field="users")
        system, custom = records.split_fields(data, records.USER_FIELDS, records.USER_COMPUTED)
        records.validate_user_fields(system)
        existing = call.store.get(USERS, user_id)
        role = system.get("role")
        current_role = (existing or {}).get("role", "user")
        _check_self_service(call, user_id, role is not None and role != current_role)
        if existing is None or existing.get("deleted_at"):
            stored.append(records.new_user(call, user_id, data))
            continue
        doc = {k: v for k, v in existing.items() if k not in records.USER_FIELDS or k == "role"}
        doc.update({"language": "", "teams": [], "invisible": False})
        doc.update({k: v for k, v in system.items() if v is not None})
        doc["custom"] = custom
        doc["updated_at"] = call.stamp()
        call.store.put(USERS, doc)
        stored.append(doc)
    for doc in stored:
        events.record(call, "user.updated", user=doc["id"])
    render = Renderer(call)
    for doc in stored:
        result[doc["id"]] = render.full_user(doc)
    return {"users": result}


def update_users_partial(call: Call) -> dict[str, Any]:
    """UpdateUsersPartial (PATCH /users): ``set``/``unset`` per user."""
    updates = call.body.get("users")
    if not isinstance(updates, list) or not updates:
        raise input_error("users must be a non-empty list of {id, set, unset}", field="users")
    stored: list[dict[str, Any]] = []
    for update in updates:
        if not isinstance(update, Mapping) or not isinstance(update.get("id"), str):
            raise input_error("every entry of users needs an id", field="users")
        user_id = update["id"]
        doc = records.get_user(call, user_id)
        if doc is None:
            raise not_found(f"user {user_id!r} does not exist")
        to_set = obj(update, "set")
        to_unset = str_list(update, "unset")
        system, custom = records.split_fields(
            to_set, records.USER_FIELDS | {"revoke_tokens_issued_before"}, records.USER_COMPUTED
        )
        records.validate_user_fields(system)
        role = system.get("role")
        _check_self_service(call, user_id, role is not None and role != doc.get("role"))
        if "revoke_tokens_issued_before" in system and call.user_id is not None:
            raise not_allowed("only server-side calls may revoke user tokens")
        for key in to_unset:
            if key in _UNSETTABLE:
                doc.pop(key, None)
            elif key in records.USER_FIELDS or key in records.USER_COMPUTED:
                raise input_error(f"field {key} cannot be unset", field="unset")
            else:
                doc["custom"].pop(key, None)
        for key, value in system.items():
            if key == "revoke_tokens_issued_before" and value is not None:
                value = opt_time(system, key)
            if key == "privacy_settings" and isinstance(value, Mapping):
                # Stream merges a partial privacy_settings into the stored one.
                value = {**(doc.get("privacy_settings") or {}), **value}
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        doc["custom"].update(custom)
        doc["updated_at"] = call.stamp()
        call.store.put(USERS, doc)
        events.record(call, "user.updated", user=user_id)
        stored.append(doc)
    render = Renderer(call)
    return {"users": {doc["id"]: render.full_user(doc) for doc in stored}}


def query_users(call: Call) -> dict[str, Any]:
    """QueryUsers (GET /users?payload=): filters, sort, limit/offset."""
    payload = call.payload()
    window = query_window(payload, default_limit=30, max_limit=100, max_offset=1000)
    conditions, sort, limit, offset = window.conditions, window.sort, window.limit, window.offset
    include_deactivated = bool(payload.get("include_deactivated_users"))
    render = Renderer(call)
    candidates = []
    for doc in call.store.select(USERS):
        if doc.get("deleted_at"):
            continue
        if doc.get("deactivated_at") and not include_deactivated:
            continue
        view = render.user_doc(doc)
        if matches(view, conditions):
            candidates.append((view, doc))
    views = sort_docs([v for v, _ in candidates], sort)
    by_id = {v["id"]: d for v, d in candidates}
    page = views[offset : offset + limit]
    return {"users": [render.full_user(by_id[v["id"]]) for v in page]}


def deactivate(call: Call, user_id: str, *, mark_messages_deleted: bool = False) -> dict[str, Any]:
    """Deactivate one user (idempotent); optionally soft-delete their messages."""
    doc = records.require_user(call, user_id)
    if doc.get("deactivated_at"):
        return doc
    now = call.stamp()
    doc["deactivated_at"] = now
    doc["updated_at"] = now
    if mark_messages_deleted:
        for message in call.store.select(MESSAGES, user_id=user_id):
            if message.get("type") != "deleted":
                message.update(
                    {
                        "type": "deleted",
                        "deleted_at": now,
                        "updated_at": now,
                        "deleted_by_deactivation": True,
                    }
                )
                call.store.put(MESSAGES, message)
    call.store.put(USERS, doc)
    events.record(call, "user.deactivated", user=user_id, created_by=call.user_id)
    return doc


def reactivate(
    call: Call, user_id: str, *, restore_messages: bool = False, name: str | None = None
) -> dict[str, Any]:
    """Reactivate one deactivated user; optionally restore what deactivation deleted."""
    doc = records.require_user(call, user_id)
    if not doc.get("deactivated_at"):
        raise input_error(f"user {user_id!r} is not deactivated")
    doc.pop("deactivated_at", None)
    if name is not None:
        doc["name"] = name
    doc["updated_at"] = call.stamp()
    if restore_messages:
        for message in call.store.select(MESSAGES, user_id=user_id):
            if message.pop("deleted_by_deactivation", False):
                message["type"] = "reply" if message.get("parent_id") else "regular"
                message.pop("deleted_at", None)
                message["updated_at"] = doc["updated_at"]
                call.store.put(MESSAGES, message)
    call.store.put(USERS, doc)
    events.record(call, "user.reactivated", user=user_id, created_by=call.user_id)
    return doc


def deactivate_user(call: Call) -> dict[str, Any]:
    """DeactivateUser (POST /users/{user_id}/deactivate)."""
    mark = bool(opt_bool(call.body, "mark_messages_deleted"))
    doc = deactivate(call, call.path["user_id"], mark_messages_deleted=mark)
    return {"user": Renderer(call).user_doc(doc)}


def reactivate_user(call: Call) -> dict[str, Any]:
    """ReactivateUser (POST /users/{user_id}/reactivate)."""
    doc = reactivate(
        call,
        call.path["user_id"],
        restore_messages=bool(opt_bool(call.body, "restore_messages")),
        name=opt_str(call.body, "name"),
    )
    return {"user": Renderer(call).user_doc(doc)}


_USER_MODES = ("soft", "pruning", "hard")
_MESSAGE_MODES = ("soft", "pruning", "hard")
_CONVERSATION_MODES = ("soft", "hard")


def _mode(body: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value in (None, ""):
        return None
    if value not in allowed:
        raise input_error(f"{name} must be one of {list(allowed)}", field=name)
    return str(value)


def delete_one(
    call: Call,
    user_id: str,
    user_mode: str,
    message_mode: str | None,
    conversation_mode: str | None,
    now: str,
) -> dict[str, Any] | None:
    """Delete one user as DeleteUsers does; returns the user as it was (``None`` if unknown)."""
    doc = call.store.get(USERS, user_id)
    if doc is None:
        return None
    before = dict(doc)
    if conversation_mode:
        _delete_conversations(call, user_id, hard=conversation_mode == "hard", now=now)
    if message_mode:
        _delete_messages_of(call, user_id, message_mode, now)
    events.record(
        call,
        "user.deleted",
        user=user_id,
        fields={
            "delete_user": user_mode,
            "delete_messages": message_mode or "",
            "delete_conversation": conversation_mode or "",
            "hard_delete": user_mode == "hard",
            "mark_messages_deleted": message_mode is not None,
            "delete_conversation_channels": conversation_mode is not None,
        },
    )
    if user_mode == "hard":
        call.store.delete(USERS, user_id)
        call.store.delete_where(MEMBERS, user_id=user_id)
        call.store.delete_where(READS, user_id=user_id)
        call.store.delete_where(MUTES, user_id=user_id)
        call.store.delete_where(MUTES, target_id=user_id)
        call.store.delete_where(BANS, target_user_id=user_id)
        before["deleted_at"] = now
        return before
    doc["deleted_at"] = now
    doc["updated_at"] = now
    if user_mode == "pruning":
        for key in ("name", "image"):
            doc.pop(key, None)
        doc["custom"] = {}
    call.store.put(USERS, doc)
    return doc


def delete_users(call: Call) -> dict[str, Any]:
    """DeleteUsers (POST /users/delete): runs at once and records a completed task."""
    user_ids = str_list(call.body, "user_ids")
    if not user_ids:
        raise input_error("user_ids is a required field", field="user_ids")
    if len(user_ids) > 100:
        raise input_error("user_ids accepts at most 100 ids", field="user_ids")
    user_mode = _mode(call.body, "user", _USER_MODES) or "soft"
    message_mode = _mode(call.body, "messages", _MESSAGE_MODES)
    conversation_mode = _mode(call.body, "conversations", _CONVERSATION_MODES)
    if user_mode == "hard" and (message_mode != "hard" or conversation_mode != "hard"):
        raise input_error("hard user deletion requires hard deletion of messages and conversations")
    now = call.stamp()
    results: dict[str, Any] = {}
    for user_id in user_ids:
        done = delete_one(call, user_id, user_mode, message_mode, conversation_mode, now)
        if done is None:
            results[user_id] = {"status": "error", "error": "user does not exist"}
        else:
            results[user_id] = {"status": "ok"}
    return {"task_id": tasks.record(call, "delete_users", results)}


def _delete_messages_of(call: Call, user_id: str, mode: str, now: str) -> None:
    for message in call.store.select(MESSAGES, user_id=user_id):
        if mode == "hard":
            call.store.delete(MESSAGES, message["id"])
            call.store.delete_where(REACTIONS, message_id=message["id"])
            continue
        message.update({"type": "deleted", "deleted_at": now, "updated_at": now})
        if mode == "pruning":
            message["text"] = ""
            message["html"] = ""
            message["attachments"] = []
            message["custom"] = {}
            call.store.delete_where(REACTIONS, message_id=message["id"])
        call.store.put(MESSAGES, message)
    if mode in ("hard", "pruning"):
        call.store.delete_where(REACTIONS, user_id=user_id)


def _delete_conversations(call: Call, user_id: str, *, hard: bool, now: str) -> None:
    """Conversations are channels with exactly two members, one of them the deleted user."""
    for member in call.store.select(MEMBERS, user_id=user_id):
        cid = member["cid"]
        if call.store.count(MEMBERS, cid=cid) != 2:
            continue
        channel = call.store.get(CHANNELS, cid)
        if channel is None:
            continue
        if hard:
            records.purge_channel(call, cid)
        else:
            channel["deleted_at"] = now
            channel["updated_at"] = now
            call.store.put(CHANNELS, channel)
