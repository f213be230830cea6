"""The risk model (issue #14): docs/RISK.md's tables and the catalog's flags agree, op by op.

The confirmed table in docs/RISK.md is the single source of truth for which operations need
a person's confirmation; this test parses it, so the doc and the catalog cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from stream_mcp.catalog._build import SPEC_DIR
from stream_mcp.server._server import annotations_for
from stream_mcp.service import _CONFIRM_ONLY_IF_EXISTING
from tests.factories import shipped_catalog

# The loader the product reads tool_specs with (libyaml's, parsing as SafeLoader does).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RISK_DOC = Path(__file__).resolve().parents[1] / "docs" / "RISK.md"
CATEGORIES = {"loss", "outward", "conditional"}
KINDS = {"undo", "own-state", "partial", "brake", "personal", "create"}
# Undoing your own action or changing your own state: the only DELETE calls left unconfirmed.
DELETE_EXCEPTION_KINDS = {"undo", "own-state"}
# Verbs that create or read: never destructive (PascalCase and the moderation snake_case ids).
SAFE_VERBS = re.compile(r"^(GetOrCreate|Create|Get|List|Query)[A-Z]|^(create|get|list|query)_")

CATALOG = shipped_catalog()
OPS = sorted(op.operation_id for op in CATALOG)


def _table(section: str) -> dict[str, tuple[str, str]]:
    """Rows of the first table under ``## {section}``: operation → (second column, reason)."""
    text = RISK_DOC.read_text()
    match = re.search(rf"^## {re.escape(section)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/RISK.md has no '## {section}' section"
    rows: dict[str, tuple[str, str]] = {}
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 3 or cells[0] in ("Operation", ""):
            continue
        if set(cells[0]) <= set("-: "):
            continue
        assert cells[0] not in rows, f"{cells[0]} is listed twice under {section}"
        rows[cells[0]] = (cells[1], cells[2])
    assert rows, f"the '## {section}' table is empty"
    return rows


CONFIRMED = _table("Confirmed operations")
NOT_CONFIRMED = _table("Not confirmed: notable decisions")


def test_doc_tables_are_well_formed():
    assert set(CONFIRMED) <= set(OPS), set(CONFIRMED) - set(OPS)
    assert set(NOT_CONFIRMED) <= set(OPS), set(NOT_CONFIRMED) - set(OPS)
    assert not set(CONFIRMED) & set(NOT_CONFIRMED)
    for op_id, (category, reason) in CONFIRMED.items():
        assert category in CATEGORIES, (op_id, category)
        assert reason, op_id
    for op_id, (kind, reason) in NOT_CONFIRMED.items():
        assert kind in KINDS, (op_id, kind)
        assert reason, op_id


def test_confirmed_set_is_exactly_the_doc_table():
    destructive = {op.operation_id for op in CATALOG if op.destructive}
    assert destructive - set(CONFIRMED) == set(), "destructive in the catalog, not in RISK.md"
    assert set(CONFIRMED) - destructive == set(), "in RISK.md's table, not destructive"


def test_conditional_rows_are_the_ones_the_service_checks_first():
    conditional = {op_id for op_id, (cat, _) in CONFIRMED.items() if cat == "conditional"}
    assert conditional == set(_CONFIRM_ONLY_IF_EXISTING) == {"UpdateUsers"}
    for op_id, read_id in _CONFIRM_ONLY_IF_EXISTING.items():
        assert CATALOG.get(op_id).destructive
        assert CATALOG.get(read_id).read_only


@pytest.mark.parametrize("op_id", OPS)
def test_flag_follows_the_rule(op_id: str):
    op = CATALOG.get(op_id)
    assert op.destructive is (op_id in CONFIRMED)
    if op_id in NOT_CONFIRMED:
        assert not op.destructive
    if op.read_only:
        assert not op.destructive, "a read never needs confirmation"
    if SAFE_VERBS.match(op_id):
        assert not op.destructive, "Create*/Get*/List*/Query* create or read"
    if op.method == "DELETE":
        exception = NOT_CONFIRMED.get(op_id, ("", ""))[0] in DELETE_EXCEPTION_KINDS
        assert op.destructive is not exception, (
            "a DELETE is confirmed unless RISK.md lists it as undo/own-state"
        )


@pytest.mark.parametrize("op_id", OPS)
def test_tool_annotations_follow_the_flags(op_id: str):
    op = CATALOG.get(op_id)
    hints = annotations_for(op)
    assert hints.destructive_hint == op.destructive
    assert hints.read_only_hint == op.read_only
    assert hints.idempotent_hint == op.idempotent


def test_compiled_flags_match_the_yaml():
    """Editing a flag without `python scripts/compile_catalog.py` fails here, by name."""
    spec: dict[str, dict] = {}
    for path in sorted((SPEC_DIR / "operations").glob("*.yaml")):
        spec.update(yaml.load(path.read_text(), Loader=SAFE_LOADER))
    assert set(spec) == set(OPS)
    for op in CATALOG:
        raw = spec[op.operation_id]
        for flag in ("read_only", "destructive", "idempotent"):
            assert raw[flag] is getattr(op, flag), (op.operation_id, flag)


def test_the_issue_examples():
    """The cases named in issue #14, spelled out."""
    for op_id in ("StartCampaign", "CheckPush"):
        assert CONFIRMED[op_id][0] == "outward"
    for op_id in ("UpdateChannel", "UpdateMessage", "UpdateChannelType", "UpsertPushProvider"):
        assert CONFIRMED[op_id][0] == "loss"
    for op_id in ("SendMessage", "SendReaction", "GetOrCreateChannel", "UpdateUsersPartial"):
        assert not CATALOG.get(op_id).destructive
    for op_id in ("DeleteReaction", "DeleteDraft", "unmute", "UnblockUsers"):
        assert NOT_CONFIRMED[op_id][0] in DELETE_EXCEPTION_KINDS
