"""Channel membership: adding, removing and promoting members, invites, per-member hiding,
and QueryMembers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import events, permissions, records
from stream_mcp.sandbox.context import Call, opt_bool, opt_time, str_list, user_ref
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.filters import bounded_int, matches, parse_sort, sort_docs
from stream_mcp.sandbox.store import CHANNELS, MEMBERS
from stream_mcp.sandbox.views import Renderer


def _record(call: Call, event_type: str, cid: str, member: Mapping[str, Any], actor: Any) -> None:
    channel = call.store.get(CHANNELS, cid)
    if channel is not None:
        events.record(call, event_type, channel=channel, user=actor, member=member)


def invite(call: Call, cid: str, user_id: str, actor: str | None = None) -> None:
    """Make the user a pending invitee (a member with ``invited`` and status ``pending``)."""
    member = records.get_member(call, cid, user_id)
    if member is None:
        new = records.new_member(call, cid, user_id, invited=True, status="pending")
        _record(call, "member.added", cid, new, actor)
        return
    member.update({"invited": True, "status": "pending", "updated_at": call.stamp()})
    call.store.put(MEMBERS, member)
    _record(call, "member.updated", cid, member, actor)


def remove(call: Call, channel: Mapping[str, Any], user_id: str, actor: str | None) -> None:
    """Take the user out of the channel (``member.removed`` when they were in it)."""
    member = records.get_member(call, channel["cid"], user_id)
    if member is None:
        return
    call.store.delete(MEMBERS, channel["cid"], user_id)
    events.record(call, "member.removed", channel=channel, user=actor, member=member)


def answer_invite(call: Call, cid: str, actor: str | None, *, accept: bool, now: str) -> None:
    if actor is None:
        raise input_error(
            "user_id must be provided to answer an invite when using server side auth"
        )
    member = records.get_member(call, cid, actor)
    if member is None or not member.get("invited"):
        raise input_error(f"user {actor!r} has no pending invite to channel {cid}")
    if accept:
        member.pop("invite_rejected_at", None)
        member.update({"invite_accepted_at": now, "status": "member"})
    else:
        member.pop("invite_accepted_at", None)
        member.update({"invite_rejected_at": now, "status": "rejected"})
    member["updated_at"] = now
    call.store.put(MEMBERS, member)
    _record(call, "member.updated", cid, member, actor)


def apply_member_changes(
    call: Call, channel: Mapping[str, Any], now: str, actor: str | None = None
) -> None:
    body = call.body
    cid = channel["cid"]
    additions = records.member_requests(body.get("add_members"), "add_members")
    invites = records.member_requests(body.get("invites"), "invites")
    missing = records.missing_users(call, {m["user_id"] for m in additions + invites})
    if missing:
        raise records.unknown_members_error(sorted(missing), "update")
    hide_before = opt_time(body, "hide_history_before")
    if body.get("hide_history"):
        hide_before = now
    for addition in additions:
        member = records.get_member(call, cid, addition["user_id"])
        if member is None:
            extra: dict[str, Any] = {"custom": addition.get("custom") or {}}
            if hide_before:
                extra["hide_messages_before"] = hide_before
            new = records.new_member(
                call,
                cid,
                addition["user_id"],
                channel_role=addition.get("channel_role") or "channel_member",
                **extra,
            )
            _record(call, "member.added", cid, new, actor)
        elif addition.get("channel_role"):
            member.update({"channel_role": addition["channel_role"], "updated_at": now})
            call.store.put(MEMBERS, member)
            _record(call, "member.updated", cid, member, actor)
    for invitee in invites:
        invite(call, cid, invitee["user_id"], actor)
    promoted = str_list(body, "add_moderators")
    missing = records.missing_users(call, promoted)
    if missing:
        raise records.unknown_members_error(sorted(missing), "update")
    for uid in promoted:
        # Stream makes a non-member a member when promoting them.
        if records.get_member(call, cid, uid) is None:
            new = records.new_member(call, cid, uid, channel_role="channel_moderator")
            _record(call, "member.added", cid, new, actor)
        else:
            _set_role(call, cid, uid, "channel_moderator", now, "add_moderators", actor)
    for uid in str_list(body, "demote_moderators"):
        _set_role(call, cid, uid, "channel_member", now, "demote_moderators", actor)
    for assignment in records.member_requests(body.get("assign_roles"), "assign_roles"):
        if not assignment.get("channel_role"):
            raise input_error(
                "every entry of assign_roles needs a channel_role", field="assign_roles"
            )
        _set_role(
            call,
            cid,
            assignment["user_id"],
            assignment["channel_role"],
            now,
            "assign_roles",
            actor,
        )


def _set_role(
    call: Call, cid: str, user_id: str, role: str, now: str, field: str, actor: str | None
) -> None:
    member = records.get_member(call, cid, user_id)
    if member is None:
        raise input_error(f"user {user_id!r} is not a member of channel {cid}", field=field)
    member.update({"channel_role": role, "updated_at": now})
    call.store.put(MEMBERS, member)
    _record(call, "member.updated", cid, member, actor)


def _member_for(call: Call, channel: Mapping[str, Any]) -> dict[str, Any]:
    uid = call.actor(
        call.body.get("user_id"),
        user_ref(call.body.get("user")),
        required="either user or user_id must be provided when using server side auth",
    )
    member = records.get_member(call, channel["cid"], uid)
    if member is None:
        raise input_error(f"user {uid!r} is not a member of channel {channel['cid']}")
    return member


def hide_channel(call: Call) -> dict[str, Any]:
    """HideChannel: hidden for one member until a new message arrives."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    member = _member_for(call, channel)
    now = call.stamp()
    member.update({"hidden": True, "updated_at": now})
    clear = bool(opt_bool(call.body, "clear_history"))
    if clear:
        member["hide_messages_before"] = now
    call.store.put(MEMBERS, member)
    events.record(
        call,
        "channel.hidden",
        channel=channel,
        user=member["user_id"],
        fields={"clear_history": clear},
    )
    return {}


def show_channel(call: Call) -> dict[str, Any]:
    """ShowChannel: undo HideChannel for one member."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    member = _member_for(call, channel)
    member.update({"hidden": False, "updated_at": call.stamp()})
    call.store.put(MEMBERS, member)
    events.record(call, "channel.visible", channel=channel, user=member["user_id"])
    return {}


# -- members -------------------------------------------------------------------------------


_INVITE_STATES = {"pending": "pending", "member": "accepted", "rejected": "rejected"}


def _member_filter_view(render: Renderer, member: Mapping[str, Any]) -> dict[str, Any]:
    view = render.member(member)
    user = view.get("user") or {}
    status = member.get("status")
    view.update(
        {
            "id": member["user_id"],
            "name": user.get("name"),
            "is_moderator": member.get("channel_role") == "channel_moderator",
            "invite": _INVITE_STATES.get(status or ""),
            "joined": status != "pending",
        }
    )
    return view


def query_members(call: Call) -> dict[str, Any]:
    """QueryMembers (GET /members?payload=): filter members of one channel."""
    payload = call.payload()
    channel_type = payload.get("type")
    if not isinstance(channel_type, str) or not channel_type:
        raise input_error("type is a required field", field="type")
    channel_id = payload.get("id")
    if not channel_id:
        ids = sorted(
            {m["user_id"] for m in records.member_requests(payload.get("members"), "members")}
        )
        if len(ids) < 2:
            raise input_error("either id or at least 2 members must be provided")
        channel_id = records.distinct_id(ids)
    channel = records.require_channel(call, channel_type, str(channel_id))
    permissions.require_read(call, channel)
    if "filter_conditions" not in payload:
        raise input_error("filter_conditions is a required field", field="filter_conditions")
    conditions = payload.get("filter_conditions") or {}
    sort = parse_sort(payload.get("sort"), default=[("created_at", 1)])
    limit = bounded_int(payload.get("limit"), name="limit", default=100, maximum=300)
    offset = bounded_int(payload.get("offset"), name="offset", default=0, maximum=10000)
    render = Renderer(call)
    views = [
        view
        for member in records.channel_members(call, channel["cid"])
        if matches(view := _member_filter_view(render, member), conditions)
    ]
    page = sort_docs(views, sort)[offset : offset + limit]
    members = []
    for view in page:
        member = records.get_member(call, channel["cid"], view["user_id"])
        if member is not None:
            members.append(render.member(member))
    return {"members": members}
