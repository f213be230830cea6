"""Every brief schema holds what its operation's main purpose needs.

Required fields and path parameters are always there; the curated brief fields are there;
and for the operations below, the fields their purpose hinges on (found missing by reading
each brief against its summary) are there too.
"""

from __future__ import annotations

from typing import Any

import pytest

from stream_mcp.catalog.schemas import compile_input
from tests.factories import shipped_catalog

CATALOG = shipped_catalog()
# Fields an operation is for, beyond its required ones.
PURPOSE: dict[str, tuple[str, ...]] = {
    "UpdateUsersPartial": ("users.id", "users.set", "users.unset"),
    "UpdateChannelType": ("blocklist", "blocklist_behavior", "commands", "max_message_length"),
    "SendMessage": ("message.text", "message.custom", "message.parent_id"),
    "UpdateChannelPartial": ("set", "unset"),
    "UpdateMessagePartial": ("set", "unset"),
    "UpdateMemberPartial": ("set", "unset"),
    "QueryChannels": ("filter_conditions", "sort", "limit"),
    "QueryUsers": ("filter_conditions", "limit"),
    "ban": ("target_user_id", "timeout", "reason"),
    "mute": ("target_ids", "timeout"),
    "flag": ("entity_type", "entity_id", "reason"),
    "CreateBlockList": ("name", "words"),
    "TruncateChannel": ("hard_delete",),
}


def _paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    target = schema.get("items", schema) if schema.get("type") == "array" else schema
    for name, sub in (target.get("properties") or {}).items():
        path = f"{prefix}{name}"
        found.add(path)
        if isinstance(sub, dict):
            found |= _paths(sub, path + ".")
    return found


@pytest.mark.parametrize("op", list(CATALOG), ids=lambda op: op.operation_id)
def test_brief_keeps_required_curated_and_purpose_fields(op: Any) -> None:
    brief = compile_input(CATALOG, op, "brief").schema
    full = compile_input(CATALOG, op, "full").schema
    shown = _paths(brief)
    missing = [name for name in full.get("required", []) if name not in shown]
    missing += [p for p in op.brief if p in _paths(full) and p not in shown]
    missing += [p for p in PURPOSE.get(op.operation_id, ()) if p not in shown]
    assert missing == [], f"{op.operation_id} brief hides {missing}"


def test_the_purpose_table_names_real_fields() -> None:
    for op_id, fields in PURPOSE.items():
        full = _paths(compile_input(CATALOG, CATALOG.get(op_id), "full").schema)
        assert set(fields) <= full, (op_id, set(fields) - full)
