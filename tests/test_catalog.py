"""The catalog covers Stream's operation list exactly, and its artifact is never stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from stream_mcp.catalog._build import ARTIFACT, SPEC_DIR, build_catalog, load_catalog
from stream_mcp.catalog._spec import load_spec_dir, source_hash
from stream_mcp.catalog.lint import lint_schema
from stream_mcp.catalog.schemas import compile_input, validation_schema
from stream_mcp.errors import SpecError, UnknownOperation
from tests.conftest import operation_lists, read_operation_list

# The loader the product reads tool_specs with (libyaml's, parsing as SafeLoader does).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

JSON_QUERY_OPS = {
    "Search",
    "QueryUsers",
    "QueryMembers",
    "QueryBannedUsers",
    "QueryMessageFlags",
    "QueryFutureChannelBans",
}
UPLOADS = {"UploadFile", "UploadImage", "UploadChannelFile", "UploadChannelImage"}


def test_catalog_matches_the_operation_list_exactly(catalog):
    """Stream's v2 list: the committed snapshot, and ../shared's original when present."""
    lists = [read_operation_list(path) for path in operation_lists("v2")]
    for rows in lists:
        assert rows == lists[0], "tests/data/operations-v2.tsv differs from ../shared's"
    rows = lists[0]
    assert len(rows) == 247
    assert set(catalog.operations) == set(rows)
    for op in catalog:
        row = rows[op.operation_id]
        assert (op.method, op.path) == (row["method"], row["path"]), op.operation_id
        assert op.user_token is (row["user_token"] == "yes"), op.operation_id
        assert op.path.startswith("/api/v2/"), op.operation_id
    moderation = {op_id for op_id, row in rows.items() if row["area"] == "moderation"}
    assert moderation <= set(catalog.groups()["moderation"])


def test_compiled_artifact_is_fresh():
    """Editing tool_specs/ without `python scripts/compile_catalog.py` fails here."""
    data = json.loads(ARTIFACT.read_text())
    assert data["source_hash"] == source_hash(SPEC_DIR), "run: python scripts/compile_catalog.py"
    fresh = build_catalog(load_spec_dir(SPEC_DIR))
    assert json.loads(json.dumps([op.to_dict() for op in fresh])) == data["operations"]
    assert fresh.components == data["components"]


def test_stale_artifact_is_detected(tmp_path):
    spec_dir = tmp_path / "tool_specs"
    (spec_dir / "operations").mkdir(parents=True)
    (spec_dir / "components.yaml").write_text((SPEC_DIR / "components.yaml").read_text())
    source = SPEC_DIR / "operations" / "channels.yaml"
    target = spec_dir / "operations" / "channels.yaml"
    target.write_text(source.read_text())
    before = source_hash(spec_dir)
    target.write_text(source.read_text().replace("Delete", "Remove", 1))
    assert source_hash(spec_dir) != before


def test_every_operation_is_curated(catalog):
    for op in catalog:
        assert op.summary and op.summary != op.operation_id, op.operation_id
        assert len(op.summary) <= 90, op.operation_id
        assert op.description and len(op.description) >= len(op.summary), op.operation_id
        assert len(op.intents) >= 2, op.operation_id
        assert not (op.read_only and op.destructive), op.operation_id


def test_meaning_not_method_decides_the_flags(catalog):
    assert catalog.get("QueryChannels").method == "POST"
    assert catalog.get("QueryChannels").read_only
    assert catalog.get("DeleteChannel").destructive
    assert catalog.get("TruncateChannel").destructive
    assert not catalog.get("TruncateChannel").read_only
    assert not catalog.get("GetOrCreateChannel").read_only
    assert catalog.get("GetApp").read_only


def test_actor_fields_of_the_common_operations(catalog):
    assert catalog.get("GetOrCreateChannel").actors == ("data.created_by_id",)
    assert catalog.get("SendMessage").actors == ("message.user_id",)
    assert catalog.get("SendReaction").actors == ("reaction.user_id",)
    assert catalog.get("DeleteReaction").actors == ("user_id",)
    delete_reaction = {p.name: p for p in catalog.get("DeleteReaction").params}
    assert delete_reaction["user_id"].location == "query"


def test_json_query_payloads_and_multipart_uploads(catalog):
    for op in catalog:
        json_params = [p.name for p in op.params if p.json]
        assert (json_params == ["payload"]) is (op.operation_id in JSON_QUERY_OPS), op.operation_id
        assert (op.content == "multipart") is (op.operation_id in UPLOADS), op.operation_id


def test_unknown_operation_suggests_close_ids(catalog):
    with pytest.raises(UnknownOperation) as info:
        catalog.get("SendMesage")
    assert "SendMessage" in str(info.value)
    assert "\n" not in str(info.value)
    assert catalog.get("sendmessage").operation_id == "SendMessage"


def _openapi(ops: dict) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "v999"},
        "paths": ops,
        "components": {
            "schemas": {
                "SendMessageRequest": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "message": {"$ref": "#/components/schemas/MessageRequest"},
                        "skip_push": {"type": "boolean", "x-vendor-order": "002"},
                    },
                },
                "MessageRequest": {
                    "type": "object",
                    "properties": {"text": {"type": "string", "description": "copy me not"}},
                },
            }
        },
    }


def test_official_openapi_file_is_loaded_with_curated_overlay(tmp_path):
    doc = _openapi(
        {
            "/channels/{type}/{id}/message": {
                "post": {
                    "operationId": "SendMessage",
                    "summary": "Send new message",
                    "parameters": [
                        {
                            "in": "path",
                            "name": "type",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "in": "path",
                            "name": "id",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SendMessageRequest"}
                            }
                        }
                    },
                }
            },
            "/widgets/{id}": {
                "delete": {
                    "operationId": "DeleteWidget",
                    "parameters": [
                        {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                    ],
                }
            },
        }
    )
    path = tmp_path / "chat-openapi.json"
    path.write_text(json.dumps(doc))
    catalog = load_catalog(path)
    assert len(catalog) == 2
    send = catalog.get("SendMessage")
    assert send.actors == ("message.user_id",) and send.curated and send.user_token
    new = catalog.get("DeleteWidget")
    # Conservative defaults for an operation we have never curated.
    assert not new.curated and not new.read_only and new.destructive and not new.user_token
    assert "description" not in json.dumps(catalog.components)
    assert "x-vendor-order" not in json.dumps(catalog.components)


def _truncate_spec(prefix: str, date_time: dict) -> dict:
    """A one-operation spec in Stream's v1 layout (prefix "", date-times as strings) or its
    v2 layout (prefix /api/v2/chat, date-times as numbers)."""
    path_param = {"in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "v999"},
        "paths": {
            f"{prefix}/channels/{{type}}/{{id}}/truncate": {
                "post": {
                    "operationId": "TruncateChannel",
                    "parameters": [{**path_param, "name": "type"}, {**path_param, "name": "id"}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TruncateRequest"}
                            }
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "TruncateRequest": {
                    "type": "object",
                    "properties": {
                        "hard_delete": {"type": "boolean"},
                        "truncated_at": {**date_time, "format": "date-time", "title": "At"},
                    },
                }
            }
        },
    }


@pytest.mark.parametrize(
    ("prefix", "date_time", "numbers"),
    [
        ("", {"type": "string"}, False),
        ("/api/v2/chat", {"type": "number", "x-vendor-order": "006"}, True),
    ],
    ids=["v1", "v2"],
)
def test_official_spec_loads_in_either_layout(tmp_path, prefix, date_time, numbers):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(_truncate_spec(prefix, date_time)))
    catalog = load_catalog(path)
    op = catalog.get("TruncateChannel")
    assert op.path == f"{prefix}/channels/{{type}}/{{id}}/truncate"
    assert op.curated and op.destructive
    assert lint_schema(compile_input(catalog, op, "full").schema) == []
    validator = Draft202012Validator(validation_schema(catalog, op))
    call = {"type": "messaging", "id": "general", "hard_delete": True}
    # Agents write RFC 3339 dates; v2's numbers (nanoseconds) are accepted where v2 has them.
    assert validator.is_valid({**call, "truncated_at": "2026-01-02T03:04:05Z"})
    assert validator.is_valid({**call, "truncated_at": 1767323045000000000}) is numbers
    assert not validator.is_valid({**call, "truncated_at": True})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON or YAML"),
        ('{"openapi": "3.0.0"}', "no 'paths' mapping"),
        ('{"paths": {"/x": {"get": {"summary": "no id"}}}}', "missing operationId"),
        (
            '{"paths": {"/x": {"get": {"operationId": "X", "requestBody": {"content": '
            '{"application/json": {"schema": {"$ref": "#/components/schemas/Gone"}}}}}}}}',
            "Gone is referenced but not defined",
        ),
    ],
)
def test_malformed_official_spec_gets_one_line_error(tmp_path, content, expected):
    path = tmp_path / "spec.json"
    path.write_text(content)
    with pytest.raises(SpecError) as info:
        load_catalog(path)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_malformed_tool_specs_get_one_line_errors(tmp_path):
    spec_dir = tmp_path / "specs"
    (spec_dir / "operations").mkdir(parents=True)
    (spec_dir / "components.yaml").write_text("{}\n")
    bad = spec_dir / "operations" / "x.yaml"
    cases = {
        "Foo: {method: FETCH, path: /x}": "Foo.method: expected one of",
        "Foo: {method: GET, path: '/x/{id}'}": "path parameter {id} is not declared",
        "Foo: {method: GET, path: /x, read_only: maybe}": "Foo.read_only: expected true or false",
        "Foo: {method: GET, path: /x, colour: red}": "unknown field(s) colour",
        "Foo: [unclosed": "not valid YAML at line",
    }
    for text, expected in cases.items():
        bad.write_text(text + "\n")
        with pytest.raises(SpecError) as info:
            load_catalog(spec_dir)
        assert expected in str(info.value), text
    with pytest.raises(SpecError, match="not a tool_specs directory"):
        load_catalog(tmp_path)
    with pytest.raises(SpecError, match="no such spec file"):
        load_catalog(tmp_path / "missing.json")


def test_yaml_files_are_plain_and_reviewable():
    """Facts only: no copied Stream text markers in the committed spec."""
    for path in [SPEC_DIR / "components.yaml", *(SPEC_DIR / "operations").glob("*.yaml")]:
        text = path.read_text()
        assert "x-stream" not in text, path
        assert isinstance(yaml.load(text, Loader=SAFE_LOADER), dict)


def test_tool_specs_dir_loads_like_the_artifact():
    assert [op.to_dict() for op in load_catalog(Path(SPEC_DIR))] == [
        op.to_dict() for op in load_catalog()
    ]


def test_operations_we_have_not_curated_get_the_safe_side_of_every_flag() -> None:
    from stream_mcp.catalog._build import build_catalog
    from stream_mcp.catalog._spec import RawSpec

    raw = RawSpec(
        operations={
            "BanLegacy": {"method": "POST", "path": "/moderation/ban"},
            "PeekLegacy": {"method": "GET", "path": "/peek"},
        }
    )
    catalog = build_catalog(raw, overlay=RawSpec())
    ban, peek = catalog.get("BanLegacy"), catalog.get("PeekLegacy")
    assert not ban.curated and ban.destructive and ban.unbounded and ban.server_only
    assert not peek.destructive and peek.unbounded  # a read still reaches unnamed users
