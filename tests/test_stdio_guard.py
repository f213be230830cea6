"""The stdio guard answers requests nested too deeply for the SDK's parser to read."""

from __future__ import annotations

import json

import mcp_types as types

from stream_mcp.server.stdio import MAX_WIRE_DEPTH, nesting_depth, refusal_for


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert nesting_depth('{"a": "\\"[[[["}') == 1
    assert nesting_depth(_deep(10_000)) == MAX_WIRE_DEPTH + 1  # stops counting early


def test_a_deep_tool_call_gets_an_error_result_naming_arguments() -> None:
    line = (
        '{"jsonrpc":"2.0","id":"r-7","method":"tools/call","params":{"name":"execute_operation",'
        '"arguments":{"operation_id":"GetApp","arguments":' + _deep(1000) + "}}}"
    )
    answer = refusal_for(line, nesting_depth(line))
    assert isinstance(answer, types.JSONRPCResponse) and answer.id == "r-7"
    payload = answer.result["structuredContent"]
    assert answer.result["isError"] is True
    assert payload["error"] == "validation_error" and payload["field"] == "arguments"
    assert json.loads(answer.result["content"][0]["text"]) == payload


def test_other_deep_requests_get_a_json_rpc_error_and_notifications_nothing() -> None:
    line = '{"jsonrpc":"2.0","id":4,"method":"resources/read","params":' + _deep(500) + "}"
    answer = refusal_for(line, nesting_depth(line))
    assert isinstance(answer, types.JSONRPCError) and answer.id == 4
    assert answer.error.code == types.INVALID_REQUEST
    note = '{"jsonrpc":"2.0","method":"notifications/x","params":' + _deep(500) + "}"
    assert refusal_for(note, nesting_depth(note)) is None
