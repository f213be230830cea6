"""Stored record shapes and the lookups handlers share.

Records keep Stream's system fields at the top level and custom data under ``custom``; views
(:mod:`stream_mcp.sandbox.views`) flatten them back the way Stream's API returns them.
Requests may send custom data either flattened (as the official SDKs do) or under a
``custom`` object (as the OpenAPI spec describes); :func:`split_fields` accepts both.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from stream_mcp.sandbox import typeconfig
from stream_mcp.sandbox.clock import iso, parse_time
from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import BANS, CHANNELS, MEMBERS, MESSAGES, REACTIONS, READS, USERS

USER_ID = re.compile(r"^[@\w\-]{1,255}$")
CHANNEL_ID = re.compile(r"^[\w\-!]{1,64}$")
ROLES = frozenset({"user", "admin", "guest", "anonymous", "moderator"})
CHANNEL_ROLES = frozenset({"channel_member", "channel_moderator", "owner"})

# Writable system fields; anything else a caller sends is custom data.
USER_FIELDS = frozenset(
    {"name", "image", "language", "teams", "teams_role", "invisible", "privacy_settings", "role"}
)
# Fields the server computes; silently ignored on input, as Stream does.
USER_COMPUTED = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "last_active",
        "deactivated_at",
        "deleted_at",
        "banned",
        "ban_expires",
        "online",
        "shadow_banned",
        "blocked_user_ids",
        "devices",
        "mutes",
        "channel_mutes",
        "total_unread_count",
        "unread_count",
        "unread_channels",
        "unread_threads",
        "avg_response_time",
        "bypass_moderation",
        "push_notifications",
        "latest_hidden_channels",
        "revoke_tokens_issued_before",
    }
)


def split_fields(
    data: Mapping[str, Any], system: Iterable[str], ignored: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate ``data`` into (system fields, custom fields)."""
    system_set, ignored_set = set(system), set(ignored)
    known: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in data.items():
        if key == "custom":
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise input_error("custom must be an object", field="custom")
            custom.update(value)
        elif key in system_set:
            known[key] = value
        elif key not in ignored_set:
            custom[key] = value
    return known, custom


# -- users --------------------------------------------------------------------------------


def validate_user_fields(fields: Mapping[str, Any]) -> None:
    role = fields.get("role")
    if role is not None and (not isinstance(role, str) or role not in ROLES):
        raise input_error(f"role {role!r} does not exist (known roles: {sorted(ROLES)})")
    for name in ("name", "image", "language"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise input_error(f"user.{name} must be a string", field=name)
    teams = fields.get("teams")
    if teams is not None and (
        not isinstance(teams, list) or not all(isinstance(t, str) for t in teams)
    ):
        raise input_error("user.teams must be a list of strings", field="teams")


def new_user(call: Call, user_id: str, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Create and store a user; ``fields`` is an UpdateUsers-style user object."""
    if not USER_ID.match(user_id):
        raise input_error(
            f'user id "{user_id}" is not valid: use letters, digits, "@", "_" and "-"',
            field="id",
        )
    system, custom = split_fields(fields or {}, USER_FIELDS, USER_COMPUTED)
    validate_user_fields(system)
    now = call.stamp()
    doc: dict[str, Any] = {
        "id": user_id,
        "role": system.pop("role", None) or "user",
        "language": "",
        "teams": [],
        "invisible": False,
        "created_at": now,
        "updated_at": now,
        "custom": custom,
    }
    doc.update({k: v for k, v in system.items() if v is not None})
    call.store.put(USERS, doc)
    return doc


def get_user(call: Call, user_id: str) -> dict[str, Any] | None:
    doc = call.store.get(USERS, user_id)
    if doc is None or doc.get("deleted_at"):
        return None
    return doc


def require_user(call: Call, user_id: str) -> dict[str, Any]:
    doc = get_user(call, user_id)
    if doc is None:
        raise not_found(f"user {user_id!r} does not exist")
    return doc


def ensure_user(call: Call, user_id: str, data: Any = None) -> dict[str, Any]:
    """Return the user, creating it on the fly when a server-side call names a new actor.

    Stream creates unknown ``created_by`` users on channel creation; the sandbox does the same
    for every acting user (message, reaction, read…). Existing users are not modified.
    """
    doc = call.store.get(USERS, user_id)
    if doc is not None and not doc.get("deleted_at"):
        return doc
    if doc is not None:
        raise input_error(f"user {user_id!r} was deleted")
    fields = {k: v for k, v in data.items() if k != "id"} if isinstance(data, Mapping) else None
    return new_user(call, user_id, fields)


def missing_users(call: Call, user_ids: Iterable[str]) -> list[str]:
    return [uid for uid in user_ids if get_user(call, uid) is None]


def user_role(call: Call, user_id: str | None) -> str:
    if user_id is None:
        return "server"
    doc = call.store.get(USERS, user_id)
    return str(doc.get("role", "user")) if doc else "user"


# -- channels ------------------------------------------------------------------------------


def split_cid(cid: str) -> tuple[str, str]:
    if not isinstance(cid, str) or ":" not in cid:
        raise input_error(f"{cid!r} is not a channel cid (expected type:id)", field="cid")
    channel_type, _, channel_id = cid.partition(":")
    return channel_type, channel_id


def check_channel_type(call: Call, channel_type: str) -> None:
    if typeconfig.get_type(call.store, channel_type) is None:
        raise not_found(f"channel type {channel_type!r} does not exist")


def get_channel(call: Call, cid: str) -> dict[str, Any] | None:
    doc = call.store.get(CHANNELS, cid)
    if doc is None or doc.get("deleted_at"):
        return None
    return doc


def require_channel(call: Call, channel_type: str, channel_id: str) -> dict[str, Any]:
    check_channel_type(call, channel_type)
    doc = get_channel(call, f"{channel_type}:{channel_id}")
    if doc is None:
        raise not_found(f"Can't find channel with id {channel_type}:{channel_id}")
    return doc


def distinct_id(member_ids: list[str]) -> str:
    """Deterministic id for a member-based (distinct) channel."""
    digest = hashlib.sha256("\n".join(sorted(set(member_ids))).encode()).digest()
    return "!members-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def get_member(call: Call, cid: str, user_id: str | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return call.store.get(MEMBERS, cid, user_id)


def channel_members(call: Call, cid: str) -> list[dict[str, Any]]:
    return call.store.select(MEMBERS, cid=cid, order_by="created_at")


def new_member(
    call: Call, cid: str, user_id: str, *, channel_role: str = "channel_member", **extra: Any
) -> dict[str, Any]:
    now = call.stamp()
    doc: dict[str, Any] = {
        "cid": cid,
        "user_id": user_id,
        "channel_role": channel_role,
        "created_at": now,
        "updated_at": now,
        "notifications_muted": False,
        "hidden": False,
        "custom": {},
    }
    doc.update(extra)
    call.store.put(MEMBERS, doc)
    return doc


def member_requests(value: Any, field: str) -> list[dict[str, Any]]:
    """Normalise member lists: plain ids (SDK style) or ChannelMemberRequest objects."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise input_error(f"{field} must be a list", field=field)
    result: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, str) and item:
            result.append({"user_id": item})
        elif isinstance(item, Mapping):
            uid = item.get("user_id") or (item.get("user") or {}).get("id")
            if not isinstance(uid, str) or not uid:
                raise input_error(f"every entry of {field} needs a user_id", field=field)
            role = item.get("channel_role")
            if role is not None and role not in CHANNEL_ROLES:
                raise input_error(f"channel_role {role!r} does not exist", field=field)
            entry = {"user_id": uid, "channel_role": role}
            custom = {
                k: v
                for k, v in item.items()
                if k not in {"user_id", "user", "channel_role", "custom"}
            }
            custom.update(item.get("custom") or {})
            entry["custom"] = custom
            result.append(entry)
        else:
            raise input_error(f"{field} must hold user ids or member objects", field=field)
    return result


def unknown_members_error(user_ids: list[str], operation: str) -> Exception:
    listed = " ".join(user_ids)
    return input_error(
        f"The following users are involved in channel {operation} operation, but don't exist: "
        f"[{listed}]. Please create the user objects before setting up the channel."
    )


# -- bans ----------------------------------------------------------------------------------


def active_ban(call: Call, user_id: str, cid: str = "") -> dict[str, Any] | None:
    """The user's unexpired ban (app-wide when ``cid`` is empty)."""
    ban = call.store.get(BANS, user_id, cid)
    if ban is None:
        return None
    expires = ban.get("expires")
    if expires and parse_time(expires) <= call.clock.peek():
        return None
    return ban


def blocking_ban(call: Call, user_id: str, cid: str) -> dict[str, Any] | None:
    """A non-shadow ban that stops the user posting in ``cid`` (app-wide or channel)."""
    for ban in (active_ban(call, user_id), active_ban(call, user_id, cid)):
        if ban is not None and not ban.get("shadow"):
            return ban
    return None


def shadow_banned(call: Call, user_id: str, cid: str) -> bool:
    for ban in (active_ban(call, user_id), active_ban(call, user_id, cid)):
        if ban is not None and ban.get("shadow"):
            return True
    return False


# -- messages and reads --------------------------------------------------------------------


def get_message(call: Call, message_id: str) -> dict[str, Any] | None:
    doc = call.store.get(MESSAGES, message_id)
    if doc is None or not _visible_to_caller(call, doc):
        return None
    return doc


def require_message(call: Call, message_id: str) -> dict[str, Any]:
    doc = call.store.get(MESSAGES, message_id)
    if doc is None or not _visible_to_caller(call, doc):
        raise not_found(f"Message with id {message_id} doesn't exist")
    return doc


def private_to_author(message: Mapping[str, Any]) -> bool:
    """Pending and ephemeral messages are seen by their author only (shadowed ones too,
    except by server-side calls)."""
    return bool(message.get("pending")) or message.get("type") in ("ephemeral", "error")


def _visible_to_caller(call: Call, message: Mapping[str, Any]) -> bool:
    viewer = call.user_id
    if viewer is None:
        return True
    if viewer in (message.get("deleted_for") or []):
        return False
    own = message.get("user_id") == viewer
    return own or not (message.get("shadowed") or private_to_author(message))


def visible_messages(
    call: Call, channel: Mapping[str, Any], viewer: str | None, *, replies_of: str | None = None
) -> list[dict[str, Any]]:
    """Messages of a channel (or of one thread) the viewer may see, oldest first."""
    cid = channel["cid"]
    if replies_of is None:
        docs = call.store.select(MESSAGES, cid=cid, order_by="created_at")
        docs = [d for d in docs if not d.get("parent_id") or d.get("show_in_channel")]
    else:
        docs = call.store.select(MESSAGES, parent_id=replies_of, order_by="created_at")
    cutoff = channel.get("truncated_at")
    member = get_member(call, cid, viewer)
    hidden_before = member.get("hide_messages_before") if member else None
    result = []
    for doc in docs:
        if cutoff and doc["created_at"] <= cutoff:
            continue
        if hidden_before and doc["created_at"] <= hidden_before:
            continue
        own = doc.get("user_id") == viewer
        if doc.get("shadowed") and viewer is not None and not own:
            continue
        if private_to_author(doc) and not own:
            continue
        if viewer is not None and viewer in (doc.get("deleted_for") or []):
            continue
        result.append(doc)
    return result


def last_read(call: Call, cid: str, user_id: str) -> tuple[str, str | None]:
    """(last_read time, last_read_message_id) — membership start when never read."""
    read = call.store.get(READS, cid, user_id)
    if read is not None:
        return read["last_read"], read.get("last_read_message_id")
    member = get_member(call, cid, user_id)
    if member is not None:
        return member["created_at"], None
    channel = call.store.get(CHANNELS, cid)
    return (channel or {}).get("created_at", "1970-01-01T00:00:00.000000Z"), None


def unread_count(call: Call, channel: Mapping[str, Any], user_id: str) -> int:
    """Messages from others in the channel's main list after the user's last read."""
    since, _ = last_read(call, channel["cid"], user_id)
    count = 0
    for doc in visible_messages(call, channel, user_id):
        if doc["created_at"] <= since or doc.get("user_id") == user_id:
            continue
        if doc.get("type") in ("deleted", "system") or doc.get("silent"):
            continue
        count += 1
    return count


def just_before(stamp: str) -> str:
    return iso(parse_time(stamp) - timedelta(microseconds=1))


def purge_channel(call: Call, cid: str) -> None:
    """Hard-delete a channel with its members, messages, reactions, reads and channel bans."""
    for message in call.store.select(MESSAGES, cid=cid):
        call.store.delete_where(REACTIONS, message_id=message["id"])
    call.store.delete_where(MESSAGES, cid=cid)
    call.store.delete_where(MEMBERS, cid=cid)
    call.store.delete_where(READS, cid=cid)
    call.store.delete_where(BANS, channel_cid=cid)
    call.store.delete(CHANNELS, cid)


def purge_members(call: Call, cid: str) -> None:
    """Forget a channel's members and their read state (when a deleted channel is recreated)."""
    call.store.delete_where(MEMBERS, cid=cid)
    call.store.delete_where(READS, cid=cid)


def new_id() -> str:
    return str(uuid.uuid4())
