"""Refresh the wire facts in ``tool_specs/`` from Stream's official OpenAPI files.

    python scripts/import_openapi.py SERVER_SPEC [--client CLIENT_SPEC] [--curated FILE]

SERVER_SPEC is the server-side file (v2: ``openapi/v2/chat-serverside-api.json``; v1's
``openapi/chat-openapi.json`` works too). CLIENT_SPEC, the client-side file of the same
release, says which operations a user token may call, and adds the client-side operations the
server file lacks; without it, ``user_token`` comes from the shared operation list.

Only facts are taken: methods, paths, parameter and field names, types, enums, bounds and
required lists. Stream's text is dropped. Curated fields already in ``tool_specs`` (summary,
description, flags, actors, subjects, intents, brief) are kept, and ``--curated`` supplies
them for new operations (a YAML mapping of operation ids to curated fields, which wins over
``tool_specs``); a new operation without them lands in its group with empty curated fields,
and the catalog tests fail until someone writes them. Operations no longer in the spec are
dropped, with a warning.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stream_mcp.catalog._spec import CURATED_KEYS, RawSpec, collect_refs, load_openapi  # noqa: E402

SPEC_DIR = ROOT / "tool_specs"
SHARED_TSV = ROOT.parent / "shared" / "stream-chat-operations-v2.tsv"

# First matching rule wins: (regex on the path without its version prefix, group). v2 paths
# are v1's behind ``/api/v2`` (chat ones behind ``/api/v2/chat``), so one set of rules serves
# both; ``/api/v2/moderation`` is the moderation API.
GROUP_RULES: list[tuple[str, str]] = [
    (r"/(file|image)$|^/uploads", "files"),
    (r"^/campaigns|^/segments", "campaigns"),
    (r"^/polls|/polls/", "polls"),
    (r"^/moderation|^/query_banned_users|^/query_future_channel_bans|^/blocklists", "moderation"),
    (r"^/users/(block|unblock)$", "moderation"),
    (r"^/usergroups|^/users|^/guest|^/export/users", "users"),
    (r"/draft|^/drafts|reminders|^/threads", "messages"),
    (r"^/messages|/message$|/messages$|/pinned_messages$|^/search", "messages"),
    (r"^/channels|^/members|^/unread|^/export_channels|^/sync$", "channels"),
    (r"^/channeltypes|^/commands|^/devices|^/push|^/predefined_filters", "configuration"),
    (r"^/import|^/external_storage|^/tasks", "imports"),
    (r".*", "app"),
]
_VERSION_PREFIX = re.compile(r"^/api/v\d+(?:/chat)?(?=/)")

# Client-side operations that are not calls an agent makes: the realtime connection's
# long-poll fallback transport.
NOT_OPERATIONS = frozenset({"LongPoll"})


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
    # v1: a mute without a timeout is permanent; the SDKs omit it.
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


def resource(path: str) -> str:
    """The path without its version prefix: what the groups and the file order go by."""
    return _VERSION_PREFIX.sub("", path)


def group_of(path: str) -> str:
    path = resource(path)
    for pattern, group in GROUP_RULES:
        if re.search(pattern, path):
            return group
    return "app"


def add_client_side(spec: RawSpec, client: RawSpec) -> None:
    """Add the operations only the client-side file has, with the schemas they need.

    A schema both files define is kept as the server file has it (it may be larger: the
    server-side MessageRequest also names its user, for server-side auth).
    """
    wanted: set[str] = set()
    for op_id, op in client.operations.items():
        if op_id not in spec.operations and op_id not in NOT_OPERATIONS:
            spec.operations[op_id] = op
            collect_refs(op, wanted)
    done: set[str] = set()
    while wanted - done:
        name = (wanted - done).pop()
        done.add(name)
        if name not in spec.components:
            spec.components[name] = client.components[name]
        collect_refs(spec.components[name], wanted)


def _existing() -> dict[str, tuple[str, dict[str, Any]]]:
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted((SPEC_DIR / "operations").glob("*.yaml")):
        for op_id, op in (yaml.safe_load(path.read_text()) or {}).items():
            found[op_id] = (path.stem, op)
    return found


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _tsv_user_token(tsv: Path = SHARED_TSV) -> dict[str, bool]:
    """The shared operation list says which operations a user token may call."""
    if not tsv.is_file():
        return {}
    lines = [line for line in tsv.read_text().splitlines() if line.strip()]
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    op_id, user_token = header.index("operation_id"), header.index("user_token")
    return {row[op_id]: row[user_token].strip() == "yes" for row in rows}


def _entry(facts: dict[str, Any], curated: dict[str, Any]) -> dict[str, Any]:
    """An operation in our format: the spec's facts, then the curated fields in their order.

    Empty ``subjects`` and ``brief`` and a false ``unbounded`` are left out, as by hand.
    """
    entry: dict[str, Any] = {"method": facts["method"], "path": facts["path"]}
    for key in CURATED_KEYS:
        value = curated.get(key)
        if key in ("returns", "examples"):  # kept in their own files, returns.yaml, examples.yaml
            continue
        if key in ("subjects", "unbounded", "brief"):
            if value:
                entry[key] = value
        elif key in ("summary", "description"):
            entry[key] = value or ""
        elif key in ("actors", "intents"):
            entry[key] = value or []
        else:
            entry[key] = bool(value)
    for key in ("params", "body", "body_required", "content"):
        if key in facts and facts[key] != "json":
            entry[key] = facts[key]
    return entry


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", type=Path, help="the server-side OpenAPI file")
    parser.add_argument("--client", type=Path, help="the client-side OpenAPI file")
    parser.add_argument("--curated", type=Path, help="curated fields for new operations")
    args = parser.parse_args(argv)
    spec = load_openapi(args.spec)
    if args.client:
        client = load_openapi(args.client)
        add_client_side(spec, client)
        user_token = {op_id: op_id in client.operations for op_id in spec.operations}
    else:
        user_token = _tsv_user_token()
    existing = _existing()
    staged = yaml.safe_load(args.curated.read_text()) if args.curated else {}
    groups: dict[str, dict[str, Any]] = {}
    for op_id in sorted(spec.operations, key=lambda i: (resource(spec.operations[i]["path"]), i)):
        facts = spec.operations[op_id]
        group, curated = existing.get(op_id, (group_of(facts["path"]), {}))
        if op_id in staged:
            curated = staged[op_id]
        elif op_id not in existing and op_id in user_token:
            curated = {"user_token": user_token[op_id]}
        groups.setdefault(group, {})[op_id] = _entry(facts, curated)
    apply_corrections(spec.components)
    comps = dict(sorted(spec.components.items()))
    (SPEC_DIR / "operations").mkdir(parents=True, exist_ok=True)
    for path in (SPEC_DIR / "operations").glob("*.yaml"):
        if path.stem not in groups:
            path.unlink()
    for group, ops in groups.items():
        (SPEC_DIR / "operations" / f"{group}.yaml").write_text(_dump(ops))
    (SPEC_DIR / "components.yaml").write_text(_dump(comps))
    for op_id in sorted(set(existing) - set(spec.operations)):
        print(f"warning: {op_id} is no longer in the official spec: dropped", file=sys.stderr)
    print(f"{len(spec.operations)} operations in {len(groups)} groups; {len(comps)} schemas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
