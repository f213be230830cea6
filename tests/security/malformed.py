"""Generators of malformed calls to the four discovery tools.

Each :class:`Bad` is one call and the fields an answer may name. ``fields=None`` accepts any
field (or none, if the message is not empty); otherwise the answer's ``field`` must be one of
them, or start with one of them followed by ``.`` or ``[`` (a nested argument).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stream_mcp.catalog import Catalog
from stream_mcp.catalog.schemas import compile_input
from tests.security.subjects_gen import minimal

MB = 1024 * 1024

WRONG_TYPES: list[tuple[str, Any]] = [
    ("int", 12345),
    ("float", 1.5),
    ("true", True),
    ("false", False),
    ("list", ["x"]),
    ("empty-list", []),
    ("object", {"x": 1}),
    ("empty-object", {}),
]
NON_STRINGS = [*WRONG_TYPES, ("null-in-list", [None])]

ODD_TEXT: list[tuple[str, str]] = [
    ("rtl-override", "alice\u202egnp.exe"),
    ("nul", "ali\u0000ce"),
    ("zero-width", "ali\u200bce"),
    ("bom", "\ufeffalice"),
    ("emoji", "alice\U0001f600"),
    ("homoglyph", "\u0430lice"),
    ("newline", "alice\nbob"),
    ("tab", "alice\tbob"),
    ("space", "alice bob"),
    ("only-space", " "),
    ("comma", "alice,bob"),
    ("glob-star", "ali*"),
    ("glob-qmark", "ali?e"),
    ("glob-bracket", "[a]lice"),
    ("dot", "alice.bob"),
    ("colon", "alice:bob"),
    ("plus", "alice+1"),
    ("quote", "ali'ce"),
    ("dquote", 'ali"ce'),
    ("semicolon", "alice;drop"),
    ("backslash", "ali\\ce"),
    ("accented", "\u00e5lice"),
    ("combining", "alice\u0301"),
    ("fullwidth", "\uff41lice"),
]
PATH_TRICKS: list[tuple[str, str]] = [
    ("dotdot", ".."),
    ("dot", "."),
    ("dotdot-slash", "../x"),
    ("deep-dotdot", "../../app"),
    ("encoded-dotdot", "%2e%2e"),
    ("encoded-slash", "a%2Fb"),
    ("double-encoded", "%252e%252e"),
    ("slash", "a/b"),
    ("fragment", "a#frag"),
    ("query", "a?x=1"),
    ("query-api-key", "a?api_key=other"),
    ("backslash", "a\\..\\b"),
    ("nul", "a\u0000b"),
    ("rtl", "a\u202eb"),
    ("zero-width", "a\u200bb"),
    ("newline", "a\r\nX-Injected: 1"),
    ("space", "a b"),
    ("empty", ""),
    ("256-chars", "a" * 256),
    ("4k-chars", "a" * 4096),
]
USER_ID_TRICKS: list[tuple[str, str]] = [
    *ODD_TEXT,
    *[(f"path-{name}", value) for name, value in PATH_TRICKS if value not in ("", "a" * 256)],
    ("256-chars", "a" * 256),
    ("64k-chars", "a" * 65536),
]


@dataclass(frozen=True)
class Bad:
    """One malformed call."""

    category: str
    name: str
    tool: str
    args: dict[str, Any]
    fields: tuple[str, ...] | None = None
    huge: bool = False
    # Only a response can show the error (a JMESPath function applied to the wrong type):
    # the read may reach the upstream before it is refused.
    may_reach: bool = False
    # Refused before any tool runs, where the SDK's own parser gives up: a JSON-RPC error
    # naming the cause is an answer too.
    protocol_ok: bool = False

    @property
    def label(self) -> str:
        return f"{self.category}/{self.name}"


def field_matches(field: str | None, expected: tuple[str, ...] | None) -> bool:
    if expected is None:
        return True
    if not field:
        return False
    return any(
        field == name or field.startswith(name + ".") or field.startswith(name + "[")
        for name in expected
    )


def nested(depth: int, leaf: Any = "x", key: str = "a") -> Any:
    value: Any = leaf
    for _ in range(depth):
        value = {key: value}
    return value


def nested_json(depth: int, *, arrays: bool = False) -> str:
    """A JSON text nested ``depth`` levels, built without a recursive encoder."""
    if arrays:
        return "[" * depth + '"x"' + "]" * depth
    return '{"a": ' * depth + '"x"' + "}" * depth


# --------------------------------------------------------------------------- per tool


def search_cases() -> Iterator[Bad]:
    for name, value in NON_STRINGS:
        yield Bad("search.query-type", name, "search_operations", {"query": value}, ("query",))
    for name, value in [
        ("string", "5"),
        ("float", 5.5),
        ("true", True),
        ("list", [5]),
        ("object", {"n": 5}),
        ("zero", 0),
        ("negative", -1),
        ("huge", 10**20),
        ("negative-huge", -(10**20)),
        ("nan-ish-string", "NaN"),
    ]:
        yield Bad(
            "search.limit-type",
            name,
            "search_operations",
            {"query": "ban", "limit": value},
            ("limit",),
        )
    for name, value in [
        ("1001-chars", "a" * 1001),
        ("1200-words", "ban a user " * 120),
        ("100k", "x" * 100_000),
        ("odd-long", "\u202e\u200b\U0001f600" * 400),
    ]:
        yield Bad("search.query-size", name, "search_operations", {"query": value}, ("query",))
    yield Bad(
        "search.query-size",
        "10MB",
        "search_operations",
        {"query": "q" * (10 * MB)},
        ("query",),
        huge=True,
    )


def load_cases() -> Iterator[Bad]:
    for name, value in NON_STRINGS:
        yield Bad(
            "load.operation_id-type",
            name,
            "load_operation",
            {"operation_id": value},
            ("operation_id",),
        )
    for name, value in [
        ("empty", ""),
        ("unknown", "NoSuchOperation"),
        *ODD_TEXT,
        *PATH_TRICKS,
        ("ops-glob", "Get*"),
        ("1001-chars", "G" * 1001),
        ("rtl-getapp", "GetApp\u202e"),
    ]:
        yield Bad(
            "load.operation_id-value",
            name,
            "load_operation",
            {"operation_id": value},
            ("operation_id",),
        )
    yield Bad(
        "load.operation_id-value",
        "1MB",
        "load_operation",
        {"operation_id": "G" * MB},
        ("operation_id",),
        huge=True,
    )
    for name, value in [
        *WRONG_TYPES,
        ("medium", "medium"),
        ("upper", "FULL"),
        ("padded", " full"),
        ("rtl", "full\u202e"),
        ("long", "f" * 5000),
    ]:
        yield Bad(
            "load.detail",
            name,
            "load_operation",
            {"operation_id": "GetApp", "detail": value},
            ("detail",),
        )


def token_cases() -> Iterator[Bad]:
    for name, value in NON_STRINGS:
        yield Bad("token.user_id-type", name, "issue_user_token", {"user_id": value}, ("user_id",))
    yield Bad("token.user_id-value", "empty", "issue_user_token", {"user_id": ""}, ("user_id",))
    for name, value in USER_ID_TRICKS:
        yield Bad("token.user_id-value", name, "issue_user_token", {"user_id": value}, ("user_id",))
    yield Bad(
        "token.user_id-value",
        "1MB",
        "issue_user_token",
        {"user_id": "a" * MB},
        ("user_id",),
        huge=True,
    )
    for name, value in [
        ("string", "60"),
        ("float", 60.5),
        ("true", True),
        ("list", [60]),
        ("object", {"s": 60}),
        ("zero", 0),
        ("negative", -1),
        ("huge", 10**20),
        ("over-cap", 10**7),
    ]:
        yield Bad(
            "token.ttl",
            name,
            "issue_user_token",
            {"user_id": "alice", "ttl_seconds": value},
            ("ttl_seconds",),
        )


def execute_control_cases() -> Iterator[Bad]:
    tool = "execute_operation"
    for name, value in NON_STRINGS:
        yield Bad("exec.operation_id-type", name, tool, {"operation_id": value}, ("operation_id",))
    for name, value in [
        ("missing", None),
        ("empty", ""),
        ("unknown", "NoSuchOperation"),
        ("lower-glob", "delete*"),
        *ODD_TEXT,
        *PATH_TRICKS,
        ("1001-chars", "D" * 1001),
    ]:
        args = {} if value is None else {"operation_id": value}
        yield Bad("exec.operation_id-value", name, tool, args, ("operation_id",))
    yield Bad(
        "exec.operation_id-value",
        "1MB",
        tool,
        {"operation_id": "D" * MB},
        ("operation_id",),
        huge=True,
    )
    for name, value in [
        ("string", "x"),
        ("json-string", '{"type": "messaging"}'),
        ("int", 1),
        ("true", True),
        ("list", [{"type": "messaging"}]),
        ("empty-list", []),
    ]:
        yield Bad(
            "exec.arguments-type",
            name,
            tool,
            {"operation_id": "QueryChannels", "arguments": value},
            ("arguments",),
        )
    for name, value in WRONG_TYPES:
        yield Bad(
            "exec.as_user-type",
            name,
            tool,
            {"operation_id": "QueryChannels", "as_user": value},
            ("as_user",),
        )
    for name, value in USER_ID_TRICKS:
        yield Bad(
            "exec.as_user-value",
            name,
            tool,
            {"operation_id": "QueryChannels", "as_user": value},
            ("as_user",),
        )
    yield Bad(
        "exec.as_user-value",
        "1MB",
        tool,
        {"operation_id": "QueryChannels", "as_user": "a" * MB},
        ("as_user",),
        huge=True,
    )
    for name, value in WRONG_TYPES:
        yield Bad(
            "exec.select-type", name, tool, {"operation_id": "GetApp", "select": value}, ("select",)
        )
    selects = [
        ("open-bracket", "["),
        ("dangling-dot", "app."),
        ("dangling-filter", "a[?"),
        ("lone-ampersand", "&"),
        ("bad-raw-literal", "'unterminated"),
        ("dangling-or", "app ||"),
        ("double-at", "@@"),
        ("double-bang", "!!"),
        ("zero-step", "notes[::0]"),  # jmespath raises ValueError when it runs
        ("nul", "app\u0000name"),
        ("rtl", "\u202eapp"),
        ("unbalanced-close", "app)"),
        ("unbalanced-open", "((app)"),
        ("only-space", " "),
        ("unknown-function", "nope(@)"),
        ("wrong-arity", "length(@, @)"),
        ("wrong-arg-type", "length(`1`)"),
        ("sort-mixed", "sort(values(@))"),
        ("1000-deep-parens", "(" * 1000 + "app" + ")" * 1000),
        ("33-deep-parens", "(" * 33 + "app" + ")" * 33),
        ("100-deep-brackets", "[" * 100 + "app" + "]" * 100),
        ("1000-deep-brackets-unclosed", "[" * 1000),
        ("1000-deep-filters", "a" + "[?b" * 1000),
        ("1001-chars", "app.name || " * 84 + "app.name"),
        ("5000-chars-valid", " || ".join(["app.name"] * 500)),
        ("64k-chars", "a" * 65536),
    ]
    # Errors jmespath only raises while evaluating (and that a response is needed for).
    runtime = {"zero-step", "unknown-function", "wrong-arity", "wrong-arg-type", "sort-mixed"}
    for name, value in selects:
        yield Bad(
            "exec.select-value",
            name,
            tool,
            {"operation_id": "GetApp", "select": value},
            ("select",),
            may_reach=name in runtime,
        )
    yield Bad(
        "exec.select-value",
        "1MB",
        tool,
        {"operation_id": "GetApp", "select": "a" * MB},
        ("select",),
        huge=True,
    )
    for name, value in [
        ("string-true", "true"),
        ("string-yes", "yes"),
        ("int-one", 1),
        ("int-zero", 0),
        ("list", [True]),
        ("object", {"confirm": True}),
        ("string-false", "false"),
    ]:
        # A destructive call on a client without elicitation: only a real true may run it.
        yield Bad(
            "exec.confirm-type",
            name,
            tool,
            {
                "operation_id": "DeleteChannel",
                "arguments": {"type": "messaging", "id": f"limits-confirm-{name}"},
                "confirm": value,
            },
            ("confirm",),
        )


def argument_cases(catalog: Catalog) -> Iterator[Bad]:
    tool = "execute_operation"
    # Unknown or odd argument names.
    for name, key in [
        ("unknown", "nope"),
        ("dotdot", "../type"),
        ("empty", ""),
        ("rtl", "\u202eid"),
        ("nul", "i\u0000d"),
        ("long-key", "k" * 1000),
        ("dunder", "__proto__"),
        ("dollar", "$where"),
    ]:
        yield Bad(
            "args.unknown-name",
            name,
            tool,
            {"operation_id": "QueryChannels", "arguments": {key: 1}},
            None,
        )
    # Wrong types for every top-level field of a spread of operations.
    for op_id in (
        "SendMessage",
        "GetChannel",
        "QueryChannels",
        "CreatePoll",
        "UpdateUsersPartial",
        "MuteChannel",
        "QueryUsers",
        "UpdateChannelPartial",
        "GetOG",
        "SendReaction",
        "CreateDevice",
        "QueryReactions",
    ):
        yield from _wrong_types_for(catalog, op_id)
    # Path parameters: traversal, encodings, control characters, lengths.
    for op_id, param, others in (
        ("GetChannel", "id", {"type": "messaging"}),
        ("GetChannel", "type", {"id": "general"}),
        ("GetMessage", "id", {}),
        ("GetPoll", "poll_id", {}),
    ):
        for name, value in PATH_TRICKS:
            yield Bad(
                f"args.path-{op_id}.{param}",
                name,
                tool,
                {"operation_id": op_id, "arguments": {**others, param: value}},
                (param,),
            )
        yield Bad(
            f"args.path-{op_id}.{param}",
            "1MB",
            tool,
            {"operation_id": op_id, "arguments": {**others, param: "a" * MB}},
            (param, "arguments"),
            huge=True,
        )
    # Size: over 256 KB of arguments.
    channel = {"type": "messaging", "id": "limits"}
    for name, text in [("300KB-text", "x" * 300_000), ("1MB-text", "x" * MB)]:
        yield Bad(
            "args.size",
            name,
            tool,
            {"operation_id": "SendMessage", "arguments": {**channel, "message": {"text": text}}},
            None,
            huge=name == "1MB-text",
        )
    yield Bad(
        "args.size",
        "40k-items",
        tool,
        {
            "operation_id": "QueryChannels",
            "arguments": {"filter_conditions": {"members": {"$in": ["alice"] * 40_000}}},
        },
        None,
    )
    yield Bad(
        "args.size",
        "many-keys",
        tool,
        {
            "operation_id": "SendMessage",
            "arguments": {
                **channel,
                "message": {"text": "hi", "custom": {f"k{i}": "v" * 8 for i in range(30_000)}},
            },
        },
        None,
    )
    # Depth: 33 levels and more, as far as the mcp client can serialize (~250).
    for depth in (33, 40, 64, 100, 150, 200):
        yield Bad(
            "args.depth",
            f"{depth}-deep-object",
            tool,
            {
                "operation_id": "SendMessage",
                "arguments": {**channel, "message": {"text": "hi", "custom": nested(depth)}},
            },
            None,
            protocol_ok=True,
        )
        yield Bad(
            "args.depth",
            f"{depth}-deep-filter",
            tool,
            {
                "operation_id": "QueryChannels",
                "arguments": {"filter_conditions": nested(depth, key="$and")},
            },
            None,
            protocol_ok=True,
        )


def _wrong_value(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if "enum" in schema:
        return [("not-in-enum", "definitely-not-a-member"), ("int", 7)]
    return {
        "string": [("int", 12345), ("object", {"x": 1})],
        "integer": [("string", "12"), ("float", 1.5)],
        "number": [("string", "x")],
        "boolean": [("string", "yes")],
        "array": [("string", "not-a-list")],
        "object": [("string", "not-an-object")],
    }.get(kind or "", [])


def _wrong_types_for(catalog: Catalog, op_id: str) -> Iterator[Bad]:
    if op_id not in catalog:  # the catalog changes; the count check keeps the total up
        return
    op = catalog.get(op_id)
    schema = compile_input(catalog, op, "full").schema
    base = minimal(schema)
    for prop, sub in (schema.get("properties") or {}).items():
        for name, value in _wrong_value(sub):
            args = {**base, prop: value}
            yield Bad(
                f"args.types-{op_id}",
                f"{prop}-{name}",
                "execute_operation",
                {"operation_id": op_id, "arguments": args},
                (prop,),
            )


def all_cases(catalog: Catalog) -> list[Bad]:
    cases: list[Bad] = []
    for group in (
        search_cases(),
        load_cases(),
        token_cases(),
        execute_control_cases(),
        argument_cases(catalog),
    ):
        cases.extend(group)
    return cases


# --------------------------------------------------------------------------- raw


@dataclass(frozen=True)
class RawBad:
    """A malformed call the mcp client cannot even build: sent as raw JSON text."""

    name: str
    tool: str
    arguments_json: str
    fields: tuple[str, ...] | None


def raw_cases() -> list[RawBad]:
    channel = '"type": "messaging", "id": "limits-raw"'
    out = [
        RawBad(
            f"{depth}-deep-{'array' if arrays else 'object'}",
            "execute_operation",
            '{"operation_id": "SendMessage", "arguments": {'
            + channel
            + ', "message": {"text": "hi", "custom": {"deep": '
            + nested_json(depth, arrays=arrays)
            + "}}}}",
            ("arguments",),
        )
        for depth in (300, 1000, 5000)
        for arrays in (False, True)
    ]
    out.append(
        RawBad(
            "1000-deep-arguments-root",
            "execute_operation",
            '{"operation_id": "QueryChannels", "arguments": ' + nested_json(1000) + "}",
            ("arguments",),
        )
    )
    out.append(
        RawBad(
            "1000-deep-search-query",
            "search_operations",
            '{"query": ' + nested_json(1000, arrays=True) + "}",
            ("query", "arguments"),
        )
    )
    for tool, key, extra in (
        ("load_operation", "operation_id", ""),
        ("execute_operation", "operation_id", ""),
        ("execute_operation", "as_user", '"operation_id": "QueryChannels", '),
        ("execute_operation", "select", '"operation_id": "GetApp", '),
        ("issue_user_token", "user_id", ""),
    ):
        for name, escaped in (
            ("lone-high", "\\ud800"),
            ("lone-low", "\\udfff"),
            ("reversed-pair", "\\udc00\\ud800"),
        ):
            out.append(
                RawBad(
                    f"{tool}.{key}-{name}",
                    tool,
                    "{" + extra + json.dumps(key) + ': "alice' + escaped + '"}',
                    (key,),
                )
            )
    return out
