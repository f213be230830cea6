"""The operations the sandbox emulates: Stream's operation id, method and path for each.

``ROUTES`` is Stream's v1 table (also served under ``/api/v2/...`` by :func:`v1_path`);
``V2_ROUTES`` is the part of the v2 moderation API that has no v1 form, with v2's ids.

Paths and methods are Stream's (from its OpenAPI spec). ``server_only`` marks the operations
Stream does not offer to user tokens; they are hard-coded here so the sandbox never depends on
files outside the package. Successful POST/PUT calls answer 201 and the rest 200, as in the spec.
Literal segments win over parameters (``/channels/{type}/query`` before ``/channels/{type}/{id}``).
A few routes (``in_spec=False``) are paths Stream's SDKs call that the server-side spec omits
(DeleteUser, Unflag, CreateDraft, StopWatchingChannel, GetExportChannelsStatus, the
``/member/{user_id}`` form of UpdateMemberPartial, the flag-report endpoints the SDKs
mark internal, and Sync, which Stream lists in its client-side spec only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stream_mcp.sandbox import (
    accounts,
    admin,
    app_settings,
    blocklists,
    campaigns,
    channel_ops,
    channel_types,
    channels,
    drafts,
    events,
    imports,
    locations,
    members,
    message_ops,
    messages,
    moderation,
    moderation_actions,
    moderation_configs,
    moderation_v2,
    polls,
    reactions,
    reads,
    reminders,
    review_queue,
    search,
    stats,
    tasks,
    threads,
    uploads,
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
    # False for paths Stream's SDKs call that its server-side spec does not list.
    in_spec: bool = True

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


def _r(
    operation: str,
    method: str,
    path: str,
    handler: Handler,
    server: bool = False,
    *,
    spec: bool = True,
) -> Route:
    return Route(operation, method, path, handler, server_only=server, in_spec=spec)


ROUTES: tuple[Route, ...] = (
    # app
    _r("GetApp", "GET", "/app", app_settings.get_app),
    _r("UpdateApp", "PATCH", "/app", app_settings.update_app, True),
    _r("GetRateLimits", "GET", "/rate_limits", app_settings.get_rate_limits, True),
    _r("CheckPush", "POST", "/check_push", app_settings.check_push, True),
    _r("CheckSQS", "POST", "/check_sqs", app_settings.check_sqs, True),
    _r("CheckSNS", "POST", "/check_sns", app_settings.check_sns, True),
    _r("QueryTeamUsageStats", "POST", "/stats/team_usage", stats.query_team_usage_stats, True),
    # channel types and commands
    _r("ListChannelTypes", "GET", "/channeltypes", channel_types.list_channel_types, True),
    _r("CreateChannelType", "POST", "/channeltypes", channel_types.create_channel_type, True),
    _r("GetChannelType", "GET", "/channeltypes/{name}", channel_types.get_channel_type, True),
    _r("UpdateChannelType", "PUT", "/channeltypes/{name}", channel_types.update_channel_type, True),
    _r(
        "DeleteChannelType",
        "DELETE",
        "/channeltypes/{name}",
        channel_types.delete_channel_type,
        True,
    ),
    _r("ListCommands", "GET", "/commands", channel_types.list_commands, True),
    _r("CreateCommand", "POST", "/commands", channel_types.create_command, True),
    _r("GetCommand", "GET", "/commands/{name}", channel_types.get_command, True),
    _r("UpdateCommand", "PUT", "/commands/{name}", channel_types.update_command, True),
    _r("DeleteCommand", "DELETE", "/commands/{name}", channel_types.delete_command, True),
    # users
    _r("QueryUsers", "GET", "/users", users.query_users),
    _r("UpdateUsers", "POST", "/users", users.update_users),
    _r("UpdateUsersPartial", "PATCH", "/users", users.update_users_partial),
    _r("DeleteUsers", "POST", "/users/delete", users.delete_users, True),
    _r("DeleteUser", "DELETE", "/users/{user_id}", accounts.delete_user, True, spec=False),
    _r("RestoreUsers", "POST", "/users/restore", accounts.restore_users, True),
    _r("DeactivateUsers", "POST", "/users/deactivate", accounts.deactivate_users, True),
    _r("ReactivateUsers", "POST", "/users/reactivate", accounts.reactivate_users, True),
    _r("DeactivateUser", "POST", "/users/{user_id}/deactivate", users.deactivate_user, True),
    _r("ReactivateUser", "POST", "/users/{user_id}/reactivate", users.reactivate_user, True),
    _r("ExportUser", "GET", "/users/{user_id}/export", accounts.export_user, True),
    _r("ExportUsers", "POST", "/export/users", accounts.export_users, True),
    _r(
        "SendUserCustomEvent",
        "POST",
        "/users/{user_id}/event",
        accounts.send_user_custom_event,
        True,
    ),
    _r("BlockUsers", "POST", "/users/block", accounts.block_users),
    _r("UnblockUsers", "POST", "/users/unblock", accounts.unblock_users),
    _r("GetBlockedUsers", "GET", "/users/block", accounts.get_blocked_users),
    _r("GetUserLiveLocations", "GET", "/users/live_locations", locations.get_user_live_locations),
    _r("UpdateLiveLocation", "PUT", "/users/live_locations", locations.update_live_location),
    _r("CreateDevice", "POST", "/devices", accounts.create_device),
    _r("ListDevices", "GET", "/devices", accounts.list_devices),
    _r("DeleteDevice", "DELETE", "/devices", accounts.delete_device),
    _r("GetTask", "GET", "/tasks/{id}", tasks.get_task, True),
    # events (client-side spec; server-side calls name the user with user_id)
    _r("Sync", "POST", "/sync", events.sync, spec=False),
    # channels
    _r("QueryChannels", "POST", "/channels", channels.query_channels),
    _r("DeleteChannels", "POST", "/channels/delete", channel_ops.delete_channels),
    _r("ChannelBatchUpdate", "PUT", "/channels/batch", channel_ops.channel_batch_update, True),
    _r("MarkChannelsRead", "POST", "/channels/read", reads.mark_channels_read),
    _r("MarkDelivered", "POST", "/channels/delivered", reads.mark_delivered),
    _r("GetOrCreateDistinctChannel", "POST", "/channels/{type}/query", channels.get_or_create),
    _r("GetOrCreateChannel", "POST", "/channels/{type}/{id}/query", channels.get_or_create),
    _r("GetChannel", "GET", "/channels/{type}/{id}", channel_ops.get_channel),
    _r("UpdateChannel", "POST", "/channels/{type}/{id}", channels.update_channel),
    _r("UpdateChannelPartial", "PATCH", "/channels/{type}/{id}", channels.update_channel_partial),
    _r("DeleteChannel", "DELETE", "/channels/{type}/{id}", channels.delete_channel),
    _r("TruncateChannel", "POST", "/channels/{type}/{id}/truncate", channels.truncate_channel),
    _r("HideChannel", "POST", "/channels/{type}/{id}/hide", members.hide_channel),
    _r("ShowChannel", "POST", "/channels/{type}/{id}/show", members.show_channel),
    _r("SendEvent", "POST", "/channels/{type}/{id}/event", channel_ops.send_event),
    _r(
        "StopWatchingChannel",
        "POST",
        "/channels/{type}/{id}/stop-watching",
        channel_ops.stop_watching,
        spec=False,
    ),
    _r(
        "UpdateMemberPartial",
        "PATCH",
        "/channels/{type}/{id}/member",
        channel_ops.update_member_partial,
    ),
    _r(
        "UpdateMemberPartial",
        "PATCH",
        "/channels/{type}/{id}/member/{user_id}",
        channel_ops.update_member_partial,
        spec=False,
    ),
    _r("QueryMembers", "GET", "/members", members.query_members),
    _r("ExportChannels", "POST", "/export_channels", channel_ops.export_channels, True),
    _r(
        "GetExportChannelsStatus",
        "GET",
        "/export_channels/{id}",
        tasks.get_export_channels_status,
        True,
        spec=False,
    ),
    # uploads
    _r("UploadChannelFile", "POST", "/channels/{type}/{id}/file", uploads.upload_channel_file),
    _r("DeleteChannelFile", "DELETE", "/channels/{type}/{id}/file", uploads.delete_channel_file),
    _r("UploadChannelImage", "POST", "/channels/{type}/{id}/image", uploads.upload_channel_image),
    _r("DeleteChannelImage", "DELETE", "/channels/{type}/{id}/image", uploads.delete_channel_image),
    _r("UploadFile", "POST", "/uploads/file", uploads.upload_file),
    _r("DeleteFile", "DELETE", "/uploads/file", uploads.delete_file),
    _r("UploadImage", "POST", "/uploads/image", uploads.upload_image),
    _r("DeleteImage", "DELETE", "/uploads/image", uploads.delete_image),
    # drafts
    _r("CreateDraft", "POST", "/channels/{type}/{id}/draft", drafts.create_draft, spec=False),
    _r("GetDraft", "GET", "/channels/{type}/{id}/draft", drafts.get_draft),
    _r("DeleteDraft", "DELETE", "/channels/{type}/{id}/draft", drafts.delete_draft),
    _r("QueryDrafts", "POST", "/drafts/query", drafts.query_drafts),
    # messages
    _r("SendMessage", "POST", "/channels/{type}/{id}/message", messages.send_message),
    _r("GetManyMessages", "GET", "/channels/{type}/{id}/messages", messages.get_many_messages),
    _r(
        "GetPinnedMessages",
        "GET",
        "/channels/{type}/{id}/pinned_messages",
        messages.get_pinned_messages,
    ),
    _r("QueryMessageHistory", "POST", "/messages/history", message_ops.query_message_history, True),
    _r("GetMessage", "GET", "/messages/{id}", messages.get_message),
    _r("UpdateMessage", "POST", "/messages/{id}", messages.update_message),
    _r("UpdateMessagePartial", "PUT", "/messages/{id}", messages.update_message_partial),
    _r("DeleteMessage", "DELETE", "/messages/{id}", messages.delete_message),
    _r("CommitMessage", "POST", "/messages/{id}/commit", message_ops.commit_message, True),
    _r("UndeleteMessage", "POST", "/messages/{id}/undelete", message_ops.undelete_message, True),
    _r("RunMessageAction", "POST", "/messages/{id}/action", message_ops.run_message_action),
    _r("TranslateMessage", "POST", "/messages/{id}/translate", message_ops.translate_message),
    _r("GetReplies", "GET", "/messages/{parent_id}/replies", messages.get_replies),
    _r("Search", "GET", "/search", search.search),
    # threads
    _r("QueryThreads", "POST", "/threads", threads.query_threads),
    _r("GetThread", "GET", "/threads/{message_id}", threads.get_thread),
    _r("UpdateThreadPartial", "PATCH", "/threads/{message_id}", threads.update_thread_partial),
    # reminders and locations
    _r("CreateReminder", "POST", "/messages/{message_id}/reminders", reminders.create_reminder),
    _r("UpdateReminder", "PATCH", "/messages/{message_id}/reminders", reminders.update_reminder),
    _r("DeleteReminder", "DELETE", "/messages/{message_id}/reminders", reminders.delete_reminder),
    _r("QueryReminders", "POST", "/reminders/query", reminders.query_reminders),
    # reactions
    _r("SendReaction", "POST", "/messages/{id}/reaction", reactions.send_reaction),
    _r("DeleteReaction", "DELETE", "/messages/{id}/reaction/{type}", reactions.delete_reaction),
    _r("GetReactions", "GET", "/messages/{id}/reactions", reactions.get_reactions),
    _r("QueryReactions", "POST", "/messages/{id}/reactions", message_ops.query_reactions),
    # polls
    _r("CreatePoll", "POST", "/polls", polls.create_poll),
    _r("UpdatePoll", "PUT", "/polls", polls.update_poll),
    _r("QueryPolls", "POST", "/polls/query", polls.query_polls),
    _r("GetPoll", "GET", "/polls/{poll_id}", polls.get_poll),
    _r("UpdatePollPartial", "PATCH", "/polls/{poll_id}", polls.update_poll_partial),
    _r("DeletePoll", "DELETE", "/polls/{poll_id}", polls.delete_poll),
    _r("CreatePollOption", "POST", "/polls/{poll_id}/options", polls.create_poll_option),
    _r("UpdatePollOption", "PUT", "/polls/{poll_id}/options", polls.update_poll_option),
    _r("GetPollOption", "GET", "/polls/{poll_id}/options/{option_id}", polls.get_poll_option),
    _r(
        "DeletePollOption",
        "DELETE",
        "/polls/{poll_id}/options/{option_id}",
        polls.delete_poll_option,
    ),
    _r("QueryPollVotes", "POST", "/polls/{poll_id}/votes", polls.query_poll_votes),
    _r(
        "CastPollVote",
        "POST",
        "/messages/{message_id}/polls/{poll_id}/vote",
        polls.cast_poll_vote,
    ),
    _r(
        "DeletePollVote",
        "DELETE",
        "/messages/{message_id}/polls/{poll_id}/vote/{vote_id}",
        polls.delete_poll_vote,
    ),
    # read state
    _r("MarkRead", "POST", "/channels/{type}/{id}/read", reads.mark_read),
    _r("MarkUnread", "POST", "/channels/{type}/{id}/unread", reads.mark_unread),
    _r("UnreadCounts", "GET", "/unread", reads.unread_counts),
    _r("UnreadCountsBatch", "POST", "/unread_batch", reads.unread_counts_batch, True),
    # moderation
    _r("Ban", "POST", "/moderation/ban", moderation.ban),
    _r("Unban", "DELETE", "/moderation/ban", moderation.unban),
    _r("QueryBannedUsers", "GET", "/query_banned_users", moderation.query_banned_users),
    _r(
        "QueryFutureChannelBans",
        "GET",
        "/query_future_channel_bans",
        moderation.query_future_channel_bans,
    ),
    _r("MuteUser", "POST", "/moderation/mute", moderation.mute_user),
    _r("UnmuteUser", "POST", "/moderation/unmute", moderation.unmute_user),
    _r("MuteChannel", "POST", "/moderation/mute/channel", channel_ops.mute_channel),
    _r("UnmuteChannel", "POST", "/moderation/unmute/channel", channel_ops.unmute_channel),
    _r("Flag", "POST", "/moderation/flag", moderation.flag),
    _r("Unflag", "POST", "/moderation/unflag", moderation.unflag, spec=False),
    _r("QueryMessageFlags", "GET", "/moderation/flags/message", moderation.query_message_flags),
    _r(
        "QueryFlagReports",
        "POST",
        "/moderation/reports",
        moderation.query_flag_reports,
        True,
        spec=False,
    ),
    _r(
        "ReviewFlagReport",
        "PATCH",
        "/moderation/reports/{id}",
        moderation.review_flag_report,
        True,
        spec=False,
    ),
    # blocklists
    _r("ListBlockLists", "GET", "/blocklists", blocklists.list_blocklists),
    _r("CreateBlockList", "POST", "/blocklists", blocklists.create_blocklist),
    _r("GetBlockList", "GET", "/blocklists/{name}", blocklists.get_blocklist, True),
    _r("UpdateBlockList", "PUT", "/blocklists/{name}", blocklists.update_blocklist),
    _r("DeleteBlockList", "DELETE", "/blocklists/{name}", blocklists.delete_blocklist),
    # campaigns and segments (all server-side only)
    _r("CreateCampaign", "POST", "/campaigns", campaigns.create_campaign, True),
    _r("QueryCampaigns", "POST", "/campaigns/query", campaigns.query_campaigns, True),
    _r("GetCampaign", "GET", "/campaigns/{id}", campaigns.get_campaign, True),
    _r("UpdateCampaign", "PUT", "/campaigns/{id}", campaigns.update_campaign, True),
    _r("DeleteCampaign", "DELETE", "/campaigns/{id}", campaigns.delete_campaign, True),
    _r("StartCampaign", "POST", "/campaigns/{id}/start", campaigns.start_campaign, True),
    _r("StopCampaign", "POST", "/campaigns/{id}/stop", campaigns.stop_campaign, True),
    _r("CreateSegment", "POST", "/segments", admin.create_segment, True),
    _r("QuerySegments", "POST", "/segments/query", admin.query_segments, True),
    _r("GetSegment", "GET", "/segments/{id}", admin.get_segment, True),
    _r("UpdateSegment", "PUT", "/segments/{id}", admin.update_segment, True),
    _r("DeleteSegment", "DELETE", "/segments/{id}", admin.delete_segment, True),
    _r("AddSegmentTargets", "POST", "/segments/{id}/addtargets", admin.add_segment_targets, True),
    _r(
        "DeleteSegmentTargets",
        "POST",
        "/segments/{id}/deletetargets",
        admin.delete_segment_targets,
        True,
    ),
    _r(
        "SegmentTargetExists",
        "GET",
        "/segments/{id}/target/{target_id}",
        admin.segment_target_exists,
        True,
    ),
    _r(
        "QuerySegmentTargets",
        "POST",
        "/segments/{id}/targets/query",
        admin.query_segment_targets,
        True,
    ),
    # roles, permissions, push providers, imports
    _r("ListRoles", "GET", "/roles", admin.list_roles, True),
    _r("CreateRole", "POST", "/roles", admin.create_role, True),
    _r("DeleteRole", "DELETE", "/roles/{name}", admin.delete_role, True),
    _r("ListPermissions", "GET", "/permissions", admin.list_permissions, True),
    _r("CreatePermission", "POST", "/permissions", admin.create_permission, True),
    _r("GetPermission", "GET", "/permissions/{id}", admin.get_permission, True),
    _r("UpdatePermission", "PUT", "/permissions/{id}", admin.update_permission, True),
    _r("DeletePermission", "DELETE", "/permissions/{id}", admin.delete_permission, True),
    _r("ListPushProviders", "GET", "/push_providers", admin.list_push_providers, True),
    _r("UpsertPushProvider", "POST", "/push_providers", admin.upsert_push_provider, True),
    _r(
        "DeletePushProvider",
        "DELETE",
        "/push_providers/{type}/{name}",
        admin.delete_push_provider,
        True,
    ),
    _r("CreateImportURL", "POST", "/import_urls", imports.create_import_url, True),
    _r("CreateImport", "POST", "/imports", imports.create_import, True),
    _r("GetImport", "GET", "/imports/{id}", imports.get_import, True),
    _r("ListImports", "GET", "/imports", imports.list_imports, True),
)

# Stream's v2 moderation API, which has no v1 form: full paths, v2 operation ids (their
# server-only marks are the v2 operation table's). ban, mute and unmute take v1's bodies.
V2_ROUTES: tuple[Route, ...] = (
    _r("ban", "POST", "/api/v2/moderation/ban", moderation.ban),
    _r("unban", "POST", "/api/v2/moderation/unban", moderation_v2.unban, True),
    _r("mute", "POST", "/api/v2/moderation/mute", moderation.mute_user),
    _r("unmute", "POST", "/api/v2/moderation/unmute", moderation.unmute_user),
    _r("flag", "POST", "/api/v2/moderation/flag", moderation_v2.flag),
    _r("check", "POST", "/api/v2/moderation/check", moderation_configs.check, True),
    _r("upsert_config", "POST", "/api/v2/moderation/config", moderation_configs.upsert_config),
    _r("get_config", "GET", "/api/v2/moderation/config/{key}", moderation_configs.get_config),
    _r(
        "delete_config",
        "DELETE",
        "/api/v2/moderation/config/{key}",
        moderation_configs.delete_config,
    ),
    _r(
        "query_review_queue",
        "POST",
        "/api/v2/moderation/review_queue",
        review_queue.query_review_queue,
    ),
    _r(
        "get_review_queue_item",
        "GET",
        "/api/v2/moderation/review_queue/{id}",
        review_queue.get_review_queue_item,
        True,
    ),
    _r(
        "submit_action",
        "POST",
        "/api/v2/moderation/submit_action",
        moderation_actions.submit_action,
    ),
)

OPERATIONS = frozenset(route.operation for route in (*ROUTES, *V2_ROUTES))

# Stream's v2 API serves the same operations under /api/v2/chat/... or, for these first path
# segments, /api/v2/... (the v1 moderation endpoints have no v2 chat counterpart).
_V2_ROOT = frozenset(
    {
        "app",
        "blocklists",
        "check_push",
        "check_sns",
        "check_sqs",
        "devices",
        "export",
        "import_urls",
        "imports",
        "permissions",
        "polls",
        "push_providers",
        "rate_limits",
        "roles",
        "tasks",
        "uploads",
        "users",
    }
)
_V1_ONLY = (
    "/moderation/ban",
    "/moderation/flag",
    "/moderation/unflag",
    "/moderation/mute",
    "/moderation/unmute",
)


def v1_path(path: str) -> str:
    """Map a v2 path to the v1 path of the same operation (v1 paths pass through)."""
    if path.startswith("/api/v2/chat/"):
        rest = path[len("/api/v2/chat") :]
        first = rest.split("/")[1] if rest.count("/") else ""
        if first in _V2_ROOT and not (first == "users" and rest.endswith("/event")):
            return "/api/v2/not-a-chat-path" + rest
        if rest.rstrip("/") in _V1_ONLY:
            return "/api/v2/not-a-chat-path" + rest
        return rest
    if path.startswith("/api/v2/"):
        rest = path[len("/api/v2") :]
        first = rest.split("/")[1] if rest.count("/") else ""
        if first not in _V2_ROOT or (first == "users" and rest.rstrip("/").endswith("/event")):
            return path
        return rest
    return path


class Router:
    """Match (method, path) to a route; literal segments beat parameters."""

    def __init__(self, routes: tuple[Route, ...] = (*ROUTES, *V2_ROUTES)) -> None:
        ordered = sorted(routes, key=lambda r: -r.literal_segments)
        self._compiled = [(route, route.pattern) for route in ordered]

    def nearest(self, path: str, limit: int = 3) -> list[str]:
        """Emulated operations whose routes share the most leading segments with ``path``.

        Offered with a "not emulated" answer, so an agent learns what it can do instead.
        """
        wanted = [s for s in path.strip("/").split("/") if s]
        scored: dict[str, int] = {}
        for route, _ in self._compiled:
            shared = 0
            for mine, theirs in zip(route.path.strip("/").split("/"), wanted, strict=False):
                if mine != theirs and not mine.startswith("{"):
                    break
                shared += 1 if mine == theirs else 0
            if shared:
                scored[route.operation] = max(scored.get(route.operation, 0), shared)
        ranked = sorted(scored, key=lambda op: (-scored[op], op))
        return ranked[:limit]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        trimmed = path.rstrip("/") or "/"
        for route, pattern in self._compiled:
            if route.method != method:
                continue
            found = pattern.match(trimmed)
            if found:
                return route, dict(found.groupdict())
        return None
