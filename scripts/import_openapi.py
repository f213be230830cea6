"""Refresh the wire facts in ``tool_specs/`` from Stream's official OpenAPI file.

    python scripts/import_openapi.py path/to/chat-openapi.json

Only facts are taken: methods, paths, parameter and field names, types, enums, bounds and
required lists. Stream's text is dropped. Curated fields already in ``tool_specs`` (summary,
description, flags, actors, intents, brief) are kept; a new operation lands in its group with
empty curated fields, and the catalog tests fail until someone writes them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stream_mcp.catalog._spec import CURATED_KEYS, load_openapi  # noqa: E402

SPEC_DIR = ROOT / "tool_specs"

# First matching rule wins: (regex on "METHOD path" or operation id, group).
GROUP_RULES: list[tuple[str, str]] = [
    (r"/(file|image)$|^/uploads", "files"),
    (r"^/campaigns|^/segments", "campaigns"),
    (r"^/polls|/polls/", "polls"),
    (r"^/moderation|^/query_banned_users|^/query_future_channel_bans|^/blocklists", "moderation"),
    (r"^/users/(block|unblock)$", "moderation"),
    (r"^/usergroups|^/users|^/guest|^/export/users", "users"),
    (r"/draft|^/drafts|reminders|^/threads", "messages"),
    (r"^/messages|/message$|/messages$|/pinned_messages$|^/search", "messages"),
    (r"^/channels|^/members|^/unread|^/export_channels", "channels"),
    (r"^/channeltypes|^/commands|^/devices|^/push|^/predefined_filters", "configuration"),
    (r"^/import|^/external_storage|^/tasks", "imports"),
    (r".*", "app"),
]


# Facts the official spec states too narrowly, learnt from what Stream's own SDKs send and
# Stream accepts. Each entry widens a schema; none narrows one.
_MEMBER = {"anyOf": [{"type": "string"}, {"$ref": "ChannelMemberRequest"}]}
ITEM_CORRECTIONS: dict[tuple[str, str], dict[str, Any]] = {
    # Members may be given as plain user ids as well as member objects.
    ("ChannelInput", "members"): _MEMBER,
    ("ChannelInput", "invites"): _MEMBER,
    ("ChannelInputRequest", "members"): _MEMBER,
    ("ChannelInputRequest", "invites"): _MEMBER,
    ("UpdateChannelRequest", "add_members"): _MEMBER,
    ("UpdateChannelRequest", "invites"): _MEMBER,
}
NOT_REQUIRED: dict[str, set[str]] = {
    # A mute without a timeout is permanent; the SDKs omit it.
    "MuteUserRequest": {"timeout"},
}


def apply_corrections(components: dict[str, Any]) -> None:
    for (schema, prop), items in ITEM_CORRECTIONS.items():
        if prop in components.get(schema, {}).get("properties", {}):
            components[schema]["properties"][prop]["items"] = items
    for schema, names in NOT_REQUIRED.items():
        if schema in components and "required" in components[schema]:
            required = [r for r in components[schema]["required"] if r not in names]
            if required:
                components[schema]["required"] = required
            else:
                del components[schema]["required"]


def group_of(path: str) -> str:
    for pattern, group in GROUP_RULES:
        if re.search(pattern, path):
            return group
    return "app"


def _existing() -> dict[str, tuple[str, dict[str, Any]]]:
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted((SPEC_DIR / "operations").glob("*.yaml")):
        for op_id, op in (yaml.safe_load(path.read_text()) or {}).items():
            found[op_id] = (path.stem, op)
    return found


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _tsv_user_token() -> dict[str, bool]:
    """The shared operation list says which operations a user token may call."""
    tsv = ROOT.parent / "shared" / "stream-chat-operations.tsv"
    if not tsv.is_file():
        return {}
    rows = [line.split("\t") for line in tsv.read_text().splitlines()[2:] if line.strip()]
    return {row[0]: row[3].strip() == "yes" for row in rows}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    spec = load_openapi(Path(argv[0]))
    existing = _existing()
    user_token = _tsv_user_token()
    groups: dict[str, dict[str, Any]] = {}
    for op_id in sorted(spec.operations, key=lambda i: (spec.operations[i]["path"], i)):
        facts = spec.operations[op_id]
        group, old = existing.get(op_id, (group_of(facts["path"]), {}))
        entry: dict[str, Any] = {"method": facts["method"], "path": facts["path"]}
        for key in CURATED_KEYS:
            entry[key] = old.get(key, "" if key in ("summary", "description") else None)
            if entry[key] is None:
                entry[key] = [] if key in ("actors", "intents", "brief") else False
        if op_id not in existing and op_id in user_token:
            entry["user_token"] = user_token[op_id]
        if not entry["brief"]:
            del entry["brief"]
        for key in ("params", "body", "body_required", "content"):
            if key in facts and facts[key] != "json":
                entry[key] = facts[key]
        groups.setdefault(group, {})[op_id] = entry
    (SPEC_DIR / "operations").mkdir(parents=True, exist_ok=True)
    for group, ops in groups.items():
        (SPEC_DIR / "operations" / f"{group}.yaml").write_text(_dump(ops))
    apply_corrections(spec.components)
    comps = dict(sorted(spec.components.items()))
    (SPEC_DIR / "components.yaml").write_text(_dump(comps))
    dropped = set(existing) - set(spec.operations)
    for op_id in sorted(dropped):
        print(f"warning: {op_id} is no longer in the official spec", file=sys.stderr)
    print(f"{len(spec.operations)} operations in {len(groups)} groups; {len(comps)} schemas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
