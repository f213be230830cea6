"""Threads: QueryThreads, GetThread, UpdateThreadPartial, and per-user thread read state.

A thread is a parent message with at least one reply. Its participants are the parent's author
and everyone who replied. A participant's read position in a thread moves when they reply or
mark the thread read (MarkRead with ``thread_id``); replies from others after it are unread.
Title and custom data live on the parent message's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import paging, permissions, records
from stream_mcp.sandbox.context import Call, obj, opt_str, str_list, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import bounded_int, matches, parse_sort, sort_docs
from stream_mcp.sandbox.store import CHANNELS, MEMBERS, MESSAGES, THREAD_READS
from stream_mcp.sandbox.views import Renderer

_THREAD_FIELDS = frozenset({"title"})


def replies_of(call: Call, parent_id: str, viewer: str | None) -> list[dict[str, Any]]:
    docs = call.store.select(MESSAGES, parent_id=parent_id, order_by="created_at")
    return [
        d
        for d in docs
        if d.get("type") != "deleted"
        and not (records.private_to_author(d) and d.get("user_id") != viewer)
        and not (d.get("shadowed") and viewer is not None and d.get("user_id") != viewer)
    ]


def participants(call: Call, parent: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    replies = replies_of(call, parent["id"], None)
    if not replies:
        return found
    for uid in [parent.get("user_id")] + [r.get("user_id") for r in replies]:
        if isinstance(uid, str) and uid not in found:
            found.append(uid)
    return found


def mark_thread_read(call: Call, parent_id: str, user_id: str, stamp: str, last_id: str) -> None:
    call.store.put(
        THREAD_READS,
        {
            "parent_id": parent_id,
            "user_id": user_id,
            "last_read": stamp,
            "last_read_message_id": last_id,
        },
    )


def thread_unread(call: Call, parent: Mapping[str, Any], user_id: str) -> dict[str, Any] | None:
    """The user's unread state in one thread they take part in (``None`` if they do not)."""
    if user_id not in participants(call, parent):
        return None
    read = call.store.get(THREAD_READS, parent["id"], user_id)
    since = read["last_read"] if read else parent["created_at"]
    replies = replies_of(call, parent["id"], user_id)
    unread = [r for r in replies if r["created_at"] > since and r.get("user_id") != user_id]
    return {
        "parent_message_id": parent["id"],
        "last_read": since,
        "last_read_message_id": (read or {}).get("last_read_message_id") or "",
        "unread_count": len(unread),
    }


def unread_threads(call: Call, user_id: str) -> list[dict[str, Any]]:
    """Threads in the user's channels with replies from others the user has not read."""
    result = []
    seen: set[str] = set()
    for reply in call.store.select(MESSAGES):
        parent_id = reply.get("parent_id")
        if not parent_id or parent_id in seen:
            continue
        seen.add(parent_id)
        parent = call.store.get(MESSAGES, parent_id)
        if parent is None or records.get_channel(call, parent["cid"]) is None:
            continue
        state = thread_unread(call, parent, user_id)
        if state is not None and state["unread_count"]:
            result.append(state)
    return result


# -- views ---------------------------------------------------------------------------------


def thread_view(
    call: Call,
    parent: Mapping[str, Any],
    viewer: str | None,
    *,
    reply_limit: int = 2,
    participant_limit: int = 100,
) -> dict[str, Any]:
    render = Renderer(call, viewer)
    replies = replies_of(call, parent["id"], viewer)
    people = participants(call, parent)
    channel = call.store.get(CHANNELS, parent["cid"]) or {}
    thread = parent.get("thread") or {}
    reads = []
    read_at: dict[str, str] = {}
    for uid in people:
        state = thread_unread(call, parent, uid)
        if state is not None:
            read_at[uid] = state["last_read"]
            reads.append(
                {
                    "user": render.user(uid),
                    "last_read": state["last_read"],
                    "last_read_message_id": state["last_read_message_id"] or None,
                    "unread_messages": state["unread_count"],
                }
            )
    last = replies[-1]["created_at"] if replies else None
    custom = dict(thread.get("custom") or {})
    view: dict[str, Any] = {
        "channel_cid": parent["cid"],
        "channel": render.channel(channel) if channel else None,
        "parent_message_id": parent["id"],
        "parent_message": render.message(parent),
        "created_by_user_id": parent.get("user_id"),
        "created_by": render.user(parent.get("user_id")),
        "reply_count": len(replies),
        "participant_count": len(people),
        "active_participant_count": len(people),
        "thread_participants": [
            {
                "channel_cid": parent["cid"],
                "thread_id": parent["id"],
                "user_id": uid,
                "user": render.user(uid),
                "created_at": parent["created_at"],
                "last_read_at": read_at.get(uid, parent["created_at"]),
                "custom": {},
            }
            for uid in people[:participant_limit]
        ],
        "latest_replies": [render.message(r) for r in replies[-reply_limit:]]
        if reply_limit
        else [],
        "read": reads,
        "last_message_at": last,
        "created_at": (replies[0]["created_at"] if replies else parent["created_at"]),
        "updated_at": thread.get("updated_at") or last or parent["updated_at"],
        "title": thread.get("title") or "",
        "custom": custom,
    }
    for key, value in custom.items():
        view.setdefault(key, value)
    return view


def _filter_view(call: Call, parent: Mapping[str, Any], viewer: str | None) -> dict[str, Any]:
    thread = parent.get("thread") or {}
    replies = replies_of(call, parent["id"], viewer)
    return {
        **(thread.get("custom") or {}),
        "channel_cid": parent["cid"],
        "cid": parent["cid"],
        "parent_message_id": parent["id"],
        "created_by_user_id": parent.get("user_id"),
        "participants": participants(call, parent),
        "reply_count": len(replies),
        "created_at": replies[0]["created_at"] if replies else parent["created_at"],
        "updated_at": thread.get("updated_at") or parent["updated_at"],
        "last_message_at": replies[-1]["created_at"] if replies else None,
        "title": thread.get("title") or "",
    }


def query_threads(call: Call) -> dict[str, Any]:
    """QueryThreads (POST /threads): threads in channels the user belongs to."""
    body = call.body
    viewer = call.actor(
        opt_str(body, "user_id"),
        user_ref(body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert viewer is not None
    conditions = obj(body, "filter")
    sort = parse_sort(body.get("sort"), default=[("last_message_at", -1)])
    reply_limit = bounded_int(body.get("reply_limit"), name="reply_limit", default=2, maximum=10)
    participant_limit = bounded_int(
        body.get("participant_limit"), name="participant_limit", default=100, maximum=100
    )
    member_cids = {m["cid"] for m in call.store.select(MEMBERS, user_id=viewer)}
    found = []
    seen: set[str] = set()
    for reply in call.store.select(MESSAGES, order_by="created_at"):
        parent_id = reply.get("parent_id")
        if not parent_id or parent_id in seen:
            continue
        seen.add(parent_id)
        parent = call.store.get(MESSAGES, parent_id)
        if parent is None:
            continue
        channel = records.get_channel(call, parent["cid"])
        if channel is None:
            continue
        # The user's threads: in channels they belong to or created, or threads they joined.
        mine = parent["cid"] in member_cids or channel.get("created_by_id") == viewer
        if not mine and viewer not in participants(call, parent):
            continue
        view = _filter_view(call, parent, viewer)
        if view["reply_count"] and matches(view, conditions):
            view["_parent"] = parent
            found.append(view)
    ordered = sort_docs(found, sort)
    chunk, cursors = paging.page(ordered, body, default_limit=10, max_limit=25)
    threads = [
        thread_view(
            call,
            v["_parent"],
            viewer,
            reply_limit=reply_limit,
            participant_limit=participant_limit,
        )
        for v in chunk
    ]
    return {"threads": threads, **cursors}


def _parent(call: Call, message_id: str) -> dict[str, Any]:
    parent = records.require_message(call, message_id)
    if parent.get("parent_id"):
        raise input_error(f"message {message_id} is a reply, not a thread's parent")
    channel = call.store.get(CHANNELS, parent["cid"])
    if channel is None or channel.get("deleted_at"):
        raise not_found(f"Message with id {message_id} doesn't exist")
    permissions.require_read(call, channel)
    return parent


def get_thread(call: Call) -> dict[str, Any]:
    """GetThread (GET /threads/{message_id})."""
    parent = _parent(call, call.path["message_id"])
    reply_limit = call.query_int("reply_limit", default=2, maximum=10)
    participant_limit = call.query_int("participant_limit", default=100, maximum=100)
    viewer = call.actor(call.query_str("user_id"))
    return {
        "thread": thread_view(
            call, parent, viewer, reply_limit=reply_limit, participant_limit=participant_limit
        )
    }


def update_thread_partial(call: Call) -> dict[str, Any]:
    """UpdateThreadPartial (PATCH /threads/{message_id}): ``title`` and custom data."""
    parent = _parent(call, call.path["message_id"])
    viewer = call.actor(opt_str(call.body, "user_id"), user_ref(call.body.get("user")))
    if not call.is_server and parent.get("user_id") != call.user_id:
        channel = call.store.get(CHANNELS, parent["cid"]) or {}
        permissions.require_moderator(call, channel, "UpdateThread")
    to_set = dict(obj(call.body, "set"))
    to_unset = str_list(call.body, "unset")
    thread = dict(parent.get("thread") or {})
    custom = dict(thread.get("custom") or {})
    for key, value in to_set.items():
        if key in _THREAD_FIELDS:
            if not isinstance(value, str):
                raise input_error(f"{key} must be a string", field=key)
            thread[key] = value
        elif key in ("parent_message_id", "channel_cid", "reply_count", "created_at"):
            raise input_error(f"field {key} cannot be changed", field=key)
        else:
            custom[key] = value
    for key in to_unset:
        if key in _THREAD_FIELDS:
            thread.pop(key, None)
        else:
            custom.pop(key, None)
    thread["custom"] = custom
    thread["updated_at"] = call.stamp()
    parent["thread"] = thread
    call.store.put(MESSAGES, parent)
    return {"thread": thread_view(call, parent, viewer)}
