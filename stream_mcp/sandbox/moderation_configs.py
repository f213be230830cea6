"""v2 moderation policies (upsert_config, get_config, delete_config) and ``check``.

A policy is stored whole and returned as Stream's ConfigResponse, but only its
``block_list_config`` does anything here: ``check`` runs those rules (blocklist name +
action) on ``moderation_payload.texts`` with the blocklists of
:mod:`stream_mcp.sandbox.blocklists`. Stream's AI engines (text, image, video, audio
labels, semantic filters, LLM rules …) are not emulated; answers say so in ``sandbox_note``
rather than pretend the content was analysed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import permissions, review_queue
from stream_mcp.sandbox.blocklists import find_blocklist
from stream_mcp.sandbox.content import blocklist_hit
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.moderation_v2 import moderation_payload
from stream_mcp.sandbox.store import MODERATION_CONFIGS

AI_NOT_EMULATED = (
    "AI labels are not emulated: the stream-mcp sandbox only runs block_list_config rules "
    "(blocklist words and regexes) on moderation_payload.texts; AI text, image, video and "
    "audio engines, semantic filters and LLM rules never match here."
)
STORED_NOT_APPLIED = (
    "stored and returned, not applied: the stream-mcp sandbox only runs block_list_config rules"
)
# What each blocklist rule action recommends (Stream's BlockListRule actions).
RULE_ACTIONS = {
    "flag": "flag",
    "mask": review_queue.KEEP,
    "mask_flag": "flag",
    "shadow": "shadow",
    "remove": "remove",
    "bounce": "remove",
    "bounce_flag": "flag",
    "bounce_remove": "remove",
}
# Engines a policy may carry; stored as sent, never run.
_OTHER_CONFIGS = (
    "ai_audio_config",
    "ai_image_config",
    "ai_text_config",
    "ai_video_config",
    "automod_platform_circumvention_config",
    "automod_semantic_filters_config",
    "automod_toxicity_config",
    "aws_rekognition_config",
    "bodyguard_config",
    "flood_config",
    "google_vision_config",
    "llm_config",
    "rule_builder_config",
    "velocity_filter_config",
    "video_call_rule_config",
)


def _storage_id(key: str, team: str | None) -> str:
    return f"{team}/{key}" if team else key


def _block_list_config(call: Call, source: Mapping[str, Any]) -> dict[str, Any] | None:
    """``block_list_config`` checked as Stream checks it: known actions, existing lists."""
    if source.get("block_list_config") is None:
        return None
    config = obj(source, "block_list_config")
    rules = config.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
        raise input_error("block_list_config.rules must be a list of objects", field="rules")
    checked = []
    for rule in rules:
        action = opt_str(rule, "action")
        if action not in RULE_ACTIONS:
            raise input_error(
                f"block_list_config rule action must be one of {sorted(RULE_ACTIONS)}",
                field="action",
            )
        name = opt_str(rule, "name")
        if not name:
            raise input_error("block_list_config rules need the blocklist's name", field="name")
        team = opt_str(rule, "team")
        if find_blocklist(call, name, team) is None:
            raise input_error(f"blocklist {name!r} does not exist", field="name")
        checked.append({"name": name, "action": action, **({"team": team} if team else {})})
    out: dict[str, Any] = {"rules": checked}
    for flag in ("enabled", "async", "match_substring"):
        value = opt_bool(config, flag)
        if value is not None:
            out[flag] = value
    return out


def _view(doc: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": doc["config_key"],
        "team": doc.get("team", ""),
        "async": bool(doc.get("async")),
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "supported_video_call_harm_types": [],
    }
    if doc.get("block_list_config") is not None:
        out["block_list_config"] = doc["block_list_config"]
    out.update(doc.get("other") or {})
    return out


def _answer(doc: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"config": _view(doc)}
    if doc.get("other"):
        out["sandbox_note"] = f"{', '.join(sorted(doc['other']))}: {STORED_NOT_APPLIED}"
    return out


def _require_admin(call: Call, action: str) -> None:
    if not permissions.is_privileged(call):
        raise permissions.deny(call, action, "app")


def upsert_config(call: Call) -> dict[str, Any]:
    """upsert_config (POST /api/v2/moderation/config): create or replace the policy ``key``
    (of ``team``); only ``block_list_config`` will be applied by ``check``."""
    body = call.body
    call.actor(body.get("user_id"), user_ref(body.get("user")))
    _require_admin(call, "UpsertModerationConfig")
    key = opt_str(body, "key")
    if not key:
        raise input_error("key is a required field", field="key")
    team = opt_str(body, "team")
    other = {name: obj(body, name) for name in _OTHER_CONFIGS if body.get(name) is not None}
    storage_id = _storage_id(key, team)
    existing = call.store.get(MODERATION_CONFIGS, storage_id)
    now = call.stamp()
    doc: dict[str, Any] = {
        "id": storage_id,
        "config_key": key,
        "team": team or "",
        "async": bool(opt_bool(body, "async")),
        "block_list_config": _block_list_config(call, body),
        "other": other,
        "created_at": existing["created_at"] if existing else now,
        "updated_at": now,
    }
    call.store.put(MODERATION_CONFIGS, doc)
    return _answer(doc)


def _require_config(call: Call, key: str, team: str | None) -> dict[str, Any]:
    doc = call.store.get(MODERATION_CONFIGS, _storage_id(key, team))
    if doc is None:
        raise not_found(f"moderation config {key!r} does not exist")
    return doc


def get_config(call: Call) -> dict[str, Any]:
    """get_config (GET /api/v2/moderation/config/{key}[?team=])."""
    review_queue.require_moderation(call, "ReadModerationConfig")
    return _answer(_require_config(call, call.path["key"], call.query_str("team")))


def delete_config(call: Call) -> dict[str, Any]:
    """delete_config (DELETE /api/v2/moderation/config/{key}[?team=])."""
    _require_admin(call, "DeleteModerationConfig")
    doc = _require_config(call, call.path["key"], call.query_str("team"))
    call.store.delete(MODERATION_CONFIGS, doc["id"])
    return {}


def _policy(call: Call) -> tuple[dict[str, Any] | None, str | None]:
    """The policy a check runs: the inline ``config`` in test mode, else ``config_key``."""
    body = call.body
    if opt_bool(body, "test_mode") and body.get("config") is not None:
        return {"block_list_config": _block_list_config(call, obj(body, "config"))}, None
    key = opt_str(body, "config_key")
    if key is None:
        return None, None
    return _require_config(call, key, opt_str(body, "config_team")), key


def _matches(
    call: Call, policy: Mapping[str, Any] | None, texts: list[str]
) -> list[dict[str, str]]:
    config = (policy or {}).get("block_list_config") or {}
    if config.get("enabled") is False:
        return []
    found = []
    for rule in config.get("rules") or []:
        doc = find_blocklist(call, rule["name"], rule.get("team"))
        if doc is None:
            continue
        for text in texts:
            word = blocklist_hit(doc, text, substring=bool(config.get("match_substring")))
            if word is not None:
                found.append({"blocklist": rule["name"], "word": word, "action": rule["action"]})
                break
    return found


def check(call: Call) -> dict[str, Any]:
    """check (POST /api/v2/moderation/check): run the policy's blocklist rules on the texts.

    ``recommended_action`` is the strictest rule that matched (``keep`` when none did);
    anything but ``keep`` puts the entity in the review queue (not in ``test_mode``).
    """
    body = call.body
    entity_type = opt_str(body, "entity_type")
    entity_id = opt_str(body, "entity_id")
    creator = opt_str(body, "entity_creator_id")
    if not entity_type or not entity_id or not creator:
        raise input_error(
            "entity_type, entity_id and entity_creator_id are required fields", field="entity_id"
        )
    call.actor(body.get("user_id"), user_ref(body.get("user")))
    payload = moderation_payload(body)
    policy, config_key = _policy(call)
    found = _matches(call, policy, [str(t) for t in payload.get("texts") or []])
    recommended = review_queue.KEEP
    for match in found:
        action = RULE_ACTIONS[match["action"]]
        if review_queue.ACTION_RANK[action] > review_queue.ACTION_RANK[recommended]:
            recommended = action
    out: dict[str, Any] = {
        "status": "complete",
        "recommended_action": recommended,
        "sandbox_note": AI_NOT_EMULATED,
        "sandbox_blocklist_matches": found,
    }
    if recommended != review_queue.KEEP and not opt_bool(body, "test_mode"):
        item = review_queue.ensure_item(
            call, entity_type, entity_id, creator_id=creator, payload=payload, config_key=config_key
        )
        review_queue.add_flag(
            call,
            item,
            kind="automod",
            user_id=None,
            reason="; ".join(f"blocklist {m['blocklist']}: {m['word']}" for m in found),
            custom={},
            labels=[f"blocklist:{m['blocklist']}" for m in found],
            action=recommended,
        )
        out["item"] = review_queue.ItemRenderer(call).item(item)
    return out
