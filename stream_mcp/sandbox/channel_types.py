"""Channel types and commands: CRUD over the configuration that channels of a type follow.

Built-in types (messaging, team, livestream, commerce, gaming) start from Stream's defaults
and can be updated but not deleted; new types start from ``messaging``'s grants. Commands are
Stream's built-in ones (giphy, ban, unban, mute, unmute) plus custom commands.
"""

from __future__ import annotations

import re
from typing import Any

from stream_mcp.sandbox import typeconfig
from stream_mcp.sandbox.blocklists import find_blocklist
from stream_mcp.sandbox.context import Call, opt_str
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import CHANNEL_TYPES, CHANNELS, COMMANDS

_NAME = re.compile(r"^[a-z0-9_\-]{1,64}$")


def _type_view(call: Call, doc: dict[str, Any], *, command_names: bool = False) -> dict[str, Any]:
    return typeconfig.render(call.store, doc, command_names=command_names)


def _apply(call: Call, doc: dict[str, Any], fields: dict[str, Any]) -> None:
    clean = typeconfig.validate(fields, allowed=typeconfig.SETTABLE, what="channel type")
    if "commands" in clean:
        clean["commands"] = typeconfig.check_commands(call.store, clean["commands"])
    if "grants" in clean:
        grants = dict(doc.get("grants") or {})
        grants.update({role: list(perms or []) for role, perms in clean["grants"].items()})
        clean["grants"] = grants
    doc.update(clean)


def list_channel_types(call: Call) -> dict[str, Any]:
    """ListChannelTypes (GET /channeltypes)."""
    types = typeconfig.all_types(call.store)
    return {"channel_types": {name: _type_view(call, doc) for name, doc in types.items()}}


def get_channel_type(call: Call) -> dict[str, Any]:
    """GetChannelType (GET /channeltypes/{name})."""
    return _type_view(call, typeconfig.require_type(call.store, call.path["name"]))


def create_channel_type(call: Call) -> dict[str, Any]:
    """CreateChannelType (POST /channeltypes)."""
    name = opt_str(call.body, "name")
    if not name or not _NAME.match(name):
        raise input_error("name is required: lowercase letters, digits, '_' and '-'", field="name")
    if typeconfig.get_type(call.store, name) is not None:
        raise input_error(f"channel type {name!r} already exists", field="name")
    doc = typeconfig.default_config(name)
    now = call.stamp()
    doc.update({"created_at": now, "updated_at": now, "commands": []})
    _apply(call, doc, {k: v for k, v in call.body.items() if k != "name"})
    call.store.put(CHANNEL_TYPES, doc)
    return _type_view(call, doc, command_names=True)


def update_channel_type(call: Call) -> dict[str, Any]:
    """UpdateChannelType (PUT /channeltypes/{name}): the fields sent replace the old ones."""
    doc = dict(typeconfig.require_type(call.store, call.path["name"]))
    fields = {k: v for k, v in call.body.items() if k != "name"}
    if fields.get("blocklist"):
        _require_blocklist(call, str(fields["blocklist"]))
    _apply(call, doc, fields)
    doc["updated_at"] = call.stamp()
    call.store.put(CHANNEL_TYPES, doc)
    return _type_view(call, doc, command_names=True)


def delete_channel_type(call: Call) -> dict[str, Any]:
    """DeleteChannelType: refused for built-in types and for types that still have channels."""
    name = call.path["name"]
    typeconfig.require_type(call.store, name)
    if name in typeconfig.BUILTIN_TYPES:
        raise input_error(f"channel type {name!r} is built in and cannot be deleted")
    if any(not c.get("deleted_at") for c in call.store.select(CHANNELS, type=name)):
        raise input_error(f"channel type {name!r} still has channels: delete them first")
    call.store.delete(CHANNEL_TYPES, name)
    return {}


def _require_blocklist(call: Call, name: str) -> None:
    if find_blocklist(call, name) is None:
        raise input_error(f"blocklist {name!r} does not exist", field="blocklist")


# -- commands ------------------------------------------------------------------------------


def _command_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: doc.get(k, "")
        for k in ("name", "description", "args", "set", "created_at", "updated_at")
    }


def _builtin_view(name: str) -> dict[str, Any]:
    return {"name": name, **typeconfig.BUILTIN_COMMANDS[name]}


def list_commands(call: Call) -> dict[str, Any]:
    """ListCommands (GET /commands): built-in and custom commands."""
    commands = [_builtin_view(n) for n in typeconfig.BUILTIN_COMMANDS]
    commands += [_command_view(d) for d in call.store.select(COMMANDS)]
    return {"commands": commands}


def create_command(call: Call) -> dict[str, Any]:
    """CreateCommand (POST /commands)."""
    name = opt_str(call.body, "name")
    description = opt_str(call.body, "description")
    if not name:
        raise input_error("name is a required field", field="name")
    if not description:
        raise input_error("description is a required field", field="description")
    if name in typeconfig.BUILTIN_COMMANDS or call.store.get(COMMANDS, name) is not None:
        raise input_error(f"command {name!r} already exists", field="name")
    now = call.stamp()
    doc = {
        "name": name,
        "description": description,
        "args": opt_str(call.body, "args") or "",
        "set": opt_str(call.body, "set") or "",
        "created_at": now,
        "updated_at": now,
    }
    call.store.put(COMMANDS, doc)
    return {"command": _command_view(doc)}


def _find_command(call: Call) -> dict[str, Any]:
    doc = call.store.get(COMMANDS, call.path["name"])
    if doc is None:
        raise not_found(f"command {call.path['name']!r} does not exist")
    return doc


def get_command(call: Call) -> dict[str, Any]:
    """GetCommand (GET /commands/{name}): the command's fields at the top level."""
    name = call.path["name"]
    if name in typeconfig.BUILTIN_COMMANDS:
        return _builtin_view(name)
    return _command_view(_find_command(call))


def update_command(call: Call) -> dict[str, Any]:
    """UpdateCommand (PUT /commands/{name})."""
    if call.path["name"] in typeconfig.BUILTIN_COMMANDS:
        raise input_error("built-in commands cannot be changed")
    doc = _find_command(call)
    for key in ("description", "args", "set"):
        value = opt_str(call.body, key)
        if value is not None:
            doc[key] = value
    doc["updated_at"] = call.stamp()
    call.store.put(COMMANDS, doc)
    return {"command": _command_view(doc)}


def delete_command(call: Call) -> dict[str, Any]:
    """DeleteCommand (DELETE /commands/{name}); it is also removed from channel types."""
    name = call.path["name"]
    if name in typeconfig.BUILTIN_COMMANDS:
        raise input_error("built-in commands cannot be deleted")
    _find_command(call)
    call.store.delete(COMMANDS, name)
    for doc in call.store.select(CHANNEL_TYPES):
        if name in (doc.get("commands") or []):
            doc["commands"] = [c for c in doc["commands"] if c != name]
            call.store.put(CHANNEL_TYPES, doc)
    return {"name": name}
