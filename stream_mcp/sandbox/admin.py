"""App administration data: roles, permissions, segments and push providers.

Roles and permissions are Stream's built-in ones plus custom ones (custom permissions are
stored and listed, not enforced: the sandbox's checks follow the built-in grants). Segments
are stored with their targets; campaigns still target ``user_ids``. Push providers are stored
(secrets are never returned) but nothing is pushed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import paging, records
from stream_mcp.sandbox.context import Call, obj, opt_bool, opt_str, str_list
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.filters import matches, parse_sort, sort_docs
from stream_mcp.sandbox.grants import DEFAULT_GRANTS
from stream_mcp.sandbox.store import (
    PERMISSIONS,
    PUSH_PROVIDERS,
    ROLES,
    SEGMENT_TARGETS,
    SEGMENTS,
    USERS,
)
from stream_mcp.sandbox.typeconfig import CONFIG_CREATED

BUILTIN_ROLES = (
    "admin",
    "anonymous",
    "channel_member",
    "channel_moderator",
    "guest",
    "moderator",
    "user",
)
_NAME = re.compile(r"^[a-z0-9_\-]{1,64}$")


# -- roles ---------------------------------------------------------------------------------


def _scopes(role: str) -> list[str]:
    return sorted(scope for scope, roles in DEFAULT_GRANTS.items() if role in roles)


def list_roles(call: Call) -> dict[str, Any]:
    """ListRoles (GET /roles)."""
    roles = [
        {
            "name": r,
            "custom": False,
            "scopes": _scopes(r),
            "created_at": CONFIG_CREATED,
            "updated_at": CONFIG_CREATED,
        }
        for r in BUILTIN_ROLES
    ]
    roles += [{**d, "scopes": []} for d in call.store.select(ROLES)]
    return {"roles": roles}


def create_role(call: Call) -> dict[str, Any]:
    """CreateRole (POST /roles)."""
    name = opt_str(call.body, "name")
    if not name or not _NAME.match(name):
        raise input_error("name is required: lowercase letters, digits, '_' and '-'", field="name")
    if name in BUILTIN_ROLES or call.store.get(ROLES, name) is not None:
        raise input_error(f"role {name!r} already exists", field="name")
    now = call.stamp()
    doc = {"name": name, "custom": True, "created_at": now, "updated_at": now}
    call.store.put(ROLES, doc)
    return {"role": {**doc, "scopes": []}}


def delete_role(call: Call) -> dict[str, Any]:
    """DeleteRole (DELETE /roles/{name}): refused while users still have it."""
    name = call.path["name"]
    if name in BUILTIN_ROLES:
        raise input_error(f"role {name!r} is built in and cannot be deleted")
    if call.store.get(ROLES, name) is None:
        raise not_found(f"role {name!r} does not exist")
    if any(u.get("role") == name for u in call.store.select(USERS)):
        raise input_error(f"role {name!r} is still assigned to users")
    call.store.delete(ROLES, name)
    return {}


# -- permissions ---------------------------------------------------------------------------


def _builtin_permissions() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for scope, roles in DEFAULT_GRANTS.items():
        for perms in roles.values():
            for pid in perms:
                owner = pid.endswith("-owner")
                found.setdefault(
                    pid,
                    {
                        "id": pid,
                        "name": pid.replace("-", " ").capitalize(),
                        "action": "".join(
                            p.capitalize() for p in pid.removesuffix("-owner").split("-")
                        ),
                        "description": "",
                        "custom": False,
                        "owner": owner,
                        "same_team": False,
                        "level": "app" if scope == ".app" else "channel",
                        "owner_resource": "",
                        "tags": [],
                    },
                )
    return found


def list_permissions(call: Call) -> dict[str, Any]:
    """ListPermissions (GET /permissions): built-in and custom permissions."""
    builtin = list(_builtin_permissions().values())
    return {"permissions": builtin + call.store.select(PERMISSIONS)}


def get_permission(call: Call) -> dict[str, Any]:
    """GetPermission (GET /permissions/{id})."""
    pid = call.path["id"]
    doc = call.store.get(PERMISSIONS, pid) or _builtin_permissions().get(pid)
    if doc is None:
        raise not_found(f"permission {pid!r} does not exist")
    return {"permission": doc}


def _permission_fields(call: Call, body: Mapping[str, Any], pid: str) -> dict[str, Any]:
    action = opt_str(body, "action")
    if not action:
        raise input_error("action is a required field", field="action")
    condition = body.get("condition")
    if condition is not None and not isinstance(condition, Mapping):
        raise input_error("condition must be an object", field="condition")
    return {
        "id": pid,
        "name": opt_str(body, "name") or pid,
        "action": action,
        "description": opt_str(body, "description") or "",
        "custom": True,
        "owner": bool(opt_bool(body, "owner")),
        "same_team": bool(opt_bool(body, "same_team")),
        "level": opt_str(body, "level") or "channel",
        "owner_resource": "",
        "tags": str_list(body, "tags"),
        "condition": dict(condition or {}),
    }


def create_permission(call: Call) -> dict[str, Any]:
    """CreatePermission (POST /permissions): stored, listed, not enforced."""
    pid = opt_str(call.body, "id")
    if not pid or not _NAME.match(pid):
        raise input_error("id is required: lowercase letters, digits, '_' and '-'", field="id")
    if call.store.get(PERMISSIONS, pid) is not None or pid in _builtin_permissions():
        raise input_error(f"permission {pid!r} already exists", field="id")
    call.store.put(PERMISSIONS, _permission_fields(call, call.body, pid))
    return {}


def update_permission(call: Call) -> dict[str, Any]:
    """UpdatePermission (PUT /permissions/{id}): custom permissions only."""
    pid = call.path["id"]
    if call.store.get(PERMISSIONS, pid) is None:
        raise not_found(f"custom permission {pid!r} does not exist")
    call.store.put(PERMISSIONS, _permission_fields(call, call.body, pid))
    return {}


def delete_permission(call: Call) -> dict[str, Any]:
    """DeletePermission (DELETE /permissions/{id}): custom permissions only."""
    if not call.store.delete(PERMISSIONS, call.path["id"]):
        raise not_found(f"custom permission {call.path['id']!r} does not exist")
    return {}


# -- segments ------------------------------------------------------------------------------


def _segment(call: Call) -> dict[str, Any]:
    doc = call.store.get(SEGMENTS, call.path["id"])
    if doc is None or doc.get("deleted_at"):
        raise not_found(f"segment {call.path['id']} does not exist")
    return doc


def _segment_view(call: Call, doc: Mapping[str, Any]) -> dict[str, Any]:
    size = call.store.count(SEGMENT_TARGETS, segment_id=doc["id"])
    return {**doc, "size": size}


def create_segment(call: Call) -> dict[str, Any]:
    """CreateSegment (POST /segments): a user or channel segment."""
    kind = opt_str(call.body, "type")
    if kind not in ("user", "channel"):
        raise input_error("type must be user or channel", field="type")
    segment_id = opt_str(call.body, "id") or records.new_id()
    if call.store.get(SEGMENTS, segment_id) is not None:
        raise input_error(f"segment {segment_id} already exists", field="id")
    now = call.stamp()
    doc = {
        "id": segment_id,
        "type": kind,
        "name": opt_str(call.body, "name") or "",
        "description": opt_str(call.body, "description") or "",
        "filter": dict(obj(call.body, "filter")),
        "all_users": bool(opt_bool(call.body, "all_users")),
        "all_sender_channels": bool(opt_bool(call.body, "all_sender_channels")),
        "created_at": now,
        "updated_at": now,
    }
    call.store.put(SEGMENTS, doc)
    return {"segment": _segment_view(call, doc)}


def get_segment(call: Call) -> dict[str, Any]:
    """GetSegment (GET /segments/{id})."""
    return {"segment": _segment_view(call, _segment(call))}


def update_segment(call: Call) -> dict[str, Any]:
    """UpdateSegment (PUT /segments/{id}): name, description, filter, all_* switches."""
    doc = _segment(call)
    for key in ("name", "description"):
        if key in call.body:
            doc[key] = opt_str(call.body, key) or ""
    if "filter" in call.body:
        doc["filter"] = dict(obj(call.body, "filter"))
    for key in ("all_users", "all_sender_channels"):
        if key in call.body:
            doc[key] = bool(opt_bool(call.body, key))
    doc["updated_at"] = call.stamp()
    call.store.put(SEGMENTS, doc)
    return {"segment": _segment_view(call, doc)}


def delete_segment(call: Call) -> dict[str, Any]:
    """DeleteSegment (DELETE /segments/{id})."""
    doc = _segment(call)
    call.store.delete_where(SEGMENT_TARGETS, segment_id=doc["id"])
    call.store.delete(SEGMENTS, doc["id"])
    return {}


def query_segments(call: Call) -> dict[str, Any]:
    """QuerySegments (POST /segments/query)."""
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("created_at", -1)])
    docs = [_segment_view(call, d) for d in call.store.select(SEGMENTS)]
    found = sort_docs([d for d in docs if matches(d, conditions)], sort)
    chunk, cursors = paging.page(found, call.body, default_limit=10, max_limit=1000)
    return {"segments": chunk, **cursors}


def _target_ids(call: Call) -> list[str]:
    ids = str_list(call.body, "target_ids")
    if not ids:
        raise input_error("target_ids is a required field", field="target_ids")
    return list(dict.fromkeys(ids))


def add_segment_targets(call: Call) -> dict[str, Any]:
    """AddSegmentTargets (POST /segments/{id}/addtargets)."""
    doc = _segment(call)
    now = call.stamp()
    for target in _target_ids(call):
        call.store.put(
            SEGMENT_TARGETS,
            {"segment_id": doc["id"], "target_id": target, "created_at": now},
        )
    return {}


def delete_segment_targets(call: Call) -> dict[str, Any]:
    """DeleteSegmentTargets (POST /segments/{id}/deletetargets)."""
    doc = _segment(call)
    for target in _target_ids(call):
        call.store.delete(SEGMENT_TARGETS, doc["id"], target)
    return {}


def segment_target_exists(call: Call) -> dict[str, Any]:
    """SegmentTargetExists (GET /segments/{id}/target/{target_id}): 404 when absent."""
    doc = _segment(call)
    if call.store.get(SEGMENT_TARGETS, doc["id"], call.path["target_id"]) is None:
        raise not_found(f"target {call.path['target_id']} is not in segment {doc['id']}")
    return {}


def query_segment_targets(call: Call) -> dict[str, Any]:
    """QuerySegmentTargets (POST /segments/{id}/targets/query): sorted by target id."""
    doc = _segment(call)
    conditions = obj(call.body, "filter")
    sort = parse_sort(call.body.get("sort"), default=[("target_id", 1)])
    targets = [
        t
        for t in call.store.select(SEGMENT_TARGETS, segment_id=doc["id"])
        if matches(t, conditions)
    ]
    chunk, cursors = paging.page(
        sort_docs(targets, sort), call.body, default_limit=100, max_limit=10000
    )
    return {"targets": chunk, **cursors}


# -- push providers ------------------------------------------------------------------------

_PROVIDER_TYPES = ("apn", "firebase", "huawei", "xiaomi")
_PROVIDER_SECRETS = frozenset(
    {
        "apn_auth_key",
        "apn_p12_cert",
        "firebase_credentials",
        "firebase_server_key",
        "huawei_secret",
        "xiaomi_secret",
        "apn_key_id",
    }
)


def _provider_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "key" and k not in _PROVIDER_SECRETS}


def list_push_providers(call: Call) -> dict[str, Any]:
    """ListPushProviders (GET /push_providers)."""
    return {"push_providers": [_provider_view(d) for d in call.store.select(PUSH_PROVIDERS)]}


def upsert_push_provider(call: Call) -> dict[str, Any]:
    """UpsertPushProvider (POST /push_providers): stored; nothing is ever pushed."""
    provider = obj(call.body, "push_provider", required=True)
    kind = provider.get("type")
    name = provider.get("name")
    if kind not in _PROVIDER_TYPES:
        raise input_error(f"push_provider.type must be one of {list(_PROVIDER_TYPES)}")
    if not isinstance(name, str) or not name:
        raise input_error("push_provider.name is a required field")
    existing = call.store.get(PUSH_PROVIDERS, f"{kind}/{name}")
    now = call.stamp()
    doc = {
        **dict(provider),
        "key": f"{kind}/{name}",
        "created_at": existing["created_at"] if existing else now,
        "updated_at": now,
    }
    call.store.put(PUSH_PROVIDERS, doc)
    return {"push_provider": _provider_view(doc)}


def delete_push_provider(call: Call) -> dict[str, Any]:
    """DeletePushProvider (DELETE /push_providers/{type}/{name})."""
    if not call.store.delete(PUSH_PROVIDERS, f"{call.path['type']}/{call.path['name']}"):
        raise not_found(f"push provider {call.path['type']}/{call.path['name']} does not exist")
    return {}
