"""Channel type configuration: Stream's defaults, stored changes and per-channel overrides.

A channel's effective configuration is its type's (built-in defaults until UpdateChannelType
changes them, or a type made with CreateChannelType) with the channel's
``config_overrides`` on top. Handlers read it to decide what takes effect: message length,
commands, blocklists, search, replies, reactions, uploads, reminders, polls and shared
locations.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.grants import DEFAULT_GRANTS
from stream_mcp.sandbox.store import CHANNEL_TYPES, COMMANDS, Store

BUILTIN_TYPES = ("commerce", "gaming", "livestream", "messaging", "team")
CONFIG_CREATED = "2020-01-01T00:00:00.000000Z"

# Stream's built-in commands (wording from Stream's documented channel configs).
BUILTIN_COMMANDS: dict[str, dict[str, str]] = {
    "giphy": {
        "description": "Post a random gif to the channel",
        "args": "[text]",
        "set": "fun_set",
    },
    "ban": {"description": "Ban a user", "args": "[@username] [text]", "set": "moderation_set"},
    "unban": {"description": "Unban a user", "args": "[@username]", "set": "moderation_set"},
    "mute": {"description": "Mute a user", "args": "[@username]", "set": "moderation_set"},
    "unmute": {"description": "Unmute a user", "args": "[@username]", "set": "moderation_set"},
}

BOOL_FEATURES = (
    "typing_events",
    "read_events",
    "connect_events",
    "custom_events",
    "delivery_events",
    "search",
    "reactions",
    "replies",
    "quotes",
    "mutes",
    "uploads",
    "url_enrichment",
    "push_notifications",
    "reminders",
    "user_message_reminders",
    "polls",
    "shared_locations",
    "count_messages",
    "mark_messages_pending",
    "skip_last_msg_update_for_system_msgs",
)
BEHAVIORS = ("flag", "block", "shadow_block")
AUTOMOD = ("disabled", "simple", "AI")
# What ``config_overrides`` may change on one channel (Stream's ChannelConfigOverrides).
OVERRIDABLE = frozenset(
    {
        "blocklist",
        "blocklist_behavior",
        "chat_preferences",
        "commands",
        "count_messages",
        "grants",
        "max_message_length",
        "push_level",
        "quotes",
        "reactions",
        "replies",
        "shared_locations",
        "typing_events",
        "uploads",
        "url_enrichment",
        "user_message_reminders",
    }
)
SETTABLE = frozenset(
    {
        *BOOL_FEATURES,
        "max_message_length",
        "message_retention",
        "automod",
        "automod_behavior",
        "automod_thresholds",
        "blocklist",
        "blocklist_behavior",
        "blocklists",
        "commands",
        "grants",
        "permissions",
        "allowed_flag_reasons",
        "push_level",
        "partition_size",
        "partition_ttl",
        "chat_preferences",
    }
)

# How each built-in type differs from the common defaults (Stream's documented defaults; the
# command lists of commerce, gaming and livestream are the sandbox's choice).
_TYPE_FEATURES: dict[str, dict[str, Any]] = {
    "messaging": {"commands": ["giphy", "mute", "unmute", "ban", "unban"]},
    "team": {"commands": ["giphy", "mute", "unmute", "ban", "unban"]},
    "commerce": {"typing_events": False},
    "gaming": {"typing_events": False},
    "livestream": {"typing_events": False, "read_events": False, "url_enrichment": False},
}


def default_config(name: str) -> dict[str, Any]:
    """A type's stored shape with Stream's defaults; new types get ``messaging``'s grants."""
    grant_scope = name if name in DEFAULT_GRANTS else "messaging"
    config: dict[str, Any] = {
        "name": name,
        "created_at": CONFIG_CREATED,
        "updated_at": CONFIG_CREATED,
        **{feature: True for feature in BOOL_FEATURES},
        "delivery_events": False,
        "reminders": False,
        "user_message_reminders": False,
        "polls": False,
        "shared_locations": False,
        "count_messages": False,
        "mark_messages_pending": False,
        "skip_last_msg_update_for_system_msgs": False,
        "message_retention": "infinite",
        "max_message_length": 5000,
        "automod": "disabled",
        "automod_behavior": "flag",
        "blocklist_behavior": "flag",
        "commands": [],
        "permissions": [],
        "grants": {role: list(perms) for role, perms in DEFAULT_GRANTS[grant_scope].items()},
    }
    config.update(copy.deepcopy(_TYPE_FEATURES.get(name, {})))
    return config


def get_type(store: Store, name: str) -> dict[str, Any] | None:
    """The stored type, or a built-in type's defaults; ``None`` when it does not exist."""
    doc = store.get(CHANNEL_TYPES, name)
    if doc is not None:
        return None if doc.get("deleted") else doc
    if name in BUILTIN_TYPES:
        return default_config(name)
    return None


def require_type(store: Store, name: str) -> dict[str, Any]:
    doc = get_type(store, name)
    if doc is None:
        raise not_found(f"channel type {name!r} does not exist")
    return doc


def all_types(store: Store) -> dict[str, dict[str, Any]]:
    found = {name: default_config(name) for name in BUILTIN_TYPES}
    for doc in store.select(CHANNEL_TYPES):
        if doc.get("deleted"):
            found.pop(doc["name"], None)
        else:
            found[doc["name"]] = doc
    return dict(sorted(found.items()))


def effective(store: Store, channel: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration that applies to ``channel``: its type's plus its overrides."""
    config = dict(get_type(store, channel["type"]) or default_config(channel["type"]))
    config.update(channel.get("config_overrides") or {})
    return config


def command_objects(store: Store, names: list[str]) -> list[dict[str, Any]]:
    """Command names expanded to Stream's Command objects (unknown names are skipped)."""
    result = []
    for name in names:
        stored = store.get(COMMANDS, name)
        if stored is not None:
            result.append({k: stored[k] for k in ("name", "description", "args", "set")})
        elif name in BUILTIN_COMMANDS:
            result.append({"name": name, **BUILTIN_COMMANDS[name]})
    return result


def render(
    store: Store, config: Mapping[str, Any], *, command_names: bool = False
) -> dict[str, Any]:
    """A configuration as Stream returns it: commands as objects unless ``command_names``."""
    out = {k: copy.deepcopy(v) for k, v in config.items() if k != "deleted"}
    names = list(config.get("commands") or [])
    out["commands"] = names if command_names else command_objects(store, names)
    return out


def validate(fields: Mapping[str, Any], *, allowed: frozenset[str], what: str) -> dict[str, Any]:
    """Check configuration fields the way Stream does; unknown fields are input errors."""
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in allowed:
            raise input_error(f"{what}: {key} is not a configuration field", field=key)
        if key in BOOL_FEATURES:
            if not isinstance(value, bool):
                raise input_error(f"{what}: {key} must be a boolean", field=key)
        elif key == "max_message_length":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20000:
                raise input_error(
                    f"{what}: max_message_length must be an integer from 1 to 20000", field=key
                )
        elif key in ("blocklist_behavior", "automod_behavior"):
            if value not in BEHAVIORS:
                raise input_error(f"{what}: {key} must be one of {list(BEHAVIORS)}", field=key)
        elif key == "automod":
            if value not in AUTOMOD:
                raise input_error(f"{what}: automod must be one of {list(AUTOMOD)}", field=key)
        elif key == "commands":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise input_error(f"{what}: commands must be a list of names", field=key)
        elif key == "blocklists":
            if not isinstance(value, list) or not all(
                isinstance(b, Mapping) and isinstance(b.get("blocklist"), str) for b in value
            ):
                raise input_error(
                    f"{what}: blocklists must be a list of {{blocklist, behavior}}", field=key
                )
        elif key == "grants":
            if not isinstance(value, Mapping):
                raise input_error(f"{what}: grants must map roles to permission lists", field=key)
        elif key == "blocklist" and value is not None and not isinstance(value, str):
            raise input_error(f"{what}: blocklist must be a blocklist name", field=key)
        clean[key] = value
    return clean


def check_commands(store: Store, names: list[str]) -> list[str]:
    """Expand ``all`` and refuse unknown command names."""
    if names == ["all"]:
        return list(BUILTIN_COMMANDS) + [c["name"] for c in store.select(COMMANDS)]
    for name in names:
        if name not in BUILTIN_COMMANDS and store.get(COMMANDS, name) is None:
            raise input_error(f"command {name!r} does not exist", field="commands")
    return list(dict.fromkeys(names))
