"""Drafts: one unsent message per user, channel and thread (CreateDraft, GetDraft,
DeleteDraft, QueryDrafts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import paging, permissions, records
from stream_mcp.sandbox.context import Call, obj, opt_str, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.messages import MESSAGE_COMPUTED, MESSAGE_CONTROL, MESSAGE_FIELDS
from stream_mcp.sandbox.store import CHANNELS, DRAFTS, MESSAGES
from stream_mcp.sandbox.views import Renderer, render_html


def _owner(call: Call, *sources: Mapping[str, Any]) -> str:
    candidates: list[Any] = []
    for source in sources:
        candidates += [opt_str(source, "user_id"), user_ref(source.get("user"))]
    user_id = call.actor(
        *candidates, required="user_id must be provided when using server side auth"
    )
    assert user_id is not None
    records.ensure_user(call, user_id)
    return user_id


def draft_view(call: Call, doc: Mapping[str, Any]) -> dict[str, Any]:
    render = Renderer(call, doc["user_id"])
    message = dict(doc["message"])
    message["mentioned_users"] = [
        u for u in (render.user(uid) for uid in message.get("mentioned_users") or []) if u
    ]
    out: dict[str, Any] = {
        "channel_cid": doc["cid"],
        "created_at": doc["created_at"],
        "message": message,
    }
    channel = call.store.get(CHANNELS, doc["cid"])
    if channel is not None:
        out["channel"] = render.channel(channel)
    if doc.get("parent_id"):
        out["parent_id"] = doc["parent_id"]
        parent = call.store.get(MESSAGES, doc["parent_id"])
        if parent is not None:
            out["parent_message"] = render.message(parent)
    quoted = message.get("quoted_message_id")
    if quoted and (target := call.store.get(MESSAGES, quoted)) is not None:
        out["quoted_message"] = render.message(target)
    return out


def create_draft(call: Call) -> dict[str, Any]:
    """CreateDraft (POST /channels/{type}/{id}/draft): replaces the user's draft there."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    message = obj(call.body, "message", required=True)
    user_id = _owner(call, message, call.body)
    permissions.require_read(call, channel)
    system, custom = records.split_fields(
        message, MESSAGE_FIELDS, MESSAGE_CONTROL | MESSAGE_COMPUTED
    )
    text = system.get("text") or ""
    if not isinstance(text, str):
        raise input_error("message.text must be a string", field="text")
    parent_id = opt_str(message, "parent_id") or ""
    if parent_id:
        parent = call.store.get(MESSAGES, parent_id)
        if parent is None or parent["cid"] != channel["cid"]:
            raise input_error(f"parent message {parent_id} does not exist", field="parent_id")
    existing = call.store.get(DRAFTS, user_id, channel["cid"], parent_id)
    payload: dict[str, Any] = {
        "id": (existing or {}).get("message", {}).get("id") or records.new_id(),
        "text": text,
        "html": render_html(text),
        "attachments": system.get("attachments") or [],
        "mentioned_users": system.get("mentioned_users") or [],
        "custom": custom,
        "silent": bool(system.get("silent")),
        "type": "regular",
    }
    for key in ("quoted_message_id", "show_in_channel", "mml"):
        if system.get(key) is not None:
            payload[key] = system[key]
    if message.get("poll_id"):
        payload["poll_id"] = message["poll_id"]
    if parent_id:
        payload["parent_id"] = parent_id
    doc = {
        "user_id": user_id,
        "cid": channel["cid"],
        "parent_id": parent_id,
        "created_at": call.stamp(),
        "message": payload,
    }
    call.store.put(DRAFTS, doc)
    return {"draft": draft_view(call, doc)}


def _find(call: Call) -> tuple[dict[str, Any], str, str]:
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    user_id = _owner(call, call.query)
    parent_id = call.query_str("parent_id") or ""
    return channel, user_id, parent_id


def get_draft(call: Call) -> dict[str, Any]:
    """GetDraft (GET /channels/{type}/{id}/draft[?parent_id=])."""
    channel, user_id, parent_id = _find(call)
    doc = call.store.get(DRAFTS, user_id, channel["cid"], parent_id)
    if doc is None:
        raise not_found(f"draft of user {user_id} in {channel['cid']} does not exist")
    return {"draft": draft_view(call, doc)}


def delete_draft(call: Call) -> dict[str, Any]:
    """DeleteDraft (DELETE /channels/{type}/{id}/draft[?parent_id=])."""
    channel, user_id, parent_id = _find(call)
    if not call.store.delete(DRAFTS, user_id, channel["cid"], parent_id):
        raise not_found(f"draft of user {user_id} in {channel['cid']} does not exist")
    return {}


def query_drafts(call: Call) -> dict[str, Any]:
    """QueryDrafts (POST /drafts/query): the user's drafts, newest first by default."""
    user_id = _owner(call, call.body)
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("created_at", -1)])
    found = []
    for doc in call.store.select(DRAFTS, user_id=user_id):
        view = {
            "channel_cid": doc["cid"],
            "parent_id": doc["parent_id"] or None,
            "created_at": doc["created_at"],
            "_doc": doc,
        }
        if matches(view, conditions):
            found.append(view)
    ordered = sort_docs(found, sort)
    chunk, cursors = paging.page(ordered, call.body, default_limit=25, max_limit=100)
    return {"drafts": [draft_view(call, v["_doc"]) for v in chunk], **cursors}
