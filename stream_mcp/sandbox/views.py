"""Render stored records in Stream's response shapes.

Custom data is returned both flattened into the object (as Stream's Chat API and the official
SDKs' tests expect, e.g. ``channel["color"]``) and under ``custom`` (as the OpenAPI spec marks
it required). What a viewer sees depends on who asks: ``own_reactions``, ``membership``,
``hidden`` and shadow-banned messages are per user.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import records, typeconfig
from stream_mcp.sandbox.context import Call, opt_time
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.filters import bounded_int
from stream_mcp.sandbox.store import (
    BLOCKS,
    CHANNEL_MUTES,
    CHANNELS,
    DEVICES,
    LOCATIONS,
    MEMBERS,
    MESSAGES,
    MUTES,
    REACTIONS,
    USERS,
    Store,
)

LATEST_REACTIONS = 10
PINNED_IN_STATE = 10


def channel_config(store: Store, channel: Mapping[str, Any]) -> dict[str, Any]:
    """The effective configuration in a channel response (without the type's grants)."""
    config = typeconfig.render(store, typeconfig.effective(store, channel))
    config.pop("grants", None)
    config.pop("permissions", None)
    return config


def render_html(text: str) -> str:
    """Stream renders message markdown to HTML; the sandbox escapes and wraps paragraphs."""
    if not text:
        return ""
    return "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n\n") if p)


def _flatten(doc: Mapping[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    custom = dict(doc.get("custom") or {})
    out = {k: v for k, v in custom.items() if k not in base}
    out.update(base)
    out["custom"] = custom
    return out


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


class Renderer:
    """Builds response objects for one request's viewer."""

    def __init__(self, call: Call, viewer: str | None = None) -> None:
        self.call = call
        self.store = call.store
        self.viewer = viewer if viewer is not None else call.user_id

    # -- users -----------------------------------------------------------------------------

    def user(self, user_id: str | None) -> dict[str, Any] | None:
        if not user_id:
            return None
        doc = self.store.get(USERS, user_id)
        if doc is None:
            return {"id": user_id, "role": "user", "banned": False, "online": False}
        return self.user_doc(doc)

    def user_doc(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        ban = records.active_ban(self.call, doc["id"])
        base = {
            "id": doc["id"],
            "role": doc.get("role", "user"),
            "name": doc.get("name"),
            "image": doc.get("image"),
            "language": doc.get("language", ""),
            "teams": doc.get("teams", []),
            "teams_role": doc.get("teams_role"),
            "invisible": doc.get("invisible", False),
            "privacy_settings": doc.get("privacy_settings"),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "last_active": doc.get("last_active"),
            "deactivated_at": doc.get("deactivated_at"),
            "deleted_at": doc.get("deleted_at"),
            "revoke_tokens_issued_before": doc.get("revoke_tokens_issued_before"),
            "banned": ban is not None and not ban.get("shadow"),
            "ban_expires": ban.get("expires") if ban and not ban.get("shadow") else None,
            "shadow_banned": ban is not None and bool(ban.get("shadow")),
            "online": False,
            "blocked_user_ids": [
                b["blocked_user_id"] for b in self.store.select(BLOCKS, user_id=doc["id"])
            ],
        }
        return _flatten(doc, _drop_none(base))

    def full_user(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """FullUserResponse: the user plus mutes and unread counters."""
        out = self.user_doc(doc)
        mutes = [
            self.mute(m)
            for m in self.store.select(MUTES, user_id=doc["id"], order_by="created_at")
            if not _expired(self.call, m)
        ]
        channels = 0
        total = 0
        for member in self.store.select(MEMBERS, user_id=doc["id"]):
            channel = records.get_channel(self.call, member["cid"])
            if channel is None:
                continue
            count = records.unread_count(self.call, channel, doc["id"])
            total += count
            channels += 1 if count else 0
        from stream_mcp.sandbox.threads import unread_threads

        channel_mutes = self._channel_mutes(doc["id"])
        out.update(
            {
                "devices": self.store.select(DEVICES, user_id=doc["id"]),
                "mutes": mutes,
                "channel_mutes": channel_mutes,
                "total_unread_count": total,
                "unread_count": total,
                "unread_channels": channels,
                "unread_threads": len(unread_threads(self.call, doc["id"])),
            }
        )
        return out

    def _channel_mutes(self, user_id: str) -> list[dict[str, Any]]:
        now = self.call.clock.peek_stamp()
        result = []
        for mute in self.store.select(CHANNEL_MUTES, user_id=user_id, order_by="created_at"):
            if mute.get("expires") and mute["expires"] <= now:
                continue
            channel = records.get_channel(self.call, mute["cid"])
            item = {
                "user": self.user(user_id),
                "channel": self.channel(channel) if channel else None,
                "created_at": mute["created_at"],
                "updated_at": mute["updated_at"],
            }
            if mute.get("expires"):
                item["expires"] = mute["expires"]
            result.append(item)
        return result

    def mute(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return _drop_none(
            {
                "user": self.user(doc["user_id"]),
                "target": self.user(doc["target_id"]),
                "created_at": doc["created_at"],
                "updated_at": doc["updated_at"],
                "expires": doc.get("expires"),
            }
        )

    # -- channels --------------------------------------------------------------------------

    def channel(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        member = records.get_member(self.call, doc["cid"], self.viewer)
        base = {
            "id": doc["id"],
            "type": doc["type"],
            "cid": doc["cid"],
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "created_by": self.user(doc.get("created_by_id")),
            "frozen": doc.get("frozen", False),
            "disabled": doc.get("disabled", False),
            "member_count": self.store.count(MEMBERS, cid=doc["cid"]),
            "config": channel_config(self.store, doc),
            "config_overrides": doc.get("config_overrides") or None,
            "last_message_at": doc.get("last_message_at"),
            "deleted_at": doc.get("deleted_at"),
            "truncated_at": doc.get("truncated_at"),
            "truncated_by": self.user(doc.get("truncated_by_id")),
            "team": doc.get("team"),
            "cooldown": doc.get("cooldown"),
            "filter_tags": doc.get("filter_tags"),
            "auto_translation_enabled": doc.get("auto_translation_enabled"),
            "auto_translation_language": doc.get("auto_translation_language"),
            "hidden": member.get("hidden", False) if member else None,
        }
        return _flatten(doc, _drop_none(base))

    def member(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        ban = records.active_ban(self.call, doc["user_id"], doc["cid"])
        role = doc.get("channel_role", "channel_member")
        base = {
            "user_id": doc["user_id"],
            "user": self.user(doc["user_id"]),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "channel_role": role,
            "role": {"channel_moderator": "moderator", "owner": "owner"}.get(role, "member"),
            "is_moderator": True if role == "channel_moderator" else None,
            "banned": ban is not None and not ban.get("shadow"),
            "ban_expires": ban.get("expires") if ban else None,
            "shadow_banned": ban is not None and bool(ban.get("shadow")),
            "notifications_muted": doc.get("notifications_muted", False),
            "invited": doc.get("invited"),
            "invite_accepted_at": doc.get("invite_accepted_at"),
            "invite_rejected_at": doc.get("invite_rejected_at"),
            "status": doc.get("status"),
            "archived_at": doc.get("archived_at"),
            "pinned_at": doc.get("pinned_at"),
        }
        return _flatten(doc, _drop_none(base))

    def members(self, channel: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [self.member(m) for m in records.channel_members(self.call, channel["cid"])]

    # -- messages --------------------------------------------------------------------------

    def message(
        self,
        doc: Mapping[str, Any],
        *,
        with_channel: bool = False,
        quote: bool = True,
    ) -> dict[str, Any]:
        reactions = self.store.select(
            REACTIONS, message_id=doc["id"], order_by="created_at", descending=True
        )
        counts: dict[str, int] = {}
        scores: dict[str, int] = {}
        groups: dict[str, dict[str, Any]] = {}
        for reaction in reversed(reactions):
            kind = reaction["type"]
            counts[kind] = counts.get(kind, 0) + 1
            scores[kind] = scores.get(kind, 0) + int(reaction.get("score", 1))
            group = groups.setdefault(
                kind,
                {
                    "count": 0,
                    "sum_scores": 0,
                    "first_reaction_at": reaction["created_at"],
                    "last_reaction_at": reaction["created_at"],
                    "latest_reactions_by": [],
                },
            )
            group["count"] += 1
            group["sum_scores"] += int(reaction.get("score", 1))
            group["last_reaction_at"] = reaction["created_at"]
            group["latest_reactions_by"].insert(
                0,
                {
                    "user_id": reaction["user_id"],
                    "user": self.user(reaction["user_id"]),
                    "created_at": reaction["created_at"],
                },
            )
        replies = self.store.select(MESSAGES, parent_id=doc["id"], order_by="created_at")
        live_replies = [r for r in replies if r.get("type") != "deleted"]
        participants: list[str] = []
        if live_replies:
            for uid in [doc.get("user_id")] + [r.get("user_id") for r in live_replies]:
                if uid and uid not in participants:
                    participants.append(uid)
        pinned = bool(doc.get("pinned")) and not _pin_expired(self.call, doc)
        base: dict[str, Any] = {
            "id": doc["id"],
            "text": doc.get("text", ""),
            "html": doc.get("html", ""),
            "type": doc.get("type", "regular"),
            "user": self.user(doc.get("user_id")),
            "attachments": doc.get("attachments", []),
            "latest_reactions": [self.reaction(r) for r in reactions[:LATEST_REACTIONS]],
            "own_reactions": [
                self.reaction(r)
                for r in reactions
                if self.viewer is not None and r["user_id"] == self.viewer
            ],
            "reaction_counts": counts,
            "reaction_scores": scores,
            "reaction_groups": groups,
            "reply_count": len(live_replies),
            "deleted_reply_count": len(replies) - len(live_replies),
            "cid": doc["cid"],
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "shadowed": bool(doc.get("shadowed")),
            "mentioned_users": [
                u for u in (self.user(uid) for uid in doc.get("mentioned_users", [])) if u
            ],
            "silent": bool(doc.get("silent")),
            "pinned": pinned,
            "pinned_at": doc.get("pinned_at") if pinned else None,
            "pinned_by": self.user(doc.get("pinned_by_id")) if pinned else None,
            "pin_expires": doc.get("pin_expires") if pinned else None,
            "restricted_visibility": doc.get("restricted_visibility", []),
            "mentioned_channel": bool(doc.get("mentioned_channel")),
            "mentioned_here": bool(doc.get("mentioned_here")),
        }
        optional = {
            "parent_id": doc.get("parent_id"),
            "show_in_channel": doc.get("show_in_channel"),
            "quoted_message_id": doc.get("quoted_message_id"),
            "deleted_at": doc.get("deleted_at"),
            "message_text_updated_at": doc.get("message_text_updated_at"),
            "mml": doc.get("mml"),
            "thread_participants": [self.user(uid) for uid in participants] or None,
        }
        base.update(_drop_none(optional))
        if quote and doc.get("quoted_message_id"):
            quoted = self.store.get(MESSAGES, doc["quoted_message_id"])
            if quoted is not None:
                base["quoted_message"] = self.message(quoted, quote=False)
        if doc.get("shared_location_id"):
            location = self.store.get(LOCATIONS, doc["shared_location_id"])
            if location is not None:
                base["shared_location"] = location
        if doc.get("poll_id"):
            from stream_mcp.sandbox.polls import message_poll

            base["poll_id"] = doc["poll_id"]
            poll = message_poll(self.call, doc, self.viewer)
            if poll is not None:
                base["poll"] = poll
        for key in ("command", "args", "pending", "pending_message_metadata", "i18n"):
            if doc.get(key):
                base[key] = doc[key]
        if doc.get("updated_by_id") and doc.get("updated_by_id") != doc.get("user_id"):
            base["updated_by"] = self.user(doc["updated_by_id"])
        if with_channel:
            channel = self.store.get(CHANNELS, doc["cid"])
            if channel is not None:
                base["channel"] = self.channel(channel)
        return _flatten(doc, base)

    def reaction(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        base = {
            "message_id": doc["message_id"],
            "user_id": doc["user_id"],
            "user": self.user(doc["user_id"]),
            "type": doc["type"],
            "score": int(doc.get("score", 1)),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
        }
        return _flatten(doc, base)

    # -- channel state ---------------------------------------------------------------------

    def state(
        self,
        channel: Mapping[str, Any],
        *,
        messages: Mapping[str, Any] | None = None,
        message_limit: int = 25,
        member_limit: int = 100,
        member_offset: int = 0,
    ) -> dict[str, Any]:
        """ChannelStateResponseFields: channel, members, messages, pins, reads, membership."""
        visible = records.visible_messages(self.call, channel, self.viewer)
        page = paginate_messages(self.call, visible, messages or {}, default_limit=message_limit)
        pinned = [
            m
            for m in reversed(visible)
            if m.get("pinned") and not _pin_expired(self.call, m) and m.get("type") != "deleted"
        ][:PINNED_IN_STATE]
        member_docs = records.channel_members(self.call, channel["cid"])
        reads = []
        for member in member_docs:
            last, last_id = records.last_read(self.call, channel["cid"], member["user_id"])
            reads.append(
                _drop_none(
                    {
                        "user": self.user(member["user_id"]),
                        "last_read": last,
                        "last_read_message_id": last_id,
                        "unread_messages": records.unread_count(
                            self.call, channel, member["user_id"]
                        ),
                    }
                )
            )
        state: dict[str, Any] = {
            "channel": self.channel(channel),
            "members": [
                self.member(m) for m in member_docs[member_offset : member_offset + member_limit]
            ],
            "messages": [self.message(m) for m in page],
            "pinned_messages": [self.message(m) for m in pinned],
            "read": reads,
            "threads": [],
            "watchers": [],
            "watcher_count": 0,
        }
        own = records.get_member(self.call, channel["cid"], self.viewer)
        if own is not None:
            state["membership"] = self.member(own)
            state["hidden"] = bool(own.get("hidden"))
        return state


def _expired(call: Call, doc: Mapping[str, Any]) -> bool:
    expires: str | None = doc.get("expires")
    if not expires:
        return False
    return expires <= call.clock.peek_stamp()


def _pin_expired(call: Call, doc: Mapping[str, Any]) -> bool:
    expires: str | None = doc.get("pin_expires")
    if not expires:
        return False
    return expires <= call.clock.peek_stamp()


def paginate_messages(
    call: Call,
    messages: list[dict[str, Any]],
    options: Mapping[str, Any],
    *,
    default_limit: int,
    maximum: int = 300,
) -> list[dict[str, Any]]:
    """Stream's message pagination (id_*/created_at_* bounds, *_around), oldest first."""
    if not isinstance(options, Mapping):
        raise input_error("messages pagination must be an object")
    limit = bounded_int(
        options.get("limit"), name="messages.limit", default=default_limit, maximum=maximum
    )

    def stamp_of(message_id: Any, name: str) -> str:
        if not isinstance(message_id, str):
            raise input_error(f"{name} must be a message id", field=name)
        ref = call.store.get(MESSAGES, message_id)
        if ref is None:
            raise input_error(f"{name}: message {message_id} does not exist", field=name)
        return str(ref["created_at"])

    bounds: list[tuple[str, str]] = []
    for name, op in (("id_lt", "<"), ("id_lte", "<="), ("id_gt", ">"), ("id_gte", ">=")):
        if options.get(name):
            bounds.append((op, stamp_of(options[name], name)))
    for name, op in (
        ("created_at_before", "<"),
        ("created_at_before_or_equal", "<="),
        ("created_at_after", ">"),
        ("created_at_after_or_equal", ">="),
    ):
        value = options.get(name)
        if value:
            bounds.append((op, opt_time(options, name) or str(value)))
    result = [m for m in messages if all(_holds(m["created_at"], op, ref) for op, ref in bounds)]
    around = None
    if options.get("id_around"):
        around = stamp_of(options["id_around"], "id_around")
    elif options.get("created_at_around"):
        around = opt_time(options, "created_at_around")
    if around is not None:
        before = [m for m in result if m["created_at"] < around]
        rest = [m for m in result if m["created_at"] >= around]
        half = limit // 2
        take_before = before[-half:] if half else []
        return take_before + rest[: limit - len(take_before)]
    if any(op in (">", ">=") for op, _ in bounds):
        return result[:limit]
    return result[-limit:] if limit else []


def _holds(value: str, op: str, ref: str) -> bool:
    return {
        "<": value < ref,
        "<=": value <= ref,
        ">": value > ref,
        ">=": value >= ref,
    }[op]
