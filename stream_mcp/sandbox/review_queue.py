"""v2 moderation's review queue: one item per flagged or checked entity.

Stream gathers everything said about one piece of content (its ``entity_type`` and
``entity_id``) on one review item, so a moderator sees every flag at once. Here the flags of
v1 Flag and v2 flag, blocklist hits on SendMessage (``automod``) and v2 check results that
are not ``keep`` all land on that item; a new flag reopens a reviewed item. The item is
answered as Stream's ReviewQueueItemResponse (QueryReviewQueue, GetReviewQueueItem);
moderators act on it through :mod:`stream_mcp.sandbox.moderation_actions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stream_mcp.sandbox import paging, permissions, records
from stream_mcp.sandbox.context import Call, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.store import BANS, FLAGS, MESSAGES, REVIEW_ITEMS
from stream_mcp.sandbox.views import Renderer

MESSAGE_ENTITY = "stream:chat:v1:message"
USER_ENTITY = "stream:user"
PENDING = "pending"
REVIEWED = "reviewed"
KEEP = "keep"
# Stricter recommendations win when several rules or flags speak about one item.
ACTION_RANK = {KEEP: 0, "flag": 1, "shadow": 2, "remove": 3}
# Stream's app roles that may work the review queue with a user token.
MODERATION_ROLES = frozenset({"admin", "moderator"})


def require_moderation(call: Call, action: str) -> None:
    """Review-queue and policy operations: server tokens, admins and app moderators."""
    if call.is_server or records.user_role(call, call.user_id) in MODERATION_ROLES:
        return
    raise permissions.deny(call, action, "app")


def find_item(call: Call, entity_type: str, entity_id: str) -> dict[str, Any] | None:
    found = call.store.select(REVIEW_ITEMS, entity_type=entity_type, entity_id=entity_id)
    return found[0] if found else None


def require_item(call: Call, item_id: str) -> dict[str, Any]:
    item = call.store.get(REVIEW_ITEMS, item_id)
    if item is None:
        raise not_found(f"review queue item {item_id!r} does not exist")
    return item


def ensure_item(
    call: Call,
    entity_type: str,
    entity_id: str,
    *,
    creator_id: str | None,
    payload: Mapping[str, Any] | None = None,
    config_key: str | None = None,
) -> dict[str, Any]:
    """The entity's item, made (pending, recommending ``keep``) when it has none yet.

    Not saved here: the caller adds a flag or an action, which saves it.
    """
    item = find_item(call, entity_type, entity_id)
    if item is None:
        now = call.stamp()
        item = {
            "id": records.new_id(),
            "entity_type": entity_type,
            "entity_id": entity_id,
            "entity_creator_id": creator_id or "",
            "status": PENDING,
            "recommended_action": KEEP,
            "flags": [],
            "actions": [],
            "created_at": now,
            "updated_at": now,
        }
    if payload:
        item["moderation_payload"] = dict(payload)
    if config_key:
        item["config_key"] = config_key
    if creator_id and not item.get("entity_creator_id"):
        item["entity_creator_id"] = creator_id
    return item


def add_flag(
    call: Call,
    item: dict[str, Any],
    *,
    kind: str,
    user_id: str | None,
    reason: str | None,
    custom: Mapping[str, Any],
    labels: Iterable[str] = (),
    action: str = "flag",
) -> dict[str, Any]:
    """Add one flag (``kind`` user, automod or check) to ``item``, reopen it and save it."""
    now = call.stamp()
    item["flags"].append(
        {
            "type": kind,
            "user_id": user_id or "",
            "reason": reason or "",
            "custom": dict(custom),
            "labels": list(labels),
            "created_at": now,
            "updated_at": now,
        }
    )
    raise_recommendation(item, action)
    item["status"] = PENDING
    item["updated_at"] = now
    call.store.put(REVIEW_ITEMS, item)
    return item


def raise_recommendation(item: dict[str, Any], action: str) -> None:
    if ACTION_RANK.get(action, 1) > ACTION_RANK.get(str(item.get("recommended_action")), 0):
        item["recommended_action"] = action


def withdraw_flag(call: Call, entity_type: str, entity_id: str, user_id: str | None) -> None:
    """Unflag: the user's flag leaves the entity's item (the item itself stays)."""
    item = find_item(call, entity_type, entity_id)
    if item is None:
        return
    kept = [f for f in item["flags"] if not (f["type"] == "user" and f["user_id"] == user_id)]
    if len(kept) != len(item["flags"]):
        item["flags"] = kept
        item["updated_at"] = call.stamp()
        call.store.put(REVIEW_ITEMS, item)


def record_action(
    call: Call,
    item: dict[str, Any],
    action_type: str,
    moderator: str | None,
    reason: str | None = None,
) -> None:
    """Log a moderator's action on ``item`` and mark it reviewed (Stream closes the item)."""
    now = call.stamp()
    item["actions"].append(
        {
            "id": records.new_id(),
            "type": action_type,
            "user_id": moderator or "",
            "reason": reason or "",
            "created_at": now,
        }
    )
    item.update(
        {
            "status": REVIEWED,
            "latest_moderator_action": action_type,
            "reviewed_by": moderator or "",
            "reviewed_at": now,
            "completed_at": now,
            "updated_at": now,
        }
    )
    call.store.put(REVIEW_ITEMS, item)


# -- rendering ---------------------------------------------------------------------------


class ItemRenderer:
    """Review items as Stream's ReviewQueueItemResponse, for one request."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.render = Renderer(call)

    def item(self, item: Mapping[str, Any]) -> dict[str, Any]:
        creator = item.get("entity_creator_id") or ""
        out: dict[str, Any] = {
            "id": item["id"],
            "entity_type": item["entity_type"],
            "entity_id": item["entity_id"],
            "entity_creator_id": creator,
            "status": item["status"],
            "recommended_action": item["recommended_action"],
            "created_at": item["created_at"],
            "updated_at": item["updated_at"],
            "flags": [self.flag(item, f) for f in item["flags"]],
            "flags_count": len(item["flags"]),
            "actions": [self.action(item, a) for a in item["actions"]],
            "bans": self.bans(creator),
            "latest_moderator_action": item.get("latest_moderator_action", ""),
            "reviewed_by": item.get("reviewed_by", ""),
            "severity": 0,
            "ai_text_severity": "",
            "languages": [],
            "escalated": False,
            "teams": [],
        }
        for key in ("reviewed_at", "completed_at", "config_key", "moderation_payload"):
            if item.get(key):
                out[key] = item[key]
        if creator:
            out["entity_creator"] = self.entity_creator(creator)
        if item["entity_type"] == MESSAGE_ENTITY:
            message = self.call.store.get(MESSAGES, item["entity_id"])
            if message is not None:
                out["message"] = self.render.message(message)
        return out

    def flag(self, item: Mapping[str, Any], flag: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": flag["type"],
            "entity_type": item["entity_type"],
            "entity_id": item["entity_id"],
            "entity_creator_id": item.get("entity_creator_id") or "",
            "user_id": flag["user_id"],
            "reason": flag["reason"],
            "custom": flag["custom"],
            "labels": flag["labels"],
            "result": [],
            "review_queue_item_id": item["id"],
            "created_at": flag["created_at"],
            "updated_at": flag["updated_at"],
        }
        if flag["user_id"]:
            out["user"] = self.render.user(flag["user_id"])
        return out

    def action(self, item: Mapping[str, Any], action: Mapping[str, Any]) -> dict[str, Any]:
        target = item.get("entity_creator_id") or ""
        out: dict[str, Any] = {
            "id": action["id"],
            "type": action["type"],
            "user_id": action["user_id"],
            "target_user_id": target,
            "reason": action["reason"],
            "reporter_type": "moderator",
            "custom": {},
            "ai_providers": [],
            "created_at": action["created_at"],
        }
        if action["user_id"]:
            out["user"] = self.render.user(action["user_id"])
        if target:
            out["target_user"] = self.render.user(target)
        return out

    def bans(self, user_id: str) -> list[dict[str, Any]]:
        if not user_id:
            return []
        out = []
        for ban in self.call.store.select(BANS, target_user_id=user_id, order_by="created_at"):
            view: dict[str, Any] = {
                "created_at": ban["created_at"],
                "channel_cid": ban.get("channel_cid") or "",
                "shadow": bool(ban.get("shadow")),
                "user": self.render.user(user_id),
            }
            for key in ("expires", "reason"):
                if ban.get(key):
                    view[key] = ban[key]
            if ban.get("banned_by_id"):
                view["created_by"] = self.render.user(ban["banned_by_id"])
            out.append(view)
        return out

    def entity_creator(self, user_id: str) -> dict[str, Any]:
        """Stream's EntityCreatorResponse: the user plus the moderation counters."""
        store = self.call.store
        out = dict(self.render.user(user_id) or {"id": user_id})
        out.setdefault("custom", {})
        out.setdefault("language", "")
        out.setdefault("teams", [])
        out.setdefault("blocked_user_ids", [])
        out.setdefault("shadow_banned", False)
        out.setdefault("invisible", False)
        deleted = [m for m in store.select(MESSAGES, user_id=user_id) if m.get("type") == "deleted"]
        out.update(
            {
                "ban_count": store.count(BANS, target_user_id=user_id),
                "flagged_count": store.count(FLAGS, target_user_id=user_id),
                "deleted_content_count": len(deleted),
            }
        )
        return out


# -- handlers ----------------------------------------------------------------------------


def _filter_view(call: Call, item: Mapping[str, Any]) -> dict[str, Any]:
    view = {k: v for k, v in item.items() if k not in ("flags", "actions")}
    view["flags_count"] = len(item["flags"])
    view["has_text"] = bool((item.get("moderation_payload") or {}).get("texts"))
    if item["entity_type"] == MESSAGE_ENTITY:
        message = call.store.get(MESSAGES, item["entity_id"])
        if message is not None:
            view["channel_cid"] = message["cid"]
    return view


def query_review_queue(call: Call) -> dict[str, Any]:
    """query_review_queue (POST /api/v2/moderation/review_queue): ``filter`` over the item's
    fields (status, entity_type, entity_id, entity_creator_id, recommended_action,
    channel_cid, reviewed_by, created_at …), ``sort`` (newest first by default), and
    ``limit``/``next``/``prev`` cursors."""
    body = call.body
    call.actor(body.get("user_id"), user_ref(body.get("user")))
    require_moderation(call, "QueryReviewQueue")
    conditions = body.get("filter") or {}
    if not isinstance(conditions, Mapping):
        raise input_error("filter must be an object", field="filter")
    sort = parse_sort(body.get("sort"), default=(("created_at", -1),))
    found = []
    for item in call.store.select(REVIEW_ITEMS, order_by="created_at"):
        view = _filter_view(call, item)
        if matches(view, conditions):
            found.append((view, item))
    ordered = sort_docs([view for view, _ in found], sort)
    by_id = {item["id"]: item for _, item in found}
    chosen, cursors = paging.page(ordered, body, default_limit=25, max_limit=100)
    render = ItemRenderer(call)
    stats = {PENDING: 0, REVIEWED: 0}
    for view, _ in found:
        stats[str(view["status"])] = stats.get(str(view["status"]), 0) + 1
    if body.get("stats_only"):
        return {"items": [], "action_config": {}, "stats": stats}
    return {
        "items": [render.item(by_id[view["id"]]) for view in chosen],
        "action_config": {},
        "stats": stats,
        **cursors,
    }


def get_review_queue_item(call: Call) -> dict[str, Any]:
    """get_review_queue_item (GET /api/v2/moderation/review_queue/{id})."""
    return {"item": ItemRenderer(call).item(require_item(call, call.path["id"]))}
