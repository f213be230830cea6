"""Messages: send (with thread replies), get, get many, update, partial update (pinning),
delete (soft/hard), replies and pinned messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from stream_mcp.sandbox import content, events, permissions, records, threads, typeconfig
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, opt_time, str_list, user_ref
from stream_mcp.sandbox.errors import (
    MULTIPLE_NESTING,
    APIError,
    feature_not_emulated,
    input_error,
    not_allowed,
    not_found,
)
from stream_mcp.sandbox.filters import parse_sort, sort_docs
from stream_mcp.sandbox.store import CHANNELS, DRAFTS, HISTORY, MEMBERS, MESSAGES, REACTIONS
from stream_mcp.sandbox.views import Renderer, paginate_messages, render_html

# Writable message fields; anything else is custom data.
MESSAGE_FIELDS = frozenset(
    {
        "text",
        "attachments",
        "mentioned_users",
        "silent",
        "pinned",
        "pin_expires",
        "mml",
        "restricted_visibility",
        "mentioned_channel",
        "mentioned_here",
        "quoted_message_id",
        "show_in_channel",
    }
)
# Set once at creation or handled explicitly.
MESSAGE_CONTROL = frozenset({"id", "type", "parent_id", "user", "user_id", "pinned_at"})
# Computed by the server; ignored on input.
MESSAGE_COMPUTED = frozenset(
    {
        "cid",
        "html",
        "created_at",
        "updated_at",
        "deleted_at",
        "latest_reactions",
        "own_reactions",
        "reaction_counts",
        "reaction_scores",
        "reaction_groups",
        "reply_count",
        "deleted_reply_count",
        "shadowed",
        "i18n",
        "command",
        "thread_participants",
        "pinned_by",
        "quoted_message",
        "member",
        "moderation",
        "image_labels",
        "message_text_updated_at",
        "channel",
        "before_message_send_failed",
        "deleted_for_me",
        "draft",
        "reminder",
        "poll",
    }
)
_NOT_EMULATED = {
    "mentioned_group_ids": "user group mentions",
    "mentioned_roles": "role mentions",
}


def _message_content(
    config: Mapping[str, Any], message: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], str, list[Any]]:
    """A whole message's known fields, custom fields, text and attachments, checked against
    the channel's configuration.

    Sending and full updates both need one of text or attachments (or a poll or location).
    """
    system, custom = records.split_fields(
        message, MESSAGE_FIELDS, MESSAGE_CONTROL | MESSAGE_COMPUTED
    )
    _validate(system)
    content.check_length(config, system.get("text") or "")
    text = system.get("text") or ""
    attachments = system.get("attachments") or []
    if (
        not text
        and not attachments
        and not (message.get("poll_id") or message.get("shared_location"))
    ):
        raise input_error("message.text or message.attachments must be set", field="text")
    return system, custom, text, attachments


def _validate(fields: Mapping[str, Any]) -> None:
    text = fields.get("text")
    if text is not None and not isinstance(text, str):
        raise input_error("message.text must be a string", field="text")
    attachments = fields.get("attachments")
    if attachments is not None and (
        not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments)
    ):
        raise input_error("message.attachments must be a list of objects", field="attachments")
    mentioned = fields.get("mentioned_users")
    if mentioned is not None and (
        not isinstance(mentioned, list) or not all(isinstance(m, str) for m in mentioned)
    ):
        raise input_error(
            "message.mentioned_users must be a list of user ids", field="mentioned_users"
        )
    for name in ("silent", "pinned", "mentioned_channel", "mentioned_here", "show_in_channel"):
        if fields.get(name) is not None and not isinstance(fields[name], bool):
            raise input_error(f"message.{name} must be a boolean", field=name)
    for key, feature in _NOT_EMULATED.items():
        if fields.get(key):
            raise feature_not_emulated(feature)


def _apply_pin(
    call: Call, doc: dict[str, Any], fields: Mapping[str, Any], actor: str | None, now: str
) -> None:
    if "pinned" in fields:
        if fields["pinned"]:
            if not doc.get("pinned"):
                doc["pinned_at"] = now
                doc["pinned_by_id"] = actor or doc.get("user_id")
            doc["pinned"] = True
        else:
            for key in ("pinned_at", "pinned_by_id", "pin_expires"):
                doc.pop(key, None)
            doc["pinned"] = False
    if "pin_expires" in fields:
        expires = opt_time(fields, "pin_expires")
        if expires is None:
            doc.pop("pin_expires", None)
        else:
            doc["pin_expires"] = expires


def create_message(
    call: Call,
    channel: dict[str, Any],
    message: Mapping[str, Any],
    *,
    author: str,
    pending: bool = False,
    keep_channel_hidden: bool = False,
) -> dict[str, Any]:
    """Store a new message in ``channel`` from ``author``; shared by SendMessage, UpdateChannel,
    TruncateChannel and campaign delivery.

    The channel's configuration applies: message length, blocklists (a blocked message comes
    back as an unsaved ``error`` message), commands, replies, polls and shared locations.
    """
    config = typeconfig.effective(call.store, channel)
    system, custom, text, attachments = _message_content(config, message)
    message_id = message.get("id")
    if message_id is not None:
        if not isinstance(message_id, str) or not 0 < len(message_id) <= 255:
            raise input_error("message.id must be a string of at most 255 characters", field="id")
        if call.store.get(MESSAGES, message_id) is not None:
            raise input_error(f"a message with ID {message_id} already exists", field="id")
    else:
        message_id = records.new_id()
    kind = message.get("type") or "regular"
    if kind not in ("regular", "system"):
        raise input_error("message.type must be regular or system", field="type")
    if kind == "system" and not call.is_server:
        raise not_allowed("only server-side calls may send system messages")
    cid = channel["cid"]
    parent_id = message.get("parent_id")
    if parent_id:
        if not config.get("replies"):
            raise input_error(f"replies are disabled for channel type {channel['type']}")
        parent = call.store.get(MESSAGES, parent_id)
        if parent is None or parent["cid"] != cid:
            raise input_error(
                f"parent message {parent_id} does not exist in {cid}", field="parent_id"
            )
        if parent.get("parent_id"):
            raise APIError(
                400,
                MULTIPLE_NESTING,
                "replies to replies are not allowed: threads are one level deep",
            )
        kind = "reply" if kind == "regular" else kind
    quoted = system.get("quoted_message_id")
    if quoted:
        if not config.get("quotes"):
            raise input_error(f"quotes are disabled for channel type {channel['type']}")
        target = call.store.get(MESSAGES, quoted)
        if target is None or target["cid"] != cid:
            raise input_error(f"quoted message {quoted} does not exist in {cid}")
    now = call.stamp()
    doc: dict[str, Any] = {
        "id": message_id,
        "cid": cid,
        "type": kind,
        "user_id": author,
        "text": text,
        "html": render_html(text),
        "attachments": attachments,
        "mentioned_users": system.get("mentioned_users") or [],
        "silent": bool(system.get("silent")),
        "shadowed": records.shadow_banned(call, author, cid),
        "pinned": False,
        "created_at": now,
        "updated_at": now,
        "custom": custom,
    }
    for key in ("mml", "restricted_visibility", "mentioned_channel", "mentioned_here"):
        if system.get(key) is not None:
            doc[key] = system[key]
    if quoted:
        doc["quoted_message_id"] = quoted
    if parent_id:
        doc["parent_id"] = parent_id
        if system.get("show_in_channel"):
            doc["show_in_channel"] = True
    if pending:
        doc["pending"] = True
        doc["pending_message_metadata"] = dict(obj(call.body, "pending_message_metadata"))
    command = content.command_of(call, config, text) if kind == "regular" else None
    if command is not None:
        doc["command"], doc["args"] = command
        if command[0] == "giphy":
            # Stream answers /giphy with an ephemeral preview only its author sees; the sandbox
            # cannot reach Giphy, so the preview has no image attachment.
            doc["type"] = "ephemeral"
    verdict = content.moderate(call, config, text)
    if verdict.action == "block":
        doc.update({"type": "error", "text": content.BLOCKED_TEXT, "html": ""})
        doc["html"] = render_html(content.BLOCKED_TEXT)
        return doc
    if verdict.action == "shadow_block":
        doc["shadowed"] = True
    _apply_pin(call, doc, system, author, now)
    _attach_extras(call, channel, config, doc, message, author)
    call.store.put(MESSAGES, doc)
    if not pending and doc["type"] != "ephemeral":
        events.record(call, "message.new", channel=channel, user=author, message=doc)
    # Sending replaces the author's draft for that channel or thread, as in Stream.
    call.store.delete(DRAFTS, author, cid, parent_id or "")
    if parent_id:
        # Replying reads the thread up to one's own reply, as in Stream.
        threads.mark_thread_read(call, parent_id, author, now, message_id)
    if verdict.action == "flag":
        from stream_mcp.sandbox.moderation import automod_flag

        automod_flag(call, doc, f"blocklist {verdict.blocklist}: {verdict.word}")
    visible_to_all = not doc["shadowed"] and not pending and doc["type"] != "ephemeral"
    if visible_to_all and (not parent_id or doc.get("show_in_channel")):
        channel["last_message_at"] = now
        call.store.put(CHANNELS, channel)
        if not keep_channel_hidden:
            # A new message brings a hidden channel back for every member.
            for member in records.channel_members(call, cid):
                if member.get("hidden"):
                    member["hidden"] = False
                    call.store.put(MEMBERS, member)
    return doc


def _attach_extras(
    call: Call,
    channel: Mapping[str, Any],
    config: Mapping[str, Any],
    doc: dict[str, Any],
    message: Mapping[str, Any],
    author: str,
) -> None:
    """Polls and shared locations, each gated by the channel's configuration."""
    poll_id = message.get("poll_id")
    if poll_id:
        from stream_mcp.sandbox.polls import attach_poll

        if not config.get("polls"):
            raise input_error(f"polls are disabled for channel type {channel['type']}")
        attach_poll(call, doc, str(poll_id))
    location = message.get("shared_location")
    if location:
        from stream_mcp.sandbox.locations import attach_location

        if not config.get("shared_locations"):
            raise input_error(
                f"shared locations are disabled for channel {channel['cid']}: enable "
                "shared_locations in the channel type or its config_overrides"
            )
        attach_location(call, doc, location, author)


def send_message(call: Call) -> dict[str, Any]:
    """SendMessage (POST /channels/{type}/{id}/message); the answer includes the author's
    channel membership (``message.member``), as Stream's does."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    message = obj(call.body, "message", required=True)
    author = call.actor(
        message.get("user_id"),
        user_ref(message.get("user")),
        required="either message.user or message.user_id must be provided when using server "
        "side auth",
    )
    assert author is not None
    if call.is_server:
        records.ensure_user(call, author, message.get("user"))
    else:
        permissions.require_member(call, channel, "CreateMessage")
        permissions.require_not_banned(call, channel, "CreateMessage")
        if channel.get("frozen") and not permissions.is_privileged(call):
            raise not_allowed(f"channel {channel['cid']} is frozen")
    pending = bool(opt_bool(call.body, "pending"))
    keep_hidden = bool(opt_bool(call.body, "keep_channel_hidden"))
    doc = create_message(
        call, channel, message, author=author, pending=pending, keep_channel_hidden=keep_hidden
    )
    render = Renderer(call, author)
    out = render.message(doc)
    member = records.get_member(call, channel["cid"], author)
    if member is not None:
        out["member"] = render.member(member)
    return {"message": out}


def _channel_of(call: Call, message: Mapping[str, Any]) -> dict[str, Any]:
    channel = call.store.get(CHANNELS, message["cid"])
    if channel is None or channel.get("deleted_at"):
        raise not_found(f"Message with id {message['id']} doesn't exist")
    return channel


def get_message(call: Call) -> dict[str, Any]:
    """GetMessage (GET /messages/{id}): the message with its channel."""
    doc = records.require_message(call, call.path["id"])
    channel = _channel_of(call, doc)
    permissions.require_read(call, channel)
    call.query_bool("show_deleted_message")
    return {"message": Renderer(call).message(doc, with_channel=True)}


def get_many_messages(call: Call) -> dict[str, Any]:
    """GetManyMessages (GET /channels/{type}/{id}/messages?ids=a,b)."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    permissions.require_read(call, channel)
    raw = call.query_str("ids")
    ids = [i for i in (raw or "").split(",") if i]
    if not ids:
        raise input_error("ids is a required field", field="ids")
    if len(ids) > 50:
        raise input_error("ids accepts at most 50 message ids", field="ids")
    visible = {m["id"]: m for m in _all_visible(call, channel)}
    render = Renderer(call)
    return {"messages": [render.message(visible[i]) for i in ids if i in visible]}


def _all_visible(call: Call, channel: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Main-list messages and thread replies the caller may see."""
    main = records.visible_messages(call, channel, call.user_id)
    seen = {m["id"] for m in main}
    extra = []
    for doc in call.store.select(MESSAGES, cid=channel["cid"], order_by="created_at"):
        if doc["id"] in seen or not doc.get("parent_id"):
            continue
        if doc.get("shadowed") and call.user_id not in (None, doc.get("user_id")):
            continue
        if channel.get("truncated_at") and doc["created_at"] <= channel["truncated_at"]:
            continue
        extra.append(doc)
    return sorted(main + extra, key=lambda d: d["created_at"])


def record_history(call: Call, doc: Mapping[str, Any], actor: str | None) -> None:
    """Keep the version a message update replaces (QueryMessageHistory reads them)."""
    call.store.put(
        HISTORY,
        {
            "id": records.new_id(),
            "message_id": doc["id"],
            "text": doc.get("text", ""),
            "attachments": doc.get("attachments", []),
            "custom": dict(doc.get("custom") or {}),
            "message_updated_at": doc.get("updated_at"),
            "message_updated_by_id": doc.get("updated_by_id") or doc.get("user_id"),
            "recorded_by_id": actor,
        },
    )


def update_message(call: Call) -> dict[str, Any]:
    """UpdateMessage (POST /messages/{id}): full update; omitted fields are cleared."""
    doc = records.require_message(call, call.path["id"])
    message = obj(call.body, "message", required=True)
    if message.get("id") not in (None, doc["id"]):
        raise input_error("message.id does not match the message being updated", field="id")
    if message.get("parent_id") not in (None, doc.get("parent_id")):
        raise input_error("a message cannot be moved to another thread", field="parent_id")
    actor = call.actor(message.get("user_id"), user_ref(message.get("user")))
    channel = _channel_of(call, doc)
    if not call.is_server:
        permissions.require_author_or_moderator(call, doc, channel, "UpdateMessage")
    if doc.get("type") == "deleted":
        raise input_error("a deleted message cannot be updated")
    config = typeconfig.effective(call.store, channel)
    system, custom, text, attachments = _message_content(config, message)
    verdict = content.moderate(call, config, text)
    if verdict.action == "block":
        raise input_error(f"{content.BLOCKED_TEXT}: the update was refused")
    record_history(call, doc, actor)
    now = call.stamp()
    if text != doc.get("text"):
        doc["message_text_updated_at"] = now
    doc.update(
        {
            "text": text,
            "html": render_html(text),
            "attachments": attachments,
            "mentioned_users": system.get("mentioned_users") or [],
            "silent": bool(system.get("silent")),
            "custom": custom,
            "updated_at": now,
            "updated_by_id": actor or doc.get("user_id"),
        }
    )
    for key in ("mml", "restricted_visibility", "quoted_message_id"):
        if system.get(key) is None:
            doc.pop(key, None)
        else:
            doc[key] = system[key]
    pin_fields: dict[str, Any] = {k: system[k] for k in ("pinned", "pin_expires") if k in system}
    pin_fields.setdefault("pinned", bool(system.get("pinned")))
    _apply_pin(call, doc, pin_fields, actor, now)
    call.store.put(MESSAGES, doc)
    events.record(call, "message.updated", user=actor or doc.get("user_id"), message=doc)
    return {"message": Renderer(call).message(doc)}


_PIN_FIELDS = frozenset({"pinned", "pin_expires"})


def update_message_partial(call: Call) -> dict[str, Any]:
    """UpdateMessagePartial (PUT /messages/{id}): ``set``/``unset``; pins messages too."""
    doc = records.require_message(call, call.path["id"])
    to_set = obj(call.body, "set")
    to_unset = str_list(call.body, "unset")
    actor = call.actor(call.body.get("user_id"), user_ref(call.body.get("user")))
    channel = _channel_of(call, doc)
    if not call.is_server:
        if set(to_set) | set(to_unset) <= _PIN_FIELDS:
            permissions.require_member(call, channel, "PinMessage")
        else:
            permissions.require_author_or_moderator(call, doc, channel, "UpdateMessage")
    for key in list(to_set) + to_unset:
        if key in MESSAGE_CONTROL or key in MESSAGE_COMPUTED:
            raise input_error(f"field {key} cannot be changed with a partial update", field=key)
    if doc.get("type") == "deleted":
        raise input_error("a deleted message cannot be updated")
    system, custom = records.split_fields(to_set, MESSAGE_FIELDS)
    _validate(system)
    if "text" in system:
        config = typeconfig.effective(call.store, channel)
        content.check_length(config, system["text"] or "")
        if content.moderate(call, config, system["text"] or "").action == "block":
            raise input_error(f"{content.BLOCKED_TEXT}: the update was refused")
    if set(system) - _PIN_FIELDS or custom or set(to_unset) - _PIN_FIELDS:
        record_history(call, doc, actor)
    now = call.stamp()
    if "text" in system and system["text"] != doc.get("text"):
        doc["text"] = system["text"] or ""
        doc["html"] = render_html(doc["text"])
        doc["message_text_updated_at"] = now
    for key, value in system.items():
        if key in ("text", "pinned", "pin_expires"):
            continue
        doc[key] = value
    doc["custom"].update(custom)
    pin_fields = {k: system[k] for k in _PIN_FIELDS if k in system}
    for key in to_unset:
        if key in _PIN_FIELDS:
            pin_fields[key] = False if key == "pinned" else None
        elif key == "text":
            doc["text"], doc["html"] = "", ""
        elif key in ("attachments", "mentioned_users", "restricted_visibility"):
            doc[key] = []
        elif key in MESSAGE_FIELDS:
            doc.pop(key, None)
        else:
            doc["custom"].pop(key, None)
    _apply_pin(call, doc, pin_fields, actor, now)
    if not doc.get("text") and not doc.get("attachments"):
        raise input_error("a message needs text or attachments")
    doc["updated_at"] = now
    call.store.put(MESSAGES, doc)
    events.record(call, "message.updated", user=actor or doc.get("user_id"), message=doc)
    return {"message": Renderer(call).message(doc)}


def delete_message(call: Call) -> dict[str, Any]:
    """DeleteMessage (DELETE /messages/{id}): soft by default, ``hard=true`` purges it."""
    doc = records.require_message(call, call.path["id"])
    if call.query_bool("delete_for_me") or call.body.get("delete_for_me"):
        return _delete_for_me(call, doc)
    actor = call.actor(call.query_str("deleted_by"), user_ref(call.body.get("user")))
    channel = _channel_of(call, doc)
    if not call.is_server:
        permissions.require_author_or_moderator(call, doc, channel, "DeleteMessage")
    return {"message": erase_message(call, doc, hard=call.query_bool("hard"), actor=actor)}


def erase_message(
    call: Call, doc: dict[str, Any], *, hard: bool, actor: str | None = None
) -> dict[str, Any]:
    """Delete a message (soft: kept as type ``deleted``; hard: it, its replies and reactions
    are purged) and return its view. Permissions are the caller's business; DeleteMessage
    and v2's submit_action ``delete_message`` share this."""
    now = call.stamp()
    doc.update({"type": "deleted", "deleted_at": now, "updated_at": now})
    view = Renderer(call).message(doc)
    events.record(
        call,
        "message.deleted",
        user=actor or doc.get("user_id"),
        message=doc,
        fields={"hard_delete": hard},
    )
    if hard:
        for reply in call.store.select(MESSAGES, parent_id=doc["id"]):
            call.store.delete_where(REACTIONS, message_id=reply["id"])
            call.store.delete(MESSAGES, reply["id"])
        call.store.delete_where(REACTIONS, message_id=doc["id"])
        call.store.delete(MESSAGES, doc["id"])
        return view
    call.store.put(MESSAGES, doc)
    return view


def _delete_for_me(call: Call, doc: dict[str, Any]) -> dict[str, Any]:
    """Hide a message for one user only (Stream's ``delete_for_me``)."""
    user_id = call.actor(
        call.query_str("deleted_by"),
        user_ref(call.body.get("user")),
        opt_str(call.body, "user_id"),
        required="deleted_by (or user) must be provided with delete_for_me on server side auth",
    )
    assert user_id is not None
    channel = _channel_of(call, doc)
    if not call.is_server:
        permissions.require_read(call, channel)
    hidden_for = list(doc.get("deleted_for") or [])
    if user_id not in hidden_for:
        hidden_for.append(user_id)
    doc["deleted_for"] = hidden_for
    call.store.put(MESSAGES, doc)
    out = Renderer(call, user_id).message(doc)
    out["deleted_for_me"] = True
    return {"message": out}


def _query_sort(call: Call) -> list[tuple[str, int]]:
    raw = call.query_str("sort")
    if raw is None:
        return []
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        raise input_error("sort must be a JSON list of {field, direction}", field="sort") from None
    return parse_sort(parsed)


def _pagination_from_query(call: Call) -> dict[str, Any]:
    names = (
        "limit",
        "id_lt",
        "id_lte",
        "id_gt",
        "id_gte",
        "id_around",
        "created_at_before",
        "created_at_before_or_equal",
        "created_at_after",
        "created_at_after_or_equal",
        "created_at_around",
    )
    return {name: call.query[name] for name in names if call.query.get(name)}


def get_replies(call: Call) -> dict[str, Any]:
    """GetReplies (GET /messages/{parent_id}/replies): newest ``limit`` replies, oldest first."""
    parent = records.require_message(call, call.path["parent_id"])
    channel = _channel_of(call, parent)
    permissions.require_read(call, channel)
    replies = records.visible_messages(call, channel, call.user_id, replies_of=parent["id"])
    page = paginate_messages(call, replies, _pagination_from_query(call), default_limit=100)
    sort = _query_sort(call)
    if sort and sort[0][1] < 0:
        page = list(reversed(page))
    render = Renderer(call)
    return {"messages": [render.message(m) for m in page]}


def get_pinned_messages(call: Call) -> dict[str, Any]:
    """GetPinnedMessages (GET /channels/{type}/{id}/pinned_messages)."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    viewer = call.actor(call.query_str("user_id"))
    permissions.require_read(call, channel)
    for name in ("id_gte", "id_gt", "id_lte", "id_lt", "id_around", "pinned_at_around"):
        if call.query.get(name):
            raise feature_not_emulated(f"pinned message pagination by {name}")
    limit = call.query_int("limit", default=20, maximum=300)
    offset = call.query_int("offset", default=0)
    now = call.clock.peek_stamp()
    pinned = [
        m
        for m in records.visible_messages(call, channel, viewer)
        if m.get("pinned")
        and m.get("type") != "deleted"
        and not (m.get("pin_expires") and m["pin_expires"] <= now)
    ]
    bounds: dict[str, Callable[[str, str], bool]] = {
        "pinned_at_before": lambda v, ref: v < ref,
        "pinned_at_before_or_equal": lambda v, ref: v <= ref,
        "pinned_at_after": lambda v, ref: v > ref,
        "pinned_at_after_or_equal": lambda v, ref: v >= ref,
    }
    for name, test in bounds.items():
        ref = opt_time(call.query, name)
        if ref is not None:
            pinned = [m for m in pinned if test(m.get("pinned_at", ""), ref)]
    sort = _query_sort(call) or [("pinned_at", -1)]
    ordered = sort_docs(pinned, sort)
    render = Renderer(call, viewer)
    return {"messages": [render.message(m) for m in ordered[offset : offset + limit]]}
