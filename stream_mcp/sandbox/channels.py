"""Channels: get-or-create (by id or distinct members), query, update, partial update, delete,
truncate, hide/show and member queries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import events, permissions, records, typeconfig
from stream_mcp.sandbox import members as membership
from stream_mcp.sandbox.context import (
    Call,
    obj,
    opt_bool,
    opt_time,
    str_list,
    user_ref,
)
from stream_mcp.sandbox.errors import feature_not_emulated, input_error
from stream_mcp.sandbox.filters import bounded_int, matches, parse_sort, sort_docs
from stream_mcp.sandbox.messages import create_message
from stream_mcp.sandbox.store import CHANNEL_MUTES, CHANNELS, MESSAGES, REACTIONS
from stream_mcp.sandbox.views import Renderer

# Writable system fields of a channel; everything else in ``data`` is custom data.
CHANNEL_FIELDS = frozenset(
    {
        "frozen",
        "disabled",
        "team",
        "cooldown",
        "auto_translation_enabled",
        "auto_translation_language",
        "filter_tags",
    }
)
# Handled explicitly by the operations that accept them.
CHANNEL_CONTROL = frozenset(
    {"created_by", "created_by_id", "members", "invites", "config_overrides", "truncated_by_id"}
)
# Computed by the server; ignored on input.
CHANNEL_COMPUTED = frozenset(
    {
        "id",
        "type",
        "cid",
        "created_at",
        "updated_at",
        "member_count",
        "message_count",
        "last_message_at",
        "deleted_at",
        "truncated_at",
        "truncated_by",
        "own_capabilities",
        "config",
        "hidden",
        "blocked",
        "muted",
        "mute_expires_at",
    }
)
_UNSETTABLE = frozenset(
    {"team", "cooldown", "filter_tags", "auto_translation_language", "auto_translation_enabled"}
)


def _validate_system(fields: Mapping[str, Any]) -> None:
    for name in ("frozen", "disabled", "auto_translation_enabled"):
        if name in fields and not isinstance(fields[name], bool):
            raise input_error(f"{name} must be a boolean", field=name)
    for name in ("team", "auto_translation_language"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise input_error(f"{name} must be a string", field=name)
    cooldown = fields.get("cooldown")
    if cooldown is not None and (
        isinstance(cooldown, bool) or not isinstance(cooldown, int) or not 0 <= cooldown <= 120
    ):
        raise input_error("cooldown must be an integer between 0 and 120 seconds", field="cooldown")
    tags = fields.get("filter_tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
    ):
        raise input_error("filter_tags must be a list of strings", field="filter_tags")


def config_overrides(call: Call, value: Any) -> dict[str, Any]:
    """A channel's ``config_overrides``, checked against what Stream lets a channel override."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise input_error("config_overrides must be an object", field="config_overrides")
    clean = typeconfig.validate(value, allowed=typeconfig.OVERRIDABLE, what="config_overrides")
    if "commands" in clean:
        clean["commands"] = typeconfig.check_commands(call.store, clean["commands"])
    return clean


def _state_options(call: Call) -> dict[str, Any]:
    members = obj(call.body, "members")
    return {
        "messages": obj(call.body, "messages"),
        "member_limit": bounded_int(
            members.get("limit"), name="members.limit", default=100, maximum=300
        ),
        "member_offset": bounded_int(members.get("offset"), name="members.offset", default=0),
    }


# -- get or create -------------------------------------------------------------------------


def get_or_create(call: Call) -> dict[str, Any]:
    """GetOrCreateChannel and GetOrCreateDistinctChannel: members and messages in the state."""
    channel_type = call.path["type"]
    records.check_channel_type(call, channel_type)
    data = obj(call.body, "data")
    channel_id = call.path.get("id")
    if channel_id is None:  # distinct channel: the id is derived from the member set
        ids = sorted(
            {m["user_id"] for m in records.member_requests(data.get("members"), "data.members")}
        )
        if len(ids) < 2:
            raise input_error("When using member based IDs specify at least 2 members")
        channel_id = records.distinct_id(ids)
    elif not records.CHANNEL_ID.match(channel_id):
        raise input_error(
            f'channel id "{channel_id}" is not valid: '
            'use at most 64 letters, digits, "_", "-" and "!"',
            field="id",
        )
    cid = f"{channel_type}:{channel_id}"
    existing = call.store.get(CHANNELS, cid)
    if existing is not None and not existing.get("deleted_at"):
        permissions.require_read(call, existing)
        channel = existing
    else:
        channel = _create(call, channel_type, channel_id, data, previous=existing)
    return Renderer(call).state(channel, **_state_options(call))


def _create(
    call: Call,
    channel_type: str,
    channel_id: str,
    data: Mapping[str, Any],
    *,
    previous: Mapping[str, Any] | None,
) -> dict[str, Any]:
    creator = call.actor(
        data.get("created_by_id"),
        user_ref(data.get("created_by")),
        required="either data.created_by or data.created_by_id must be provided when using "
        "server side auth",
    )
    assert creator is not None
    records.ensure_user(call, creator, data.get("created_by"))
    system, custom = records.split_fields(data, CHANNEL_FIELDS, CHANNEL_CONTROL | CHANNEL_COMPUTED)
    _validate_system(system)
    overrides = config_overrides(call, data.get("config_overrides"))
    if overrides:
        system = {**system, "config_overrides": overrides}
    return create_channel(
        call,
        channel_type,
        channel_id,
        creator=creator,
        members=records.member_requests(data.get("members"), "data.members"),
        invites=records.member_requests(data.get("invites"), "data.invites"),
        system=system,
        custom=custom,
        previous=previous,
        hide_for_creator=bool(call.body.get("hide_for_creator")),
    )


def create_channel(
    call: Call,
    channel_type: str,
    channel_id: str,
    *,
    creator: str,
    members: list[dict[str, Any]],
    invites: list[dict[str, Any]] | None = None,
    system: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
    hide_for_creator: bool = False,
) -> dict[str, Any]:
    """Store a new channel with its members; every member and invitee must already exist."""
    invites = invites or []
    missing = records.missing_users(call, {m["user_id"] for m in members + invites})
    if missing:
        raise records.unknown_members_error(sorted(missing), "create")
    cid = f"{channel_type}:{channel_id}"
    if previous is not None:
        records.purge_members(call, cid)
    now = call.stamp()
    doc: dict[str, Any] = {
        "cid": cid,
        "id": channel_id,
        "type": channel_type,
        "created_at": now,
        "updated_at": now,
        "created_by_id": creator,
        "frozen": False,
        "disabled": False,
        "custom": dict(custom or {}),
    }
    doc.update({k: v for k, v in (system or {}).items() if v is not None})
    if previous is not None:
        # A soft-deleted channel is recreated empty; its old messages stay hidden.
        doc["truncated_at"] = previous.get("deleted_at")
    call.store.put(CHANNELS, doc)
    seen: set[str] = set()
    added: list[dict[str, Any]] = []
    for member in members:
        uid = member["user_id"]
        if uid in seen:
            continue
        seen.add(uid)
        role = member.get("channel_role") or ("owner" if uid == creator else "channel_member")
        added.append(
            records.new_member(
                call,
                cid,
                uid,
                channel_role=role,
                custom=member.get("custom") or {},
                hidden=hide_for_creator and uid == creator,
            )
        )
    events.record(call, "channel.created", channel=doc, user=creator)
    for new in added:
        events.record(call, "member.added", channel=doc, user=creator, member=new)
    for invite in invites:
        membership.invite(call, cid, invite["user_id"], actor=creator)
    return doc


# -- query ---------------------------------------------------------------------------------


def filter_view(render: Renderer, channel: Mapping[str, Any], viewer: str | None) -> dict[str, Any]:
    """What channel filters see: the channel response plus members/hidden/joined/muted."""
    view = render.channel(channel)
    member_ids = [m["user_id"] for m in records.channel_members(render.call, channel["cid"])]
    own = records.get_member(render.call, channel["cid"], viewer)
    view["members"] = member_ids
    view["hidden"] = bool(own and own.get("hidden"))
    view["joined"] = own is not None and own.get("status") != "pending"
    view["muted"] = viewer is not None and _muted(render.call, viewer, channel["cid"])
    view["pinned"] = bool(own and own.get("pinned_at"))
    view["archived"] = bool(own and own.get("archived_at"))
    view["last_updated"] = max(channel.get("last_message_at") or "", channel["updated_at"])
    return view


def _muted(call: Call, user_id: str, cid: str) -> bool:
    mute = call.store.get(CHANNEL_MUTES, user_id, cid)
    if mute is None:
        return False
    expires = mute.get("expires")
    return not (expires and expires <= call.clock.peek_stamp())


def query_channels(call: Call) -> dict[str, Any]:
    """QueryChannels (POST /channels): filters, sort, limit/offset, per-user hidden state."""
    body = call.body
    conditions = body.get("filter_conditions") or {}
    if not isinstance(conditions, Mapping):
        raise input_error("filter_conditions must be an object", field="filter_conditions")
    sort = parse_sort(body.get("sort"), default=[("last_updated", -1)])
    limit = bounded_int(body.get("limit"), name="limit", default=10, maximum=30)
    offset = bounded_int(body.get("offset"), name="offset", default=0)
    message_limit = bounded_int(
        body.get("message_limit"), name="message_limit", default=25, maximum=300
    )
    member_limit = bounded_int(
        body.get("member_limit"), name="member_limit", default=100, maximum=100
    )
    viewer = call.actor(body.get("user_id"), user_ref(body.get("user")))
    render = Renderer(call, viewer)
    wants_hidden = "hidden" in conditions
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for channel in call.store.select(CHANNELS):
        if channel.get("deleted_at"):
            continue
        if not call.is_server and not permissions.can_read(call, channel):
            continue
        view = filter_view(render, channel, viewer)
        if view["hidden"] and not wants_hidden:
            continue
        if matches(view, conditions):
            found.append((view, channel))
    ordered = sort_docs([v for v, _ in found], sort)
    by_cid = {v["cid"]: c for v, c in found}
    page = ordered[offset : offset + limit]
    channels = [
        render.state(
            by_cid[v["cid"]],
            message_limit=message_limit,
            member_limit=member_limit,
        )
        for v in page
    ]
    return {"channels": channels}


# -- update --------------------------------------------------------------------------------

_MANAGEMENT_KEYS = (
    "data",
    "add_members",
    "add_moderators",
    "demote_moderators",
    "assign_roles",
    "invites",
    "cooldown",
    "add_filter_tags",
    "remove_filter_tags",
    "hide_history",
    "hide_history_before",
)


def update_channel(call: Call) -> dict[str, Any]:
    """UpdateChannel (POST /channels/{type}/{id}): data, members, moderators, roles, invites."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    cid = channel["cid"]
    body = call.body
    actor = call.actor(body.get("user_id"), user_ref(body.get("user")))
    if actor is not None and call.is_server:
        records.ensure_user(call, actor, body.get("user"))
    if any(body.get(key) not in (None, [], {}, False) for key in _MANAGEMENT_KEYS):
        permissions.require_manager(call, channel, "UpdateChannel")
    removals = str_list(body, "remove_members")
    if removals and not (call.user_id is not None and removals == [call.user_id]):
        permissions.require_manager(call, channel, "UpdateChannelMembers")
    now = call.stamp()

    if body.get("accept_invite") or body.get("reject_invite"):
        membership.answer_invite(call, cid, actor, accept=bool(body.get("accept_invite")), now=now)

    changed = any(body.get(key) is not None for key in ("data", "cooldown")) or bool(
        body.get("add_filter_tags") or body.get("remove_filter_tags")
    )
    data = body.get("data")
    if data is not None:
        if not isinstance(data, Mapping):
            raise input_error("data must be an object", field="data")
        if data.get("members") or data.get("invites"):
            raise input_error("use add_members/remove_members/invites to change channel members")
        if data.get("config_overrides") is not None:
            channel["config_overrides"] = {
                **(channel.get("config_overrides") or {}),
                **config_overrides(call, data["config_overrides"]),
            }
        system, custom = records.split_fields(
            data, CHANNEL_FIELDS, CHANNEL_CONTROL | CHANNEL_COMPUTED
        )
        _validate_system(system)
        for key, value in system.items():
            if value is None:
                channel.pop(key, None)
            else:
                channel[key] = value
        channel["custom"] = custom
    if body.get("cooldown") is not None:
        _validate_system({"cooldown": body["cooldown"]})
        channel["cooldown"] = body["cooldown"]
    tags = list(channel.get("filter_tags") or [])
    for tag in str_list(body, "add_filter_tags"):
        if tag not in tags:
            tags.append(tag)
    removed_tags = set(str_list(body, "remove_filter_tags"))
    if body.get("add_filter_tags") or removed_tags:
        channel["filter_tags"] = [t for t in tags if t not in removed_tags]

    membership.apply_member_changes(call, channel, now, actor)
    for uid in removals:
        membership.remove(call, channel, uid, actor)

    channel["updated_at"] = now
    call.store.put(CHANNELS, channel)
    if changed:
        events.record(call, "channel.updated", channel=channel, user=actor)
    result: dict[str, Any] = {}
    created = _attached_message(
        call,
        channel,
        body,
        actor,
        required="message.user_id (or user_id) must be provided with an update message "
        "when using server side auth",
    )
    if created is not None:
        result["message"] = created
    render = Renderer(call)
    fresh = call.store.get(CHANNELS, cid) or channel
    out: dict[str, Any] = {"channel": render.channel(fresh), "members": render.members(fresh)}
    if "message" in result:
        out["message"] = render.message(result["message"])
    return out


def update_channel_partial(call: Call) -> dict[str, Any]:
    """UpdateChannelPartial (PATCH /channels/{type}/{id}): ``set`` and ``unset``."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    actor = call.actor(call.body.get("user_id"), user_ref(call.body.get("user")))
    permissions.require_manager(call, channel, "UpdateChannel")
    to_set = dict(obj(call.body, "set"))
    to_unset = str_list(call.body, "unset")
    if "config_overrides" in to_set:
        # Stream accepts config_overrides in a partial update and merges them.
        merged = {
            **(channel.get("config_overrides") or {}),
            **config_overrides(call, to_set.pop("config_overrides")),
        }
        channel["config_overrides"] = merged
    if "config_overrides" in to_unset:
        to_unset.remove("config_overrides")
        channel.pop("config_overrides", None)
    for key in list(to_set) + to_unset:
        if key in CHANNEL_CONTROL or key in CHANNEL_COMPUTED:
            raise input_error(f"field {key} cannot be changed with a partial update", field=key)
    system, custom = records.split_fields(to_set, CHANNEL_FIELDS)
    _validate_system(system)
    for key, value in system.items():
        if value is None:
            channel.pop(key, None)
        else:
            channel[key] = value
    channel["custom"].update(custom)
    for key in to_unset:
        if key in ("frozen", "disabled"):
            channel[key] = False
        elif key in _UNSETTABLE:
            channel.pop(key, None)
        else:
            channel["custom"].pop(key, None)
    channel["updated_at"] = call.stamp()
    call.store.put(CHANNELS, channel)
    events.record(call, "channel.updated", channel=channel, user=actor)
    render = Renderer(call)
    return {"channel": render.channel(channel), "members": render.members(channel)}


# -- delete / truncate / hide --------------------------------------------------------------


def delete_channel(call: Call) -> dict[str, Any]:
    """DeleteChannel: soft (``deleted_at``, hidden from queries) or hard (purged)."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    permissions.require_manager(call, channel, "DeleteChannel")
    now = call.stamp()
    channel["deleted_at"] = now
    channel["updated_at"] = now
    view = Renderer(call).channel(channel)
    events.record(call, "channel.deleted", channel=channel, user=call.user_id)
    if call.query_bool("hard_delete"):
        records.purge_channel(call, channel["cid"])
    else:
        call.store.put(CHANNELS, channel)
    return {"channel": view}


def truncate_channel(call: Call) -> dict[str, Any]:
    """TruncateChannel: hide (or hard-delete) messages up to now or ``truncated_at``."""
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    body = call.body
    permissions.require_manager(call, channel, "TruncateChannel")
    if body.get("member_ids"):
        raise feature_not_emulated("truncating a channel for some members only (member_ids)")
    actor = call.actor(body.get("user_id"), user_ref(body.get("user")))
    if actor is not None and call.is_server:
        records.ensure_user(call, actor, body.get("user"))
    now = call.stamp()
    cutoff = opt_time(body, "truncated_at") or now
    if cutoff > now:
        raise input_error("truncated_at cannot be in the future", field="truncated_at")
    if opt_bool(body, "hard_delete"):
        for message in call.store.select(MESSAGES, cid=channel["cid"]):
            if message["created_at"] <= cutoff:
                call.store.delete_where(REACTIONS, message_id=message["id"])
                call.store.delete(MESSAGES, message["id"])
    channel["truncated_at"] = cutoff
    channel["updated_at"] = now
    if actor is not None:
        channel["truncated_by_id"] = actor
    call.store.put(CHANNELS, channel)
    events.record(call, "channel.truncated", channel=channel, user=actor)
    out: dict[str, Any] = {}
    created = _attached_message(
        call,
        channel,
        body,
        actor,
        required="message.user_id must be provided with a truncate message when using "
        "server side auth",
    )
    render = Renderer(call)
    out["channel"] = render.channel(call.store.get(CHANNELS, channel["cid"]) or channel)
    if created is not None:
        out["message"] = render.message(created)
    return out


def _attached_message(
    call: Call,
    channel: dict[str, Any],
    body: Mapping[str, Any],
    actor: str | None,
    *,
    required: str,
) -> dict[str, Any] | None:
    """The optional ``message`` an update or truncate posts, created as its author."""
    message = body.get("message")
    if not message:
        return None
    if not isinstance(message, Mapping):
        raise input_error("message must be an object", field="message")
    author = call.actor(
        message.get("user_id"), user_ref(message.get("user")), actor, required=required
    )
    assert author is not None
    records.ensure_user(call, author, message.get("user"))
    return create_message(call, channel, message, author=author)
