"""Moderation: Ban/Unban (app-wide or per channel, shadow bans), QueryBannedUsers,
MuteUser/UnmuteUser, Flag and QueryMessageFlags.

v2's moderation API reuses this module's state: its ``ban``, ``mute`` and ``unmute`` are these
handlers, and its ``flag`` goes through :func:`create_flag`, so a ban or a flag made through
either version is seen by both (and flags land in the review queue of
:mod:`stream_mcp.sandbox.review_queue`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from stream_mcp.sandbox import events, permissions, records, review_queue
from stream_mcp.sandbox.clock import iso
from stream_mcp.sandbox.context import Call, opt_bool, opt_str, str_list, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import bounded_int, matches, query_window, sort_docs
from stream_mcp.sandbox.store import BANS, CHANNELS, FLAGS, MESSAGES, META, MUTES, REACTIONS
from stream_mcp.sandbox.views import Renderer

_DELETE_MODES = ("soft", "pruning", "hard")


def _timeout(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise input_error(f"{name} must be a number of minutes", field=name)
    return value or None


def _expires(call: Call, minutes: int | None) -> str | None:
    if not minutes:
        return None
    return iso(call.clock.peek() + timedelta(minutes=minutes))


def _ban_channel(call: Call, source: Mapping[str, Any]) -> dict[str, Any] | None:
    """Channel of a ban: ``channel_cid``, or ``type`` + ``id`` (what the Python SDK sends)."""
    cid = source.get("channel_cid")
    if not cid and source.get("type") and source.get("id"):
        cid = f"{source['type']}:{source['id']}"
    if not cid:
        return None
    channel_type, channel_id = records.split_cid(str(cid))
    return records.require_channel(call, channel_type, channel_id)


def ban(call: Call) -> dict[str, Any]:
    """Ban (POST /moderation/ban), and v2's ``ban`` (POST /api/v2/moderation/ban), which
    takes the same body: both write the one ban table SendMessage checks."""
    body = call.body
    target = opt_str(body, "target_user_id")
    if not target:
        raise input_error("target_user_id is a required field", field="target_user_id")
    records.require_user(call, target)
    channel = _ban_channel(call, body)
    banned_by = call.actor(
        body.get("banned_by_id"),
        user_ref(body.get("banned_by")),
        body.get("user_id"),
        user_ref(body.get("user")),
    )
    if banned_by is not None and call.is_server:
        records.ensure_user(call, banned_by, body.get("banned_by") or body.get("user"))
    permissions.require_moderator(call, channel, "BanChannelMember" if channel else "BanUser")
    apply_ban(call, target, channel, banned_by, body)
    return {}


def apply_ban(
    call: Call,
    target: str,
    channel: Mapping[str, Any] | None,
    banned_by: str | None,
    options: Mapping[str, Any],
) -> None:
    """Store a ban of ``target`` (app-wide, or in ``channel``) with the options of Stream's
    ban request (shadow, reason, timeout, ip_ban, delete_messages …); permissions are the
    caller's business. Shared by v1 Ban, v2 ban and v2 submit_action."""
    if banned_by == target:
        raise input_error("a user cannot ban themselves", field="target_user_id")
    shadow = bool(opt_bool(options, "shadow"))
    delete_messages = options.get("delete_messages")
    if delete_messages not in (None, "", *_DELETE_MODES):
        raise input_error(f"delete_messages must be one of {list(_DELETE_MODES)}")
    cid = channel["cid"] if channel else ""
    now = call.stamp()
    doc: dict[str, Any] = {
        "target_user_id": target,
        "channel_cid": cid,
        "created_at": now,
        "shadow": shadow,
        "banned_by_id": banned_by,
        "reason": opt_str(options, "reason"),
        "expires": _expires(call, _timeout(options.get("timeout"), "timeout")),
        "ip_ban": bool(opt_bool(options, "ip_ban")),
        "ban_from_future_channels": bool(opt_bool(options, "ban_from_future_channels")),
    }
    call.store.put(BANS, {k: v for k, v in doc.items() if v is not None})
    ban_fields: dict[str, Any] = {"shadow": shadow}
    for key, name in (("reason", "reason"), ("expires", "expiration")):
        if doc[key]:
            ban_fields[name] = doc[key]
    events.record(
        call,
        "user.banned",
        channel=channel,
        user=target,
        created_by=banned_by,
        fields=ban_fields,
    )
    if delete_messages:
        _delete_messages(call, target, cid, str(delete_messages), now)
    if opt_bool(options, "delete_reactions"):
        for reaction in call.store.select(REACTIONS, user_id=target):
            message = call.store.get(MESSAGES, reaction["message_id"])
            if message is not None and (not cid or message["cid"] == cid):
                call.store.delete(REACTIONS, reaction["message_id"], target, reaction["type"])


def _delete_messages(call: Call, user_id: str, cid: str, mode: str, now: str) -> None:
    for message in call.store.select(MESSAGES, user_id=user_id):
        if cid and message["cid"] != cid:
            continue
        if mode == "hard":
            call.store.delete_where(REACTIONS, message_id=message["id"])
            call.store.delete(MESSAGES, message["id"])
            continue
        message.update({"type": "deleted", "deleted_at": now, "updated_at": now})
        if mode == "pruning":
            message.update({"text": "", "html": "", "attachments": [], "custom": {}})
        call.store.put(MESSAGES, message)


def unban(call: Call) -> dict[str, Any]:
    """Unban (DELETE /moderation/ban?target_user_id=…): lifts the ban, shadow or not."""
    target = call.query_str("target_user_id")
    if not target:
        raise input_error("target_user_id is a required field", field="target_user_id")
    channel = _ban_channel(call, call.query)
    actor = call.actor(call.query_str("created_by"), call.query_str("user_id"))
    permissions.require_moderator(call, channel, "BanChannelMember" if channel else "BanUser")
    ban = call.store.get(BANS, target, channel["cid"] if channel else "")
    if ban is not None:
        call.store.delete(BANS, target, ban["channel_cid"])
        record_unban(call, ban, actor)
    return {}


def record_unban(call: Call, ban: Mapping[str, Any], by: str | None) -> None:
    """The ``user.unbanned`` event of a lifted ban (v1 Unban, v2 unban and submit_action)."""
    channel = call.store.get(CHANNELS, ban["channel_cid"]) if ban.get("channel_cid") else None
    events.record(
        call,
        "user.unbanned",
        channel=channel,
        user=ban["target_user_id"],
        created_by=by,
        fields={"shadow": bool(ban.get("shadow"))},
    )


def _ban_view(render: Renderer, ban: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "user": render.user(ban["target_user_id"]),
        "created_at": ban["created_at"],
        "shadow": bool(ban.get("shadow")),
    }
    if ban.get("banned_by_id"):
        out["banned_by"] = render.user(ban["banned_by_id"])
    if ban.get("channel_cid"):
        channel = render.store.get(CHANNELS, ban["channel_cid"])
        if channel is not None:
            out["channel"] = render.channel(channel)
    for key in ("expires", "reason"):
        if ban.get(key):
            out[key] = ban[key]
    return out


def query_banned_users(call: Call) -> dict[str, Any]:
    """QueryBannedUsers (GET /query_banned_users?payload=)."""
    payload = call.payload()
    window = query_window(payload, default_limit=25, max_limit=300)
    conditions, sort, limit, offset = window.conditions, window.sort, window.limit, window.offset
    exclude_expired = bool(payload.get("exclude_expired_bans"))
    now = call.clock.peek_stamp()
    found = []
    for ban in call.store.select(BANS):
        if exclude_expired and ban.get("expires") and ban["expires"] <= now:
            continue
        channel = call.store.get(CHANNELS, ban["channel_cid"]) if ban["channel_cid"] else None
        if channel is not None and not permissions.can_read(call, channel):
            continue
        view = {
            "user_id": ban["target_user_id"],
            "target_user_id": ban["target_user_id"],
            "channel_cid": ban["channel_cid"] or None,
            "banned_by_id": ban.get("banned_by_id"),
            "created_at": ban["created_at"],
            "expires": ban.get("expires"),
            "reason": ban.get("reason"),
            "shadow": bool(ban.get("shadow")),
            "_ban": ban,
        }
        if matches(view, conditions):
            found.append(view)
    page = sort_docs(found, sort)[offset : offset + limit]
    render = Renderer(call)
    return {"bans": [_ban_view(render, v["_ban"]) for v in page]}


def _targets(call: Call) -> list[str]:
    targets = str_list(call.body, "target_ids")
    single = opt_str(call.body, "target_id")
    if single:
        targets.insert(0, single)
    if not targets:
        raise input_error("target_id or target_ids must be set", field="target_ids")
    return list(dict.fromkeys(targets))


def mute_user(call: Call) -> dict[str, Any]:
    """MuteUser (POST /moderation/mute): mutes expire after ``timeout`` minutes when set."""
    user_id = call.actor(
        call.body.get("user_id"),
        user_ref(call.body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    user = records.ensure_user(call, user_id, call.body.get("user"))
    targets = _targets(call)
    if user_id in targets:
        raise input_error("a user cannot mute themselves", field="target_ids")
    expires = _expires(call, _timeout(call.body.get("timeout"), "timeout"))
    missing = records.missing_users(call, targets)
    now = call.stamp()
    created = []
    for target in targets:
        if target in missing:
            continue
        existing = call.store.get(MUTES, user_id, target)
        doc: dict[str, Any] = {
            "user_id": user_id,
            "target_id": target,
            "created_at": existing["created_at"] if existing else now,
            "updated_at": now,
        }
        if expires:
            doc["expires"] = expires
        call.store.put(MUTES, doc)
        created.append(doc)
    render = Renderer(call)
    out: dict[str, Any] = {
        "mutes": [render.mute(m) for m in created],
        "own_user": render.full_user(user),
    }
    if len(created) == 1:
        out["mute"] = out["mutes"][0]
    if missing:
        out["non_existing_users"] = missing
    return out


def unmute_user(call: Call) -> dict[str, Any]:
    """UnmuteUser (POST /moderation/unmute)."""
    user_id = call.actor(
        call.body.get("user_id"),
        user_ref(call.body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    targets = _targets(call)
    missing = records.missing_users(call, targets)
    for target in targets:
        call.store.delete(MUTES, user_id, target)
    return {"non_existing_users": missing} if missing else {}


def flag(call: Call) -> dict[str, Any]:
    """Flag (POST /moderation/flag): a message or a user, once per flagging user."""
    body = call.body
    message_id = opt_str(body, "target_message_id")
    target_user = opt_str(body, "target_user_id")
    if bool(message_id) == bool(target_user):
        raise input_error("exactly one of target_message_id or target_user_id must be set")
    user_id = call.actor(
        body.get("user_id"),
        user_ref(body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.ensure_user(call, user_id, body.get("user"))
    message = flaggable_message(call, message_id) if message_id else None
    if message is None:
        records.require_user(call, str(target_user))
    doc, item_id = create_flag(
        call, user_id, message, target_user, opt_str(body, "reason"), body.get("custom")
    )
    render = Renderer(call)
    view: dict[str, Any] = {
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "created_by_automod": False,
        "user": render.user(user_id),
        "custom": doc["custom"],
    }
    if doc["reason"]:
        view["reason"] = doc["reason"]
    if message is not None:
        view["target_message_id"] = message_id
        view["target_message"] = render.message(message)
    else:
        view["target_user"] = render.user(target_user)
    return {"flag": view, "review_queue_item_id": item_id}


def flaggable_message(call: Call, message_id: str) -> dict[str, Any]:
    """The message a user may flag: it exists and, under a user token, they can read it."""
    message = records.require_message(call, message_id)
    channel = call.store.get(CHANNELS, message["cid"])
    if channel is None:
        raise not_found(f"Message with id {message_id} doesn't exist")
    permissions.require_read(call, channel, "FlagMessage")
    return message


def create_flag(
    call: Call,
    user_id: str,
    message: Mapping[str, Any] | None,
    target_user: str | None,
    reason: str | None,
    custom: Any,
    payload: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """Record ``user_id``'s flag of a message or a user, for v1 Flag and v2 flag alike.

    The flag is stored where QueryMessageFlags and flag reports read it and added to the
    entity's review-queue item; returns the flag and that item's id. A second flag of the
    same target by the same user is an input error.
    """
    message_id = message["id"] if message is not None else None
    flag_id = f"{user_id}:{message_id or ''}:{target_user or ''}"
    if call.store.get(FLAGS, flag_id) is not None:
        raise input_error("this flag already exists")
    custom = custom or {}
    if not isinstance(custom, Mapping):
        raise input_error("custom must be an object", field="custom")
    now = call.stamp()
    creator = (message or {}).get("user_id") or target_user
    doc: dict[str, Any] = {
        "id": flag_id,
        "user_id": user_id,
        "target_message_id": message_id,
        "target_user_id": creator,
        "channel_cid": (message or {}).get("cid"),
        "reason": reason,
        "custom": dict(custom),
        "created_at": now,
        "updated_at": now,
    }
    call.store.put(FLAGS, doc)
    _record_flag(call, doc, message, user_id, target_user)
    entity = (
        (review_queue.MESSAGE_ENTITY, str(message_id))
        if message_id
        else (review_queue.USER_ENTITY, str(target_user))
    )
    item = review_queue.ensure_item(call, *entity, creator_id=creator, payload=payload)
    review_queue.add_flag(
        call, item, kind="user", user_id=user_id, reason=reason, custom=doc["custom"]
    )
    return doc, str(item["id"])


def _record_flag(
    call: Call,
    flag: Mapping[str, Any],
    message: Mapping[str, Any] | None,
    user_id: str | None,
    target_user: str | None,
) -> None:
    """``message.flagged`` or ``user.flagged``, with the target's flag count so far."""
    fields: dict[str, Any] = {"reason": flag.get("reason") or ""}
    if message is not None:
        fields["total_flags"] = call.store.count(FLAGS, target_message_id=message["id"])
        events.record(call, "message.flagged", user=user_id, message=message, fields=fields)
        return
    total = sum(
        1
        for f in call.store.select(FLAGS, target_user_id=target_user)
        if not f.get("target_message_id")
    )
    fields["total_flags"] = total
    events.record(call, "user.flagged", user=user_id, target_user=target_user, fields=fields)


def query_message_flags(call: Call) -> dict[str, Any]:
    """QueryMessageFlags (GET /moderation/flags/message?payload=).

    Filters: ``channel_cid``, ``user_id`` (the flagged message's author), ``created_at`` …
    Users see flags in channels they moderate; admins and the server see all.
    """
    payload = call.payload()
    window = query_window(payload, default_limit=25, max_limit=300)
    conditions, sort, limit, offset = window.conditions, window.sort, window.limit, window.offset
    show_deleted = bool(payload.get("show_deleted_messages"))
    found = []
    for doc in call.store.select(FLAGS):
        if not doc.get("target_message_id"):
            continue
        message = call.store.get(MESSAGES, doc["target_message_id"])
        if message is None or (message.get("type") == "deleted" and not show_deleted):
            continue
        channel = call.store.get(CHANNELS, message["cid"])
        if channel is None:
            continue
        if not permissions.is_privileged(call) and (
            permissions.channel_role(call, channel, call.user_id) not in permissions.MODERATOR_ROLES
        ):
            continue
        view = {
            "channel_cid": message["cid"],
            "user_id": message.get("user_id"),
            "flagged_by_id": doc["user_id"],
            "message_id": message["id"],
            "created_at": doc["created_at"],
            "reason": doc.get("reason"),
            "is_reviewed": False,
            "_flag": doc,
            "_message": message,
        }
        if matches(view, conditions):
            found.append(view)
    page = sort_docs(found, sort)[offset : offset + limit]
    render = Renderer(call)
    flags = []
    for view in page:
        doc = view["_flag"]
        item: dict[str, Any] = {
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "created_by_automod": False,
            "message": render.message(view["_message"]),
            "user": render.user(doc["user_id"]),
            "custom": doc.get("custom") or {},
        }
        if doc.get("reason"):
            item["reason"] = doc["reason"]
        flags.append(item)
    return {"flags": flags}


def unflag(call: Call) -> dict[str, Any]:
    """Unflag (POST /moderation/unflag): withdraw the user's flag of a message or a user."""
    body = call.body
    message_id = opt_str(body, "target_message_id")
    target_user = opt_str(body, "target_user_id")
    if bool(message_id) == bool(target_user):
        raise input_error("exactly one of target_message_id or target_user_id must be set")
    user_id = call.actor(
        body.get("user_id"),
        user_ref(body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    flag_id = f"{user_id}:{message_id or ''}:{target_user or ''}"
    doc = call.store.get(FLAGS, flag_id)
    if doc is None:
        raise not_found("the flag does not exist")
    call.store.delete(FLAGS, flag_id)
    if message_id:
        review_queue.withdraw_flag(call, review_queue.MESSAGE_ENTITY, message_id, user_id)
    else:
        review_queue.withdraw_flag(call, review_queue.USER_ENTITY, str(target_user), user_id)
    render = Renderer(call)
    view: dict[str, Any] = {
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "created_by_automod": bool(doc.get("automod")),
        "user": render.user(doc["user_id"]),
    }
    if message_id:
        view["target_message_id"] = message_id
    else:
        view["target_user"] = render.user(target_user)
    return {"flag": view}


def automod_flag(call: Call, message: Mapping[str, Any], reason: str) -> None:
    """Flag a message on behalf of moderation (a blocklist with the ``flag`` behaviour)."""
    now = call.stamp()
    call.store.put(
        FLAGS,
        {
            "id": f"automod:{message['id']}:",
            "user_id": message.get("user_id"),
            "target_message_id": message["id"],
            "target_user_id": message.get("user_id"),
            "channel_cid": message["cid"],
            "reason": reason,
            "automod": True,
            "custom": {},
            "created_at": now,
            "updated_at": now,
        },
    )
    flag = call.store.get(FLAGS, f"automod:{message['id']}:") or {}
    _record_flag(call, flag, message, message.get("user_id"), None)
    item = review_queue.ensure_item(
        call,
        review_queue.MESSAGE_ENTITY,
        str(message["id"]),
        creator_id=message.get("user_id"),
        payload={"texts": [message.get("text") or ""]},
    )
    review_queue.add_flag(call, item, kind="automod", user_id=None, reason=reason, custom={})


def query_future_channel_bans(call: Call) -> dict[str, Any]:
    """QueryFutureChannelBans (GET /query_future_channel_bans?payload=): app-wide bans made
    with ``ban_from_future_channels`` by ``user_id``."""
    payload = call.payload()
    banned_by = call.actor(payload.get("user_id"))
    limit = bounded_int(payload.get("limit"), name="limit", default=25, maximum=100)
    offset = bounded_int(payload.get("offset"), name="offset", default=0)
    exclude_expired = bool(payload.get("exclude_expired_bans"))
    render = Renderer(call)
    found = []
    for ban in call.store.select(BANS, order_by="created_at", descending=True):
        if not ban.get("ban_from_future_channels"):
            continue
        if banned_by and ban.get("banned_by_id") != banned_by:
            continue
        if exclude_expired and ban.get("expires") and ban["expires"] <= call.clock.peek_stamp():
            continue
        found.append(ban)
    return {"bans": [_ban_view(render, b) for b in found[offset : offset + limit]]}


def _report_view(
    call: Call, message: Mapping[str, Any], review: Mapping[str, Any]
) -> dict[str, Any]:
    render = Renderer(call)
    flags = [f for f in call.store.select(FLAGS, target_message_id=message["id"])]
    out: dict[str, Any] = {
        "id": f"report-{message['id']}",
        "message": render.message(message),
        "flags_count": len(flags),
        "user": render.user(message.get("user_id")),
        "created_at": min((f["created_at"] for f in flags), default=message["created_at"]),
        "updated_at": review.get("updated_at")
        or max((f["updated_at"] for f in flags), default=message["updated_at"]),
    }
    if review:
        out.update(
            {
                "review_result": review.get("review_result"),
                "review_details": review.get("review_details") or {},
                "reviewed_at": review.get("updated_at"),
                "reviewed_by": render.user(review.get("user_id")),
            }
        )
    return out


def query_flag_reports(call: Call) -> dict[str, Any]:
    """QueryFlagReports (POST /moderation/reports): one report per flagged message.

    Stream's SDKs mark this endpoint internal; filters: ``message_id``, ``channel_cid``,
    ``user_id`` (the message's author).
    """
    conditions = call.body.get("filter_conditions") or {}
    if not isinstance(conditions, Mapping):
        raise input_error("filter_conditions must be an object", field="filter_conditions")
    seen: dict[str, dict[str, Any]] = {}
    for flag in call.store.select(FLAGS, order_by="created_at"):
        message_id = flag.get("target_message_id")
        if not message_id or message_id in seen:
            continue
        message = call.store.get(MESSAGES, message_id)
        if message is None:
            continue
        view = {
            "message_id": message_id,
            "channel_cid": message["cid"],
            "user_id": message.get("user_id"),
        }
        if matches(view, conditions):
            seen[message_id] = message
    reports = []
    for message in seen.values():
        review = (call.store.get(META, f"report:{message['id']}") or {}).get("review") or {}
        reports.append(_report_view(call, message, review))
    return {"flag_reports": reports}


def review_flag_report(call: Call) -> dict[str, Any]:
    """ReviewFlagReport (PATCH /moderation/reports/{id}): record a moderator's decision."""
    report_id = call.path["id"]
    message_id = report_id.removeprefix("report-")
    message = call.store.get(MESSAGES, message_id)
    if message is None or not call.store.select(FLAGS, target_message_id=message_id):
        raise not_found(f"flag report {report_id} does not exist")
    result = opt_str(call.body, "review_result")
    if not result:
        raise input_error("review_result is a required field", field="review_result")
    user_id = call.actor(opt_str(call.body, "user_id"), user_ref(call.body.get("user")))
    details = call.body.get("review_details") or {}
    if not isinstance(details, Mapping):
        raise input_error("review_details must be an object", field="review_details")
    review = {
        "review_result": result,
        "review_details": dict(details),
        "user_id": user_id,
        "updated_at": call.stamp(),
    }
    call.store.put(META, {"key": f"report:{message_id}", "review": review})
    return {"flag_report": _report_view(call, message, review)}
