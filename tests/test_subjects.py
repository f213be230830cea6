"""Subject fields: every curated path exists in its operation's schema, and the walker finds
every user a call names, in every shape Stream accepts."""

from __future__ import annotations

from typing import Any

import pytest

from stream_mcp.auth.subjects import find_subjects
from stream_mcp.catalog import Catalog
from stream_mcp.catalog.schemas import compile_input
from tests.factories import shipped_catalog

CATALOG = shipped_catalog()


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    if "anyOf" in schema:
        return [b for s in schema["anyOf"] for b in _branches(s)]
    return [schema]


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    return kind[0] if isinstance(kind, list) else kind


def resolve(schema: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The schemas a subject path ends at; raises AssertionError naming the bad segment."""
    current = [schema]
    segments = path.split(".")
    for index, segment in enumerate(segments):
        walker = segment[-2:] if segment[-2:] in ("[]", "{}") else ""
        name = segment[: len(segment) - len(walker)]
        found = []
        for sub in current:
            for branch in _branches(sub):
                props = branch.get("properties")
                if props and name in props:
                    found.append(props[name])
                elif _kind(branch) == "object" and not props:
                    found.append({})  # an open object: any key may hold the field
        assert found, f"{path}: {name!r} is not in the schema"
        if walker == "[]":
            found = [b.get("items", {}) for s in found for b in _branches(s) if _kind(b) == "array"]
            assert found, f"{path}: {name}[] is not a list"
        elif walker == "{}":
            maps = [b for s in found for b in _branches(s) if _kind(b) in ("object", None)]
            assert maps, f"{path}: {name}{{}} is not a map"
            assert index == len(segments) - 1, f"{path}: a map's keys end the path"
            found = [{"type": "string"}]
        current = found
    return current


@pytest.mark.parametrize(
    "op", [op for op in CATALOG if op.subjects], ids=lambda op: op.operation_id
)
def test_every_subject_path_exists_in_the_schema(op: Any) -> None:
    schema = compile_input(CATALOG, op, "full").schema
    for path in op.subjects:
        resolve(schema, path)


def test_every_actor_is_a_subject() -> None:
    missing = [
        f"{op.operation_id}.{actor}"
        for op in CATALOG
        for actor in op.actors
        if actor not in op.subjects
    ]
    assert missing == []


def test_curation_covers_the_operations_that_name_users() -> None:
    catalog: Catalog = CATALOG
    for op_id in (
        "DeactivateUser",
        "DeleteUsers",
        "UpdateUsers",
        "UpdateUsersPartial",
        "ExportUsers",
        "UnreadCountsBatch",
    ):
        if op_id in catalog:
            assert catalog.get(op_id).subjects, op_id
    assert catalog.get("QueryUsers").unbounded


@pytest.mark.parametrize(
    ("paths", "arguments", "named", "open_paths"),
    [
        (["user_id"], {"user_id": "bob"}, [("user_id", "bob")], []),
        (["user_ids[]"], {"user_ids": ["a", "b"]}, [("user_ids[]", "a"), ("user_ids[]", "b")], []),
        (
            ["users{}"],
            {"users": {"a": {"id": "a"}, "b": {"id": "x"}}},
            [("users{}", "a"), ("users{}", "b"), ("users{}", "x")],
            [],
        ),
        (["users[].id"], {"users": [{"id": "a"}, {"set": {}}]}, [("users[].id", "a")], []),
        # A member list holds ids or member objects; both shapes are found, never crash.
        (
            ["members[]", "members[].user_id"],
            {"members": ["a", {"user_id": "b"}]},
            [("members[]", "a"), ("members[]", "b"), ("members[].user_id", "b")],
            [],
        ),
        (
            ["filter.id"],
            {"filter": {"id": {"$in": ["a", "b"]}}},
            [("filter.id", "a"), ("filter.id", "b")],
            [],
        ),
        (["filter.id"], {"filter": {"id": {"$eq": "a"}}}, [("filter.id", "a")], []),
        (["filter.id"], {"filter": {"id": {"$ne": "a"}}}, [], ["filter.id"]),
        (["filter.id"], {"filter": {"id": {"$autocomplete": "a"}}}, [], ["filter.id"]),
        (["user_id"], {"user_id": 7}, [("user_id", "7")], []),
        (["user_id"], {}, [], []),
        (["a.b[].c"], {"a": "not an object"}, [], []),
        (["a.b[].c"], {"a": {"b": "odd"}}, [], []),
    ],
)
def test_the_walker_finds_every_shape(
    paths: list[str], arguments: dict[str, Any], named: list[tuple[str, str]], open_paths: list[str]
) -> None:
    found = find_subjects(paths, arguments)
    assert list(found.named) == named
    assert list(found.open_paths) == open_paths
