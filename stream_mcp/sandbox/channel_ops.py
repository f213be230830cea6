"""Channel operations beyond create/update: DeleteChannels and ChannelBatchUpdate (tasks),
UpdateMemberPartial (archive, pin, custom member data), channel mutes, events and exports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from stream_mcp.sandbox import accounts, events, permissions, records, tasks, typeconfig
from stream_mcp.sandbox.channels import config_overrides, filter_view
from stream_mcp.sandbox.clock import iso
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, opt_time, str_list, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import matches
from stream_mcp.sandbox.store import CHANNEL_MUTES, CHANNELS, MEMBERS, MESSAGES
from stream_mcp.sandbox.views import Renderer

_MEMBER_SYSTEM = frozenset({"archived", "pinned", "notifications_muted", "channel_role"})


def _delete(call: Call, channel: dict[str, Any], *, hard: bool) -> None:
    now = call.stamp()
    channel["deleted_at"] = now
    channel["updated_at"] = now
    events.record(call, "channel.deleted", channel=channel, user=call.user_id)
    if hard:
        records.purge_channel(call, channel["cid"])
        return
    call.store.put(CHANNELS, channel)


def delete_channels(call: Call) -> dict[str, Any]:
    """DeleteChannels (POST /channels/delete): a task with one result per cid."""
    cids = str_list(call.body, "cids")
    if not cids:
        raise input_error("cids is a required field", field="cids")
    if len(cids) > 100:
        raise input_error("cids accepts at most 100 channels", field="cids")
    hard = bool(opt_bool(call.body, "hard_delete"))
    results: dict[str, Any] = {}
    for cid in cids:
        records.split_cid(cid)
        channel = records.get_channel(call, cid)
        if channel is None:
            results[cid] = {"status": "error", "error": f"Can't find channel with id {cid}"}
            continue
        permissions.require_manager(call, channel, "DeleteChannel")
        _delete(call, channel, hard=hard)
        results[cid] = {"status": "ok"}
    return {"task_id": tasks.record(call, "delete_channels", results), "result": results}


# -- batch ---------------------------------------------------------------------------------

_MEMBER_OPS = {
    "addMembers",
    "removeMembers",
    "inviteMembers",
    "invites",
    "assignRoles",
    "addModerators",
    "demoteModerators",
    "hide",
    "show",
    "archive",
    "unarchive",
}


def _batch_channels(call: Call, conditions: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Channels matching a batch filter (``cids`` is Stream's name for the cid field)."""
    render = Renderer(call)
    found = []
    for channel in call.store.select(CHANNELS):
        if channel.get("deleted_at"):
            continue
        view = filter_view(render, channel, None)
        view["cids"] = channel["cid"]
        if matches(view, conditions):
            found.append(channel)
    return found


def _batch_one(
    call: Call, channel: dict[str, Any], operation: str, body: Mapping[str, Any]
) -> None:
    from stream_mcp.sandbox import members as membership

    cid = channel["cid"]
    now = call.stamp()
    requests = records.member_requests(body.get("members"), "members")
    ids = [m["user_id"] for m in requests]
    if operation in ("addMembers", "inviteMembers", "invites", "addModerators"):
        missing = records.missing_users(call, ids)
        if missing:
            raise records.unknown_members_error(sorted(missing), "update")
    if operation == "addMembers":
        for member in requests:
            if records.get_member(call, cid, member["user_id"]) is None:
                new = records.new_member(
                    call,
                    cid,
                    member["user_id"],
                    channel_role=member.get("channel_role") or "channel_member",
                )
                events.record(call, "member.added", channel=channel, member=new)
    elif operation == "removeMembers":
        for uid in ids:
            membership.remove(call, channel, uid, None)
    elif operation in ("inviteMembers", "invites"):
        for uid in ids:
            membership.invite(call, cid, uid)
    elif operation in ("addModerators", "demoteModerators", "assignRoles"):
        for member in requests:
            role = {
                "addModerators": "channel_moderator",
                "demoteModerators": "channel_member",
            }.get(operation) or member.get("channel_role")
            if not role:
                raise input_error("assignRoles needs a channel_role for every member")
            doc = records.get_member(call, cid, member["user_id"])
            kind = "member.updated"
            if doc is None:
                if operation != "addModerators":
                    continue
                doc = records.new_member(call, cid, member["user_id"], channel_role=role)
                kind = "member.added"
            doc.update({"channel_role": role, "updated_at": now})
            call.store.put(MEMBERS, doc)
            events.record(call, kind, channel=channel, member=doc)
    elif operation in ("hide", "show", "archive", "unarchive"):
        for uid in ids:
            doc = records.get_member(call, cid, uid)
            if doc is None:
                continue
            if operation in ("hide", "show"):
                doc["hidden"] = operation == "hide"
            elif operation == "archive":
                doc["archived_at"] = now
            else:
                doc.pop("archived_at", None)
            doc["updated_at"] = now
            call.store.put(MEMBERS, doc)
    elif operation == "updateData":
        data = obj(body, "data")
        for key in ("frozen", "disabled", "auto_translation_enabled"):
            if key in data:
                channel[key] = bool(data[key])
        for key in ("team", "auto_translation_language"):
            if key in data:
                channel[key] = data[key]
        if "custom" in data:
            channel["custom"].update(obj(data, "custom"))
        if "config_overrides" in data:
            channel["config_overrides"] = {
                **(channel.get("config_overrides") or {}),
                **config_overrides(call, data["config_overrides"]),
            }
        channel["updated_at"] = now
        call.store.put(CHANNELS, channel)
        events.record(call, "channel.updated", channel=channel)


def channel_batch_update(call: Call) -> dict[str, Any]:
    """ChannelBatchUpdate (PUT /channels/batch): one operation on every matching channel."""
    body = call.body
    operation = opt_str(body, "operation")
    if operation not in _MEMBER_OPS | {"updateData"}:
        raise input_error(
            f"operation must be one of {sorted(_MEMBER_OPS | {'updateData'})}", field="operation"
        )
    conditions = obj(body, "filter", required=True)
    if operation in _MEMBER_OPS and not body.get("members"):
        raise input_error(f"{operation} needs members", field="members")
    channels = _batch_channels(call, conditions)
    for channel in channels:
        _batch_one(call, channel, operation, body)
    result = {"operation": operation, "channels": [c["cid"] for c in channels]}
    return {"task_id": tasks.record(call, "channel_batch_update", result)}


# -- members -------------------------------------------------------------------------------


def update_member_partial(call: Call) -> dict[str, Any]:
    """UpdateMemberPartial (PATCH /channels/{type}/{id}/member[/{user_id}]): ``archived``,
    ``pinned`` and custom member data for one member."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    user_id = call.actor(
        call.path.get("user_id"),
        call.query_str("user_id"),
        opt_str(call.body, "user_id"),
        user_ref(call.body.get("user")),
        required="user_id must be provided when using server side auth",
    )
    assert user_id is not None
    member = records.get_member(call, channel["cid"], user_id)
    if member is None:
        raise not_found(f"user {user_id!r} is not a member of channel {channel['cid']}")
    to_set = dict(obj(call.body, "set"))
    to_unset = str_list(call.body, "unset")
    now = call.stamp()
    for flag, stamp in (("archived", "archived_at"), ("pinned", "pinned_at")):
        if flag in to_set:
            value = to_set.pop(flag)
            if not isinstance(value, bool):
                raise input_error(f"{flag} must be a boolean", field=flag)
            if value:
                member.setdefault(stamp, now)
            else:
                member.pop(stamp, None)
        if flag in to_unset:
            to_unset.remove(flag)
            member.pop(stamp, None)
    if "notifications_muted" in to_set:
        member["notifications_muted"] = bool(to_set.pop("notifications_muted"))
    if "channel_role" in to_set:
        permissions.require_manager(call, channel, "UpdateChannelMembers")
        role = to_set.pop("channel_role")
        if role not in records.CHANNEL_ROLES:
            raise input_error(f"channel_role {role!r} does not exist", field="channel_role")
        member["channel_role"] = role
    custom = dict(member.get("custom") or {})
    custom.update(to_set)
    for key in to_unset:
        custom.pop(key, None)
    member["custom"] = custom
    member["updated_at"] = now
    call.store.put(MEMBERS, member)
    events.record(call, "member.updated", channel=channel, user=user_id, member=member)
    return {"channel_member": Renderer(call).member(member)}


# -- channel mutes -------------------------------------------------------------------------


def _muter(call: Call) -> str:
    user_id = call.actor(
        opt_str(call.body, "user_id"),
        user_ref(call.body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    assert user_id is not None
    records.ensure_user(call, user_id, call.body.get("user"))
    return user_id


def _mute_cids(call: Call) -> list[str]:
    cids = str_list(call.body, "channel_cids")
    single = opt_str(call.body, "channel_cid")
    if single:
        cids.insert(0, single)
    if not cids:
        raise input_error("channel_cid or channel_cids must be set", field="channel_cids")
    return list(dict.fromkeys(cids))


def channel_mute_view(call: Call, doc: Mapping[str, Any]) -> dict[str, Any]:
    render = Renderer(call)
    channel = records.get_channel(call, doc["cid"])
    out: dict[str, Any] = {
        "user": render.user(doc["user_id"]),
        "channel": render.channel(channel) if channel else None,
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
    }
    if doc.get("expires"):
        out["expires"] = doc["expires"]
    return out


def active_channel_mutes(call: Call, user_id: str) -> list[dict[str, Any]]:
    now = call.clock.peek_stamp()
    return [
        m
        for m in call.store.select(CHANNEL_MUTES, user_id=user_id, order_by="created_at")
        if not (m.get("expires") and m["expires"] <= now)
    ]


def mute_channel(call: Call) -> dict[str, Any]:
    """MuteChannel (POST /moderation/mute/channel): ``expiration`` is in milliseconds."""
    user_id = _muter(call)
    expiration = call.body.get("expiration")
    if expiration is not None and (
        isinstance(expiration, bool) or not isinstance(expiration, int) or expiration < 0
    ):
        raise input_error("expiration must be a number of milliseconds", field="expiration")
    now = call.stamp()
    mutes = []
    for cid in _mute_cids(call):
        channel_type, channel_id = records.split_cid(cid)
        channel = records.require_channel(call, channel_type, channel_id)
        permissions.require_read(call, channel, "MuteChannel")
        doc: dict[str, Any] = {
            "user_id": user_id,
            "cid": cid,
            "created_at": now,
            "updated_at": now,
        }
        if expiration:
            doc["expires"] = iso(call.clock.peek() + timedelta(milliseconds=expiration))
        call.store.put(CHANNEL_MUTES, doc)
        mutes.append(doc)
    render = Renderer(call)
    user = records.require_user(call, user_id)
    out: dict[str, Any] = {
        "channel_mutes": [channel_mute_view(call, m) for m in mutes],
        "own_user": render.full_user(user),
    }
    if len(mutes) == 1:
        out["channel_mute"] = out["channel_mutes"][0]
    return out


def unmute_channel(call: Call) -> dict[str, Any]:
    """UnmuteChannel (POST /moderation/unmute/channel)."""
    user_id = _muter(call)
    for cid in _mute_cids(call):
        call.store.delete(CHANNEL_MUTES, user_id, cid)
    return {}


# -- events --------------------------------------------------------------------------------


def send_event(call: Call) -> dict[str, Any]:
    """SendEvent (POST /channels/{type}/{id}/event): accepted and echoed back; the sandbox
    has no WebSocket watchers to deliver it to. Custom events need ``custom_events`` on."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    event = obj(call.body, "event", required=True)
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        raise input_error("event.type is a required field", field="type")
    user_id = call.actor(
        event.get("user_id"),
        user_ref(event.get("user")),
        required="event.user or event.user_id must be provided when using server side auth",
    )
    assert user_id is not None
    if call.is_server:
        records.ensure_user(call, user_id, event.get("user"))
    else:
        permissions.require_member(call, channel, "SendCustomEvent")
    config = typeconfig.effective(call.store, channel)
    if kind.startswith("typing.") and not config.get("typing_events"):
        raise input_error(f"typing events are disabled for channel type {channel['type']}")
    render = Renderer(call)
    out = {k: v for k, v in event.items() if k not in ("user", "user_id")}
    out.update(
        {
            "type": kind,
            "cid": channel["cid"],
            "channel_id": channel["id"],
            "channel_type": channel["type"],
            "created_at": call.stamp(),
            "user": render.user(user_id),
        }
    )
    return {"event": out}


def stop_watching(call: Call) -> dict[str, Any]:
    """StopWatchingChannel: nothing to stop, as the sandbox has no WebSocket watchers."""
    records.require_channel(call, call.path["type"], call.path["id"])
    return {}


# -- exports -------------------------------------------------------------------------------


def export_channels(call: Call) -> dict[str, Any]:
    """ExportChannels (POST /export_channels): a task whose result is a JSON download URL."""
    specs = call.body.get("channels")
    if not isinstance(specs, list) or not specs:
        raise input_error("channels is a required field", field="channels")
    include_truncated = bool(opt_bool(call.body, "include_truncated_messages"))
    render = Renderer(call)
    exported = []
    for spec in specs:
        if not isinstance(spec, Mapping):
            raise input_error("every entry of channels must be an object", field="channels")
        cid = spec.get("cid") or f"{spec.get('type')}:{spec.get('id')}"
        channel_type, channel_id = records.split_cid(str(cid))
        channel = records.require_channel(call, channel_type, channel_id)
        since = opt_time(spec, "messages_since")
        until = opt_time(spec, "messages_until")
        cutoff = None if include_truncated else channel.get("truncated_at")
        messages = [
            render.message(m)
            for m in call.store.select(MESSAGES, cid=channel["cid"], order_by="created_at")
            if not (cutoff and m["created_at"] <= cutoff)
            and not (since and m["created_at"] < since)
            and not (until and m["created_at"] > until)
        ]
        exported.append(
            {
                "channel": render.channel(channel),
                "members": render.members(channel),
                "messages": messages,
            }
        )
    url = accounts.store_export(call, f"exports/channels/{records.new_id()}.json", exported)
    return {"task_id": tasks.record(call, "export_channels", {"url": url})}


def get_channel(call: Call) -> dict[str, Any]:
    """GetChannel (GET /channels/{type}/{id}): the channel's state, without creating it."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    permissions.require_read(call, channel)
    return Renderer(call).state(channel)
