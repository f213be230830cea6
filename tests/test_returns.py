"""load_operation shows the answer's layout: keys, the paths people project, an example select."""

from __future__ import annotations

import jmespath

from stream_mcp.catalog import load_catalog
from stream_mcp.limits import estimate_tokens

CATALOG = load_catalog()


def test_every_operation_has_an_outline_within_150_tokens() -> None:
    missing = [op.operation_id for op in CATALOG if not op.returns]
    assert missing == []
    for op in CATALOG:
        assert op.returns is not None
        shown = {**op.returns, "keys": op.returns["keys"][:10]}
        assert estimate_tokens(shown) <= 150, op.operation_id


def test_example_selects_compile_and_name_real_keys() -> None:
    for op in CATALOG:
        assert op.returns is not None
        example = op.returns["example_select"]
        if not example:
            continue
        jmespath.compile(example)
        head = example.split("[", 1)[0].split(".", 1)[0]
        assert head in op.returns["keys"], (op.operation_id, example)


def test_the_outlines_people_asked_for() -> None:
    channel = CATALOG.get("GetOrCreateChannel").returns or {}
    assert "messages[].{id,text,user.id,created_at}" in channel["paths"]
    assert any(p.startswith("channel.{") and "cid" in p for p in channel["paths"])
    bans = CATALOG.get("QueryBannedUsers").returns or {}
    assert bans["paths"][0].startswith("bans[].{user.id")
