"""Write ``tool_specs/returns.yaml``: what each operation's answer looks like, from Stream's spec.

    python scripts/import_returns.py path/to/chat-serverside-api.json [path/to/client.json]

Only facts are taken (field names and shapes). For each operation: the answer's top-level
keys, and for the main objects and lists the few fields people project (``id``, ``text``,
``user.id``, ``created_at``…), written as ``messages[].{id,text,user.id,created_at}``, plus
one example ``select``. ``load_operation`` shows them, so an agent can write a projection
without first reading a whole answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tool_specs" / "returns.yaml"
SKIP = {"duration"}
# Fields worth showing, in the order an agent reaches for them.
PRIORITY = (
    "id",
    "cid",
    "type",
    "name",
    "text",
    "user_id",
    "user.id",
    "role",
    "status",
    "reason",
    "created_at",
    "member_count",
    "reply_count",
    "task_id",
    "url",
    "file",
)
MAX_ENTRIES = 5
# Keys an agent reads first, in this order; the rest follow (required ones first).
FIRST = (
    "channel",
    "message",
    "user",
    "campaign",
    "poll",
    "thread",
    "task_id",
    "channels",
    "messages",
    "members",
    "users",
    "results",
    "reactions",
    "threads",
    "bans",
    "flags",
    "items",
)
MAX_FIELDS = 4


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 10:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        seen += 1
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            return _resolve(spec, schema[key][0])
    return schema


def _fields(spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    props = _resolve(spec, schema).get("properties", {})
    out: list[str] = []
    # A message-like record repeats its channel's cid and type; its text and author matter.
    redundant = {"cid", "type"} if "text" in props else set()
    for name in PRIORITY:
        if name in redundant:
            continue
        head, _, tail = name.partition(".")
        if head not in props:
            continue
        if tail:
            inner = _resolve(spec, props[head]).get("properties", {})
            if tail not in inner:
                continue
        out.append(name)
        if len(out) == MAX_FIELDS:
            break
    return out


def _rank(key: str) -> int:
    return FIRST.index(key) if key in FIRST else len(FIRST)


def outline(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(spec, response)
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    keys = [k for k in props if k not in SKIP]
    keys.sort(key=lambda k: (_rank(k), k not in required, k))
    paths: list[str] = []
    example = ""
    for key in keys:
        sub = _resolve(spec, props[key])
        if sub.get("type") == "array":
            fields = _fields(spec, sub.get("items", {}))
            if fields:
                paths.append(f"{key}[].{{{','.join(fields)}}}")
                if not example:
                    pairs = ", ".join(f"{f.split('.')[0]}: {f}" for f in fields[:2])
                    example = f"{key}[].{{{pairs}}}"
        elif sub.get("type") == "object" or "properties" in sub:
            fields = _fields(spec, sub)
            if fields:
                paths.append(f"{key}.{{{','.join(fields)}}}")
                if not example:
                    example = f"{key}.{fields[0]}"
        if len(paths) == MAX_ENTRIES:
            break
    if not example and keys:
        example = keys[0]
    return {"keys": keys, "paths": paths, "example_select": example}


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    entries: dict[str, Any] = {}
    for path in argv:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        for methods in spec.get("paths", {}).values():
            for op in methods.values():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                responses = op.get("responses", {})
                ok = next((responses[c] for c in ("200", "201") if c in responses), None)
                schema = (ok or {}).get("content", {}).get("application/json", {}).get("schema")
                if schema and op["operationId"] not in entries:
                    entries[op["operationId"]] = outline(spec, schema)
    known = {p.stem for p in (ROOT / "tool_specs" / "operations").glob("*.yaml")}
    ops: set[str] = set()
    for name in known:
        ops |= set(
            yaml.safe_load((ROOT / "tool_specs" / "operations" / f"{name}.yaml").read_text())
        )
    kept = {op: entries[op] for op in sorted(entries) if op in ops}
    header = (
        "# What each operation answers (facts from Stream's spec; scripts/import_returns.py).\n"
    )
    OUT.write_text(header + yaml.safe_dump(kept, sort_keys=True, width=100), encoding="utf-8")
    print(f"wrote {len(kept)} outlines to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
