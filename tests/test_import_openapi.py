"""The importer (scripts/import_openapi.py) reads Stream's v1 and v2 layouts alike."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from stream_mcp.catalog._spec import RawSpec

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "import_openapi.py"


@pytest.fixture(scope="module")
def importer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_openapi", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_v1_and_v2_paths_fall_in_the_same_groups(importer, catalog):
    for v1, v2 in [
        ("/channels/{type}/{id}/message", "/api/v2/chat/channels/{type}/{id}/message"),
        ("/moderation/ban", "/api/v2/moderation/ban"),
        ("/users", "/api/v2/users"),
        ("/uploads/image", "/api/v2/uploads/image"),
        ("/app", "/api/v2/app"),
    ]:
        assert importer.group_of(v1) == importer.group_of(v2), v1
    assert importer.group_of("/api/v2/moderation/review_queue") == "moderation"
    assert importer.group_of("/api/v2/chat/sync") == "channels"
    # Every operation the importer would place sits where tool_specs/ has it.
    assert {op.operation_id: importer.group_of(op.path) for op in catalog} == {
        op.operation_id: op.group for op in catalog
    }


@pytest.mark.parametrize(
    "text",
    [
        "# v1 list: a comment line first\noperation_id\tmethod\tpath\tuser_token\n"
        "GetApp\tGET\t/app\tyes\nUpdateApp\tPATCH\t/app\tno\n",
        "operation_id\tmethod\tpath\tuser_token\tarea\tv1_method_path\n"
        "GetApp\tGET\t/api/v2/app\tyes\tchat\tGET /app\n"
        "UpdateApp\tPATCH\t/api/v2/app\tno\tchat\tPATCH /app\n",
    ],
    ids=["v1", "v2"],
)
def test_the_operation_list_is_read_by_its_header(importer, tmp_path, text):
    tsv = tmp_path / "ops.tsv"
    tsv.write_text(text)
    assert importer._tsv_user_token(tsv) == {"GetApp": True, "UpdateApp": False}


def test_client_side_operations_are_added_with_the_schemas_they_lack(importer):
    server = RawSpec(
        operations={"SendMessage": {"method": "POST", "path": "/m", "body": {"$ref": "Send"}}},
        components={
            "Send": {"type": "object", "properties": {"message": {"$ref": "Message"}}},
            "Message": {"type": "object", "properties": {"text": {}, "user_id": {}}},
        },
    )
    client = RawSpec(
        operations={
            "SendMessage": {"method": "POST", "path": "/m", "body": {"$ref": "Send"}},
            "CreateDraft": {"method": "POST", "path": "/d", "body": {"$ref": "Draft"}},
            "LongPoll": {"method": "GET", "path": "/longpoll"},
        },
        components={
            "Send": {"type": "object"},
            "Draft": {"type": "object", "properties": {"message": {"$ref": "Message"}}},
            "Message": {"type": "object", "properties": {"text": {}}},
        },
    )
    importer.add_client_side(server, client)
    assert sorted(server.operations) == ["CreateDraft", "SendMessage"]
    assert server.components["Draft"] == client.components["Draft"]
    # A schema both files define stays as the server file has it.
    assert "user_id" in server.components["Message"]["properties"]
    assert server.components["Send"]["properties"]
