"""Permission checks for user tokens, after Stream's defaults for the ``messaging`` type.

Server tokens may do everything. Users with the app role ``admin`` may moderate anywhere.
Otherwise a user reads and writes only channels they are a member of or created, edits and
deletes only their own messages, and bans only where they are a channel moderator. Refusals
are 403 with code 17 and Stream's "is not allowed to perform action" wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import records
from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.errors import APIError, not_allowed

MODERATOR_ROLES = frozenset({"channel_moderator"})
MANAGER_ROLES = frozenset({"channel_moderator", "owner"})


def deny(call: Call, action: str, scope: str) -> APIError:
    role = records.user_role(call, call.user_id)
    return not_allowed(
        f"User '{call.user_id}' with role '{role}' is not allowed to perform action {action} "
        f"in scope '{scope}'"
    )


def is_privileged(call: Call) -> bool:
    """Server auth, or a user whose app role is ``admin``."""
    return call.is_server or records.user_role(call, call.user_id) == "admin"


def channel_role(call: Call, channel: Mapping[str, Any], user_id: str | None) -> str | None:
    member = records.get_member(call, channel["cid"], user_id)
    return str(member.get("channel_role", "channel_member")) if member else None


def can_read(call: Call, channel: Mapping[str, Any]) -> bool:
    if is_privileged(call):
        return True
    uid = call.user_id
    return channel.get("created_by_id") == uid or channel_role(call, channel, uid) is not None


def require_read(call: Call, channel: Mapping[str, Any], action: str = "ReadChannel") -> None:
    if not can_read(call, channel):
        raise deny(call, action, channel["type"])


def require_member(call: Call, channel: Mapping[str, Any], action: str) -> None:
    """Writing into a channel (messages, reactions) needs membership (or ownership)."""
    require_read(call, channel, action)


def require_manager(call: Call, channel: Mapping[str, Any], action: str) -> None:
    """Changing a channel: its creator, an owner or a channel moderator, or an admin."""
    if is_privileged(call):
        return
    uid = call.user_id
    if channel.get("created_by_id") == uid or channel_role(call, channel, uid) in MANAGER_ROLES:
        return
    raise deny(call, action, channel["type"])


def require_moderator(call: Call, channel: Mapping[str, Any] | None, action: str) -> None:
    """Moderation (bans, others' messages): admins anywhere, channel moderators in their channel."""
    if is_privileged(call):
        return
    if channel is not None and channel_role(call, channel, call.user_id) in MODERATOR_ROLES:
        return
    raise deny(call, action, channel["type"] if channel else "app")


def require_author_or_moderator(
    call: Call, message: Mapping[str, Any], channel: Mapping[str, Any] | None, action: str
) -> None:
    if call.is_server or message.get("user_id") == call.user_id:
        return
    require_moderator(call, channel, action)


def require_not_banned(call: Call, channel: Mapping[str, Any], action: str) -> None:
    """Banned users cannot post (user tokens; server-side calls are trusted)."""
    if call.is_server or call.user_id is None:
        return
    if records.blocking_ban(call, call.user_id, channel["cid"]) is not None:
        raise not_allowed(
            f"User '{call.user_id}' is banned and is not allowed to perform action {action} "
            f"in channel {channel['cid']}"
        )
