"""The operations the sandbox emulates: Stream's operation id, method and path for each.

Paths and methods are Stream's (from its OpenAPI spec). ``server_only`` marks the operations
Stream does not offer to user tokens; they are hard-coded here so the sandbox never depends on
files outside the package. Successful POST/PUT calls answer 201 and the rest 200, as in the spec.
Literal segments win over parameters (``/channels/{type}/query`` before ``/channels/{type}/{id}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stream_mcp.sandbox import (
    app_settings,
    blocklists,
    campaigns,
    channels,
    members,
    messages,
    moderation,
    reactions,
    reads,
    search,
    users,
)
from stream_mcp.sandbox.context import Call

Handler = Callable[[Call], dict[str, Any]]
_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    path: str
    handler: Handler = field(repr=False, compare=False)
    server_only: bool = False

    @property
    def status(self) -> int:
        return 201 if self.method in ("POST", "PUT") else 200

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", self.path)
        return re.compile(f"^{regex}$")

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.path.split("/") if part and not part.startswith("{"))


ROUTES: tuple[Route, ...] = (
    Route("GetApp", "GET", "/app", app_settings.get_app),
    # users
    Route("QueryUsers", "GET", "/users", users.query_users),
    Route("UpdateUsers", "POST", "/users", users.update_users),
    Route("UpdateUsersPartial", "PATCH", "/users", users.update_users_partial),
    Route("DeleteUsers", "POST", "/users/delete", users.delete_users, server_only=True),
    Route(
        "DeactivateUser",
        "POST",
        "/users/{user_id}/deactivate",
        users.deactivate_user,
        server_only=True,
    ),
    Route(
        "ReactivateUser",
        "POST",
        "/users/{user_id}/reactivate",
        users.reactivate_user,
        server_only=True,
    ),
    Route("GetTask", "GET", "/tasks/{id}", users.get_task, server_only=True),
    # channels
    Route("QueryChannels", "POST", "/channels", channels.query_channels),
    Route("GetOrCreateDistinctChannel", "POST", "/channels/{type}/query", channels.get_or_create),
    Route("GetOrCreateChannel", "POST", "/channels/{type}/{id}/query", channels.get_or_create),
    Route("UpdateChannel", "POST", "/channels/{type}/{id}", channels.update_channel),
    Route(
        "UpdateChannelPartial", "PATCH", "/channels/{type}/{id}", channels.update_channel_partial
    ),
    Route("DeleteChannel", "DELETE", "/channels/{type}/{id}", channels.delete_channel),
    Route("TruncateChannel", "POST", "/channels/{type}/{id}/truncate", channels.truncate_channel),
    Route("HideChannel", "POST", "/channels/{type}/{id}/hide", members.hide_channel),
    Route("ShowChannel", "POST", "/channels/{type}/{id}/show", members.show_channel),
    Route("QueryMembers", "GET", "/members", members.query_members),
    # messages
    Route("SendMessage", "POST", "/channels/{type}/{id}/message", messages.send_message),
    Route("GetManyMessages", "GET", "/channels/{type}/{id}/messages", messages.get_many_messages),
    Route(
        "GetPinnedMessages",
        "GET",
        "/channels/{type}/{id}/pinned_messages",
        messages.get_pinned_messages,
    ),
    Route("GetMessage", "GET", "/messages/{id}", messages.get_message),
    Route("UpdateMessage", "POST", "/messages/{id}", messages.update_message),
    Route("UpdateMessagePartial", "PUT", "/messages/{id}", messages.update_message_partial),
    Route("DeleteMessage", "DELETE", "/messages/{id}", messages.delete_message),
    Route("GetReplies", "GET", "/messages/{parent_id}/replies", messages.get_replies),
    Route("Search", "GET", "/search", search.search),
    # reactions
    Route("SendReaction", "POST", "/messages/{id}/reaction", reactions.send_reaction),
    Route("DeleteReaction", "DELETE", "/messages/{id}/reaction/{type}", reactions.delete_reaction),
    Route("GetReactions", "GET", "/messages/{id}/reactions", reactions.get_reactions),
    # read state
    Route("MarkRead", "POST", "/channels/{type}/{id}/read", reads.mark_read),
    Route("MarkUnread", "POST", "/channels/{type}/{id}/unread", reads.mark_unread),
    Route("UnreadCounts", "GET", "/unread", reads.unread_counts),
    # moderation
    Route("Ban", "POST", "/moderation/ban", moderation.ban),
    Route("Unban", "DELETE", "/moderation/ban", moderation.unban),
    Route("QueryBannedUsers", "GET", "/query_banned_users", moderation.query_banned_users),
    Route("MuteUser", "POST", "/moderation/mute", moderation.mute_user),
    Route("UnmuteUser", "POST", "/moderation/unmute", moderation.unmute_user),
    Route("Flag", "POST", "/moderation/flag", moderation.flag),
    Route("QueryMessageFlags", "GET", "/moderation/flags/message", moderation.query_message_flags),
    # blocklists
    Route("ListBlockLists", "GET", "/blocklists", blocklists.list_blocklists),
    Route("CreateBlockList", "POST", "/blocklists", blocklists.create_blocklist),
    Route("GetBlockList", "GET", "/blocklists/{name}", blocklists.get_blocklist, server_only=True),
    Route("UpdateBlockList", "PUT", "/blocklists/{name}", blocklists.update_blocklist),
    Route("DeleteBlockList", "DELETE", "/blocklists/{name}", blocklists.delete_blocklist),
    # campaigns (all server-side only)
    Route("CreateCampaign", "POST", "/campaigns", campaigns.create_campaign, server_only=True),
    Route(
        "QueryCampaigns", "POST", "/campaigns/query", campaigns.query_campaigns, server_only=True
    ),
    Route("GetCampaign", "GET", "/campaigns/{id}", campaigns.get_campaign, server_only=True),
    Route("UpdateCampaign", "PUT", "/campaigns/{id}", campaigns.update_campaign, server_only=True),
    Route(
        "DeleteCampaign", "DELETE", "/campaigns/{id}", campaigns.delete_campaign, server_only=True
    ),
    Route(
        "StartCampaign",
        "POST",
        "/campaigns/{id}/start",
        campaigns.start_campaign,
        server_only=True,
    ),
    Route(
        "StopCampaign", "POST", "/campaigns/{id}/stop", campaigns.stop_campaign, server_only=True
    ),
)


class Router:
    """Match (method, path) to a route; literal segments beat parameters."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        ordered = sorted(routes, key=lambda r: -r.literal_segments)
        self._compiled = [(route, route.pattern) for route in ordered]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        trimmed = path.rstrip("/") or "/"
        for route, pattern in self._compiled:
            if route.method != method:
                continue
            found = pattern.match(trimmed)
            if found:
                return route, dict(found.groupdict())
        return None
