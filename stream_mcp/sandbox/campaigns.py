"""Campaigns: create, get, query, update, start, stop, delete.

Starting a campaign delivers its message template, from the sender, to a channel shared by the
sender and each target user: the distinct (member-based) channel of ``channel_template.type``
(``messaging`` by default), or the channel named by ``channel_template.id``. Missing channels
are created when ``create_channels`` is true and skipped otherwise. A start with
``scheduled_for`` in the future parks the campaign as ``scheduled``; it is delivered the first
time the campaign is read after that moment. Targets are ``user_ids``; segments are not
emulated.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import records
from stream_mcp.sandbox.channels import create_channel
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, opt_time, str_list
from stream_mcp.sandbox.errors import feature_not_emulated, input_error, not_found
from stream_mcp.sandbox.filters import bounded_int, matches, parse_sort, sort_docs
from stream_mcp.sandbox.messages import create_message
from stream_mcp.sandbox.store import CAMPAIGNS
from stream_mcp.sandbox.views import Renderer

_PLACEHOLDER = re.compile(r"\{\{\s*(receiver|sender)\.([\w.]+)\s*\}\}")
_SETTINGS = ("name", "description", "sender_mode", "sender_visibility")
_SWITCHES = ("create_channels", "show_channels", "skip_push", "skip_webhook")


def _parse(call: Call, body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a CreateCampaign/UpdateCampaign body into stored fields."""
    template = obj(body, "message_template", required=True)
    if not isinstance(template.get("text"), str):
        raise input_error("message_template.text is a required field", field="message_template")
    sender_id = opt_str(body, "sender_id")
    if not sender_id:
        raise input_error("sender_id is a required field", field="sender_id")
    records.require_user(call, sender_id)
    if str_list(body, "segment_ids"):
        raise feature_not_emulated("campaign segments (segment_ids); target user_ids instead")
    fields: dict[str, Any] = {
        "message_template": dict(template),
        "sender_id": sender_id,
        "user_ids": list(dict.fromkeys(str_list(body, "user_ids"))),
    }
    for name in _SETTINGS:
        value = opt_str(body, name)
        fields[name] = value or ""
    for name in _SWITCHES:
        fields[name] = bool(opt_bool(body, name))
    channel_template = body.get("channel_template")
    if channel_template is not None:
        if not isinstance(channel_template, Mapping):
            raise input_error("channel_template must be an object", field="channel_template")
        channel_type = channel_template.get("type")
        if not isinstance(channel_type, str) or not channel_type:
            raise input_error("channel_template.type is a required field", field="channel_template")
        records.check_channel_type(call, channel_type)
        fields["channel_template"] = dict(channel_template)
    elif fields["create_channels"]:
        raise input_error("channel_template is required when create_channels is true")
    return fields


def _stats() -> dict[str, Any]:
    return {
        "progress": 0.0,
        "stats_channels_created": 0,
        "stats_messages_sent": 0,
        "stats_users_sent": 0,
        "stats_users_read": 0,
        "stats_started_at": None,
        "stats_completed_at": None,
    }


def _view(call: Call, doc: Mapping[str, Any]) -> dict[str, Any]:
    render = Renderer(call)
    out = {k: v for k, v in doc.items()}
    out["sender"] = render.user(doc["sender_id"])
    out["users"] = [
        render.user_doc(user)
        for uid in doc.get("user_ids", [])
        if (user := records.get_user(call, uid)) is not None
    ]
    out["segment_ids"] = []
    out["segments"] = []
    return out


def _require(call: Call) -> dict[str, Any]:
    doc = call.store.get(CAMPAIGNS, call.path["id"])
    if doc is None:
        raise not_found(f"campaign {call.path['id']!r} does not exist")
    return _advance(call, doc)


def _advance(call: Call, doc: dict[str, Any]) -> dict[str, Any]:
    """Deliver a scheduled campaign whose time has come."""
    due = doc.get("scheduled_for")
    if doc.get("status") == "scheduled" and due and due <= call.clock.peek_stamp():
        _deliver(call, doc)
    return doc


def create_campaign(call: Call) -> dict[str, Any]:
    """CreateCampaign (POST /campaigns): a draft."""
    campaign_id = opt_str(call.body, "id") or records.new_id()
    if call.store.get(CAMPAIGNS, campaign_id) is not None:
        raise input_error(f"campaign {campaign_id!r} already exists", field="id")
    now = call.stamp()
    doc = {
        "id": campaign_id,
        **_parse(call, call.body),
        "status": "draft",
        "created_at": now,
        "updated_at": now,
        "stats": _stats(),
    }
    call.store.put(CAMPAIGNS, doc)
    return {"campaign": _view(call, doc), "users": {}}


def get_campaign(call: Call) -> dict[str, Any]:
    """GetCampaign (GET /campaigns/{id})."""
    return {"campaign": _view(call, _require(call)), "users": {}}


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(value: Any, name: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(value).encode()))["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise input_error(f"{name} is not a cursor this sandbox issued", field=name) from None


def query_campaigns(call: Call) -> dict[str, Any]:
    """QueryCampaigns (POST /campaigns/query): filter, sort, limit and next/prev cursors."""
    body = call.body
    conditions = body.get("filter") or {}
    if not isinstance(conditions, Mapping):
        raise input_error("filter must be an object", field="filter")
    sort = parse_sort(body.get("sort"), default=[("created_at", -1)])
    limit = bounded_int(body.get("limit"), name="limit", default=10, minimum=1, maximum=100)
    offset = 0
    if body.get("next"):
        offset = _offset(body["next"], "next")
    elif body.get("prev"):
        offset = _offset(body["prev"], "prev")
    docs = [_advance(call, d) for d in call.store.select(CAMPAIGNS)]
    found = sort_docs([d for d in docs if matches(d, conditions)], sort)
    page = found[offset : offset + limit]
    out: dict[str, Any] = {"campaigns": [_view(call, d) for d in page]}
    if offset + limit < len(found):
        out["next"] = _cursor(offset + limit)
    if offset:
        out["prev"] = _cursor(max(0, offset - limit))
    return out


def update_campaign(call: Call) -> dict[str, Any]:
    """UpdateCampaign (PUT /campaigns/{id}): only drafts and stopped campaigns change."""
    doc = _require(call)
    if doc["status"] not in ("draft", "stopped"):
        raise input_error(f"campaign is {doc['status']} and can no longer be updated")
    doc.update(_parse(call, call.body))
    doc["updated_at"] = call.stamp()
    call.store.put(CAMPAIGNS, doc)
    return {"campaign": _view(call, doc)}


def start_campaign(call: Call) -> dict[str, Any]:
    """StartCampaign: deliver now (status ``completed``) or at ``scheduled_for``."""
    doc = _require(call)
    if doc["status"] not in ("draft", "scheduled", "stopped"):
        raise input_error(f"campaign is already {doc['status']}")
    scheduled_for = opt_time(call.body, "scheduled_for")
    stop_at = opt_time(call.body, "stop_at")
    if stop_at:
        doc["stop_at"] = stop_at
    now = call.stamp()
    if scheduled_for and scheduled_for > now:
        doc.update({"status": "scheduled", "scheduled_for": scheduled_for, "updated_at": now})
        call.store.put(CAMPAIGNS, doc)
    else:
        _deliver(call, doc)
    return {"campaign": _view(call, doc), "users": {}}


def stop_campaign(call: Call) -> dict[str, Any]:
    """StopCampaign: a scheduled or running campaign becomes ``stopped``."""
    doc = _require(call)
    if doc["status"] not in ("scheduled", "in_progress", "running"):
        raise input_error(f"campaign is {doc['status']}, not scheduled or in progress")
    doc.update({"status": "stopped", "updated_at": call.stamp()})
    call.store.put(CAMPAIGNS, doc)
    return {"campaign": _view(call, doc)}


def delete_campaign(call: Call) -> dict[str, Any]:
    """DeleteCampaign (DELETE /campaigns/{id})."""
    if not call.store.delete(CAMPAIGNS, call.path["id"]):
        raise not_found(f"campaign {call.path['id']!r} does not exist")
    return {}


# -- delivery ------------------------------------------------------------------------------


def _fill(text: str, sender: Mapping[str, Any], receiver: Mapping[str, Any]) -> str:
    """Replace ``{{ sender.x }}`` / ``{{ receiver.x }}`` with the users' fields."""
    people = {"sender": sender, "receiver": receiver}

    def value(match: re.Match[str]) -> str:
        person = people[match.group(1)]
        field = match.group(2)
        found = person.get(field, (person.get("custom") or {}).get(field))
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(value, text)


def _deliver(call: Call, doc: dict[str, Any]) -> None:
    sender = records.get_user(call, doc["sender_id"])
    if sender is None:
        raise input_error(f"campaign sender {doc['sender_id']!r} no longer exists")
    targets = [uid for uid in doc.get("user_ids", []) if uid != sender["id"]]
    if not targets:
        raise input_error("campaign has no target users (user_ids)")
    now = call.stamp()
    stats = doc.setdefault("stats", _stats())
    stats["stats_started_at"] = stats.get("stats_started_at") or now
    template = doc.get("channel_template") or {}
    channel_type = template.get("type") or "messaging"
    for uid in targets:
        receiver = records.get_user(call, uid)
        if receiver is None:
            continue
        channel, created = _channel_for(call, doc, template, channel_type, sender, receiver)
        if channel is None:
            continue
        stats["stats_channels_created"] += 1 if created else 0
        message_template = doc["message_template"]
        message = {
            "text": _fill(message_template.get("text", ""), sender, receiver),
            "attachments": message_template.get("attachments") or [],
            "custom": message_template.get("custom") or {},
        }
        create_message(call, channel, message, author=sender["id"])
        stats["stats_messages_sent"] += 1
        stats["stats_users_sent"] += 1
    stats["progress"] = 1.0
    stats["stats_completed_at"] = call.stamp()
    # Delivery finishes within the request, so the campaign is completed, as Stream marks a
    # campaign once every message is sent.
    doc.update({"status": "completed", "updated_at": now})
    call.store.put(CAMPAIGNS, doc)


def _channel_for(
    call: Call,
    doc: Mapping[str, Any],
    template: Mapping[str, Any],
    channel_type: str,
    sender: Mapping[str, Any],
    receiver: Mapping[str, Any],
) -> tuple[dict[str, Any] | None, bool]:
    member_ids = [] if doc.get("sender_mode") == "exclude" else [sender["id"]]
    member_ids.append(receiver["id"])
    member_ids += [m for m in template.get("members") or [] if isinstance(m, str)]
    extra = records.member_requests(template.get("members_template"), "members_template")
    if template.get("id"):
        channel_id = _fill(str(template["id"]), sender, receiver)
    else:
        channel_id = records.distinct_id([sender["id"], receiver["id"]])
    existing = records.get_channel(call, f"{channel_type}:{channel_id}")
    if existing is not None:
        return existing, False
    if not doc.get("create_channels"):
        return None, False
    system = {"team": template["team"]} if template.get("team") else None
    channel = create_channel(
        call,
        channel_type,
        channel_id,
        creator=sender["id"],
        members=[{"user_id": uid} for uid in dict.fromkeys(member_ids)] + extra,
        system=system,
        custom=template.get("custom") or {},
    )
    return channel, True
