"""User administration beyond upserts: delete one user, restore, bulk (de)activation,
exports, custom events, blocking and devices."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import blobs, records, tasks, users
from stream_mcp.sandbox.context import Call, opt_bool, opt_str, str_list, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import BLOCKS, DEVICES, FILES, MESSAGES, REACTIONS, USERS
from stream_mcp.sandbox.views import Renderer

PUSH_PROVIDERS = ("apn", "firebase", "huawei", "xiaomi")


def delete_user(call: Call) -> dict[str, Any]:
    """DeleteUser (DELETE /users/{user_id}): Stream's older single-user delete, synchronous."""
    user_id = call.path["user_id"]
    if records.get_user(call, user_id) is None:
        raise not_found(f"user {user_id!r} does not exist")
    hard = call.query_bool("hard_delete")
    messages = "hard" if hard else ("soft" if call.query_bool("mark_messages_deleted") else None)
    conversations = None
    if call.query_bool("delete_conversation_channels"):
        conversations = "hard" if hard else "soft"
    if hard:
        messages, conversations = "hard", conversations or "hard"
    now = call.stamp()
    doc = users.delete_one(call, user_id, "hard" if hard else "soft", messages, conversations, now)
    assert doc is not None
    return {"user": Renderer(call).user_doc(doc)}


def restore_users(call: Call) -> dict[str, Any]:
    """RestoreUsers (POST /users/restore): undo soft deletes."""
    user_ids = str_list(call.body, "user_ids")
    if not user_ids:
        raise input_error("user_ids is a required field", field="user_ids")
    for user_id in user_ids:
        doc = call.store.get(USERS, user_id)
        if doc is None:
            raise not_found(f"user {user_id!r} does not exist")
        if doc.pop("deleted_at", None):
            doc["updated_at"] = call.stamp()
            call.store.put(USERS, doc)
    return {}


def _user_ids(call: Call) -> list[str]:
    user_ids = str_list(call.body, "user_ids")
    if not user_ids:
        raise input_error("user_ids is a required field", field="user_ids")
    if len(user_ids) > 100:
        raise input_error("user_ids accepts at most 100 ids", field="user_ids")
    return list(dict.fromkeys(user_ids))


def deactivate_users(call: Call) -> dict[str, Any]:
    """DeactivateUsers (POST /users/deactivate): a task whose result lists the users."""
    mark = bool(opt_bool(call.body, "mark_messages_deleted"))
    render = Renderer(call)
    done = [
        render.user_doc(users.deactivate(call, uid, mark_messages_deleted=mark))
        for uid in _user_ids(call)
    ]
    return {"task_id": tasks.record(call, "deactivate_users", {"users": done})}


def reactivate_users(call: Call) -> dict[str, Any]:
    """ReactivateUsers (POST /users/reactivate): a task; users not deactivated are skipped."""
    restore = bool(opt_bool(call.body, "restore_messages"))
    render = Renderer(call)
    done = []
    for uid in _user_ids(call):
        doc = records.require_user(call, uid)
        if doc.get("deactivated_at"):
            doc = users.reactivate(call, uid, restore_messages=restore)
        done.append(render.user_doc(doc))
    return {"task_id": tasks.record(call, "reactivate_users", {"users": done})}


def _export_of(call: Call, user_id: str) -> dict[str, Any]:
    doc = records.require_user(call, user_id)
    render = Renderer(call)
    messages = call.store.select(MESSAGES, user_id=user_id, order_by="created_at")
    reactions = [
        r
        for m in call.store.select(MESSAGES, order_by="created_at")
        for r in call.store.select(REACTIONS, message_id=m["id"], user_id=user_id)
    ]
    return {
        "user": render.full_user(doc),
        "messages": [render.message(m) for m in messages],
        "reactions": [render.reaction(r) for r in reactions],
    }


def export_user(call: Call) -> dict[str, Any]:
    """ExportUser (GET /users/{user_id}/export): the user with their messages and reactions."""
    return _export_of(call, call.path["user_id"])


def export_users(call: Call) -> dict[str, Any]:
    """ExportUsers (POST /export/users): a task whose result is a download URL."""
    user_ids = _user_ids(call)
    exported = [_export_of(call, uid) for uid in user_ids]
    filename = f"exports/users/{records.new_id()}.json"
    url = store_export(call, filename, {"users": exported})
    return {"task_id": tasks.record(call, "export_users", {"url": url})}


def store_export(call: Call, filename: str, content: Any) -> str:
    """Keep an export as a downloadable file and return its URL."""
    assert call.services is not None
    data = json.dumps(content, separators=(",", ":")).encode()
    file_id = records.new_id()
    call.store.put(
        FILES,
        {
            "id": file_id,
            "cid": "",
            "kind": "export",
            "filename": filename,
            "content_type": "application/json",
            "data": blobs.encode(data),
            "created_at": call.stamp(),
        },
    )
    return blobs.file_url(call.services, call.base_url, file_id, filename)


def send_user_custom_event(call: Call) -> dict[str, Any]:
    """SendUserCustomEvent (POST /users/{user_id}/event): accepted; the sandbox has no
    WebSocket connections to deliver it to."""
    records.require_user(call, call.path["user_id"])
    event = call.body.get("event")
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
        raise input_error("event.type is a required field", field="event")
    return {}


# -- blocking ------------------------------------------------------------------------------


def _blocker(call: Call, source: Mapping[str, Any]) -> str:
    user_id = call.actor(
        opt_str(source, "user_id"),
        user_ref(source.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.require_user(call, user_id)
    return user_id


def _block_view(call: Call, doc: Mapping[str, Any]) -> dict[str, Any]:
    render = Renderer(call)
    return {
        "user_id": doc["user_id"],
        "blocked_user_id": doc["blocked_user_id"],
        "created_at": doc["created_at"],
        "user": render.user(doc["user_id"]),
        "blocked_user": render.user(doc["blocked_user_id"]),
    }


def block_users(call: Call) -> dict[str, Any]:
    """BlockUsers (POST /users/block)."""
    user_id = _blocker(call, call.body)
    target = opt_str(call.body, "blocked_user_id")
    if not target:
        raise input_error("blocked_user_id is a required field", field="blocked_user_id")
    records.require_user(call, target)
    if target == user_id:
        raise input_error("a user cannot block themselves", field="blocked_user_id")
    doc = call.store.get(BLOCKS, user_id, target) or {
        "user_id": user_id,
        "blocked_user_id": target,
        "created_at": call.stamp(),
    }
    call.store.put(BLOCKS, doc)
    return {
        "blocked_by_user_id": user_id,
        "blocked_user_id": target,
        "created_at": doc["created_at"],
    }


def unblock_users(call: Call) -> dict[str, Any]:
    """UnblockUsers (POST /users/unblock)."""
    user_id = _blocker(call, call.body)
    target = opt_str(call.body, "blocked_user_id")
    if not target:
        raise input_error("blocked_user_id is a required field", field="blocked_user_id")
    call.store.delete(BLOCKS, user_id, target)
    return {}


def get_blocked_users(call: Call) -> dict[str, Any]:
    """GetBlockedUsers (GET /users/block?user_id=)."""
    user_id = _blocker(call, call.query)
    docs = call.store.select(BLOCKS, user_id=user_id, order_by="created_at")
    return {"blocks": [_block_view(call, d) for d in docs]}


def blocked_user_ids(call: Call, user_id: str) -> list[str]:
    return [d["blocked_user_id"] for d in call.store.select(BLOCKS, user_id=user_id)]


# -- devices -------------------------------------------------------------------------------


def _device_owner(call: Call, source: Mapping[str, Any]) -> str:
    user_id = call.actor(
        opt_str(source, "user_id"),
        user_ref(source.get("user")),
        required="user_id must be provided when using server side auth",
    )
    assert user_id is not None
    return user_id


def create_device(call: Call) -> dict[str, Any]:
    """CreateDevice (POST /devices): registers a push device; nothing is ever pushed."""
    body = call.body
    device_id = opt_str(body, "id")
    if not device_id:
        raise input_error("id is a required field", field="id")
    provider = opt_str(body, "push_provider")
    if provider not in PUSH_PROVIDERS:
        raise input_error(
            f"push_provider must be one of {list(PUSH_PROVIDERS)}", field="push_provider"
        )
    user_id = _device_owner(call, body)
    records.ensure_user(call, user_id, body.get("user"))
    existing = call.store.get(DEVICES, device_id)
    call.store.put(
        DEVICES,
        {
            "id": device_id,
            "user_id": user_id,
            "push_provider": provider,
            "push_provider_name": opt_str(body, "push_provider_name") or "",
            "voip_token": bool(opt_bool(body, "voip_token")),
            "created_at": existing["created_at"] if existing else call.stamp(),
        },
    )
    return {}


def list_devices(call: Call) -> dict[str, Any]:
    """ListDevices (GET /devices?user_id=)."""
    user_id = _device_owner(call, call.query)
    devices = [
        {k: v for k, v in d.items() if k != "voip_token" or v}
        for d in call.store.select(DEVICES, user_id=user_id)
    ]
    devices.sort(key=lambda d: d["created_at"])
    return {"devices": devices}


def delete_device(call: Call) -> dict[str, Any]:
    """DeleteDevice (DELETE /devices?id=&user_id=)."""
    device_id = call.query_str("id")
    if not device_id:
        raise input_error("id is a required field", field="id")
    user_id = _device_owner(call, call.query)
    doc = call.store.get(DEVICES, device_id)
    if doc is None or doc["user_id"] != user_id:
        raise not_found(f"device {device_id!r} of user {user_id!r} does not exist")
    call.store.delete(DEVICES, device_id)
    return {}
