"""Blocklists: create, list, get, update and delete.

Channel types (or a channel's ``config_overrides``) attach blocklists by name with a behaviour;
:mod:`stream_mcp.sandbox.content` applies them when messages are sent or updated. Writing
blocklists with a user token needs the ``admin`` role. Deleting a blocklist removes it from
the channel types that used it, as Stream does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import permissions
from stream_mcp.sandbox.context import Call, opt_bool, opt_str
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import BLOCKLISTS, CHANNEL_TYPES

_NAME = re.compile(r"^[\w\-]{1,255}$")
_TYPES = ("word", "regex", "domain", "domain_allowlist", "email")
_FLAGS = (
    "is_confusable_folding_enabled",
    "is_leet_check_enabled",
    "is_plural_check_enabled",
    "is_substring_matching_enabled",
)


def _view(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "key"}
    for flag in _FLAGS:
        out.setdefault(flag, False)
    return out


def _words(value: Any, kind: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
        raise input_error("words must be a list of non-empty strings", field="words")
    if kind == "regex":
        for word in value:
            try:
                re.compile(word)
            except re.error as exc:
                raise input_error(f"regex {word!r} is not valid: {exc}", field="words") from None
    return list(value)


def _key(name: str, team: str | None) -> str:
    return f"{team}/{name}" if team else name


def _require_admin(call: Call, action: str) -> None:
    if not permissions.is_privileged(call):
        raise permissions.deny(call, action, "app")


# Stream's built-in list, present in every app. Its words are not published, so the sandbox's
# copy is empty: attaching it to a channel type blocks nothing.
BUILTIN = "profanity_en_2020_v1"


def _builtin_doc() -> dict[str, Any]:
    return {
        "key": BUILTIN,
        "name": BUILTIN,
        "type": "word",
        "words": [],
        "created_at": "2020-01-01T00:00:00.000000Z",
        "updated_at": "2020-01-01T00:00:00.000000Z",
    }


def find_blocklist(call: Call, name: str, team: str | None = None) -> dict[str, Any] | None:
    if name == BUILTIN and not team:
        return _builtin_doc()
    return call.store.get(BLOCKLISTS, _key(name, team))


def _find(call: Call, name: str) -> dict[str, Any]:
    doc = find_blocklist(call, name, call.query_str("team"))
    if doc is None:
        raise not_found(f"blocklist {name!r} does not exist")
    return doc


def list_blocklists(call: Call) -> dict[str, Any]:
    """ListBlockLists (GET /blocklists[?team=])."""
    team = call.query_str("team")
    docs = [
        d
        for d in call.store.select(BLOCKLISTS, order_by="created_at")
        if team is None or d.get("team") == team
    ]
    if team is None:
        docs.insert(0, _builtin_doc())
    return {"blocklists": [_view(d) for d in docs]}


def create_blocklist(call: Call) -> dict[str, Any]:
    """CreateBlockList (POST /blocklists)."""
    _require_admin(call, "CreateBlockList")
    body = call.body
    name = opt_str(body, "name")
    if not name or not _NAME.match(name):
        raise input_error("name is required: letters, digits, '_' and '-'", field="name")
    kind = opt_str(body, "type") or "word"
    if kind not in _TYPES:
        raise input_error(f"type must be one of {list(_TYPES)}", field="type")
    words = _words(body.get("words"), kind)
    team = opt_str(body, "team")
    key = _key(name, team)
    if call.store.get(BLOCKLISTS, key) is not None or (name == BUILTIN and not team):
        raise input_error(f"blocklist {name!r} already exists", field="name")
    now = call.stamp()
    doc: dict[str, Any] = {
        "key": key,
        "name": name,
        "id": name,
        "type": kind,
        "words": words,
        "created_at": now,
        "updated_at": now,
    }
    for flag in _FLAGS:
        doc[flag] = bool(opt_bool(body, flag))
    if team:
        doc["team"] = team
    if call.user_id:
        doc["owner_user_id"] = call.user_id
    call.store.put(BLOCKLISTS, doc)
    return {"blocklist": _view(doc)}


def get_blocklist(call: Call) -> dict[str, Any]:
    """GetBlockList (GET /blocklists/{name}); server-side only, like Stream."""
    name = call.path["name"]
    return {"blocklist": _view(_find(call, name))}


def update_blocklist(call: Call) -> dict[str, Any]:
    """UpdateBlockList (PUT /blocklists/{name}): words replace the old list."""
    _require_admin(call, "UpdateBlockList")
    name = call.path["name"]
    body = call.body
    team = opt_str(body, "team") or call.query_str("team")
    if name == BUILTIN and not team:
        raise input_error(f"{BUILTIN} is built in and cannot be changed")
    doc = call.store.get(BLOCKLISTS, _key(name, team))
    if doc is None:
        raise not_found(f"blocklist {name!r} does not exist")
    if body.get("words") is not None:
        doc["words"] = _words(body["words"], doc["type"])
    for flag in _FLAGS:
        value = opt_bool(body, flag)
        if value is not None:
            doc[flag] = value
    doc["updated_at"] = call.stamp()
    call.store.put(BLOCKLISTS, doc)
    return {"blocklist": _view(doc)}


def delete_blocklist(call: Call) -> dict[str, Any]:
    """DeleteBlockList (DELETE /blocklists/{name})."""
    _require_admin(call, "DeleteBlockList")
    name = call.path["name"]
    if name == BUILTIN and not call.query_str("team"):
        raise input_error(f"{BUILTIN} is built in and cannot be deleted")
    doc = _find(call, name)
    call.store.delete(BLOCKLISTS, doc["key"])
    for channel_type in call.store.select(CHANNEL_TYPES):
        changed = False
        if channel_type.get("blocklist") == name:
            channel_type.pop("blocklist", None)
            changed = True
        kept = [b for b in channel_type.get("blocklists") or [] if b.get("blocklist") != name]
        if kept != (channel_type.get("blocklists") or []):
            channel_type["blocklists"] = kept
            changed = True
        if changed:
            call.store.put(CHANNEL_TYPES, channel_type)
    return {}
