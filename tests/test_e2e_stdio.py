"""End to end over stdio, as Claude Desktop connects: the real server on the sandbox."""

from __future__ import annotations

import io
import json

import jwt
import mcp_types as types

from stream_mcp.cli.demo import run_tour
from stream_mcp.limits import estimate_tokens
from tests.e2e import Transcript, new_secret, stdio_session

CHANNEL = {"type": "messaging", "id": "e2e-room"}


async def _setup_channel(client) -> str:
    """alice, bob and carol exist; alice owns a channel with bob; returns a message id."""
    people = {n: {"id": n} for n in ("alice", "bob", "carol")}
    payload, error = await client.call(
        "execute_operation",
        {"operation_id": "UpdateUsers", "arguments": {"users": people}, "confirm": True},
    )
    assert not error, payload
    payload, error = await client.call(
        "execute_operation",
        {
            "operation_id": "GetOrCreateChannel",
            "arguments": {**CHANNEL, "data": {"members": ["alice", "bob"]}},
            "as_user": "alice",
        },
    )
    assert not error, payload
    payload, error = await client.call(
        "execute_operation",
        {
            "operation_id": "SendMessage",
            "arguments": {**CHANNEL, "message": {"text": "first"}},
            "as_user": "alice",
            "select": "message.id",
        },
    )
    assert not error, payload
    return payload["data"]


async def test_demo_scenario_over_stdio(tmp_path):
    transcript = Transcript(new_secret())
    out = io.StringIO()
    async with stdio_session(tmp_path, transcript) as client:
        await run_tour(client, out)
    text = out.getvalue()
    assert "GetOrCreateChannel" in text
    assert "Hi from the agent" in text
    assert "✗ refused" in text  # carol, and the unconfirmed ban
    issued = [r for r in transcript.results if r[0] == "issue_user_token"]
    token = issued[0][1]["payload"]["token"]
    claims = jwt.decode(token, transcript.api_secret, algorithms=["HS256"])
    assert claims["user_id"] == "alice" and claims["exp"] - claims["iat"] == 600
    transcript.assert_no_leaks()


async def test_discovery_tools_are_small_and_annotated(tmp_path):
    transcript = Transcript(new_secret())
    async with stdio_session(tmp_path, transcript) as client:
        listed = await client.list_tools()
    names = [t.name for t in listed.tools]
    assert names == [
        "search_operations",
        "load_operation",
        "execute_operation",
        "issue_user_token",
        "wait_for_events",
    ]
    wire = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert estimate_tokens(wire) <= 1000
    by_name = {t.name: t for t in listed.tools}
    assert by_name["search_operations"].annotations.read_only_hint is True
    assert by_name["execute_operation"].annotations.destructive_hint is True
    assert by_name["execute_operation"].annotations.open_world_hint is True
    for tool in listed.tools:
        assert tool.input_schema["type"] == "object"
        assert "anyOf" not in tool.input_schema and "oneOf" not in tool.input_schema


async def test_every_failure_is_a_tool_error_the_model_can_act_on(tmp_path):
    transcript = Transcript(new_secret())
    budget = {"STREAM_MCP_BUDGET_PER_MINUTE": "3"}
    async with stdio_session(tmp_path, transcript, env=budget) as client:
        cases = {
            "validation": {
                "operation_id": "SendMessage",
                "arguments": {**CHANNEL, "message": {"text": 42}},
            },
            "unknown": {"operation_id": "SendMesage", "arguments": {}},
            "policy": {"operation_id": "GetApp", "as_user": " "},
            "stream": {"operation_id": "GetMessage", "arguments": {"id": "nope"}},
        }
        seen = {}
        for name, args in cases.items():
            payload, error = await client.call("execute_operation", args)
            assert error, (name, payload)
            seen[name] = payload
        assert seen["validation"]["field"].startswith("message.text")
        assert "string" in seen["validation"]["message"]
        assert "SendMessage" in seen["unknown"]["message"]
        assert seen["policy"]["field"] == "as_user"
        assert seen["stream"]["code"] == 16 or seen["stream"]["code"] == 4
        # The client-side budget: 3 calls per (user, operation) per minute.
        results = [
            await client.call("execute_operation", {"operation_id": "GetApp", "select": "app.name"})
            for _ in range(4)
        ]
        assert [error for _, error in results] == [False, False, False, True]
        assert "budget exhausted, retry in" in results[-1][0]["message"]
        bad_tool = await client.call_tool("load_operation", {"operation_id": 7})
        assert bad_tool.is_error
    transcript.assert_no_leaks()


async def test_confirmation_by_flag_without_elicitation(tmp_path):
    transcript = Transcript(new_secret())
    async with stdio_session(tmp_path, transcript) as client:
        await _setup_channel(client)
        delete = {"operation_id": "TruncateChannel", "arguments": CHANNEL, "as_user": "alice"}
        payload, error = await client.call("execute_operation", delete)
        assert error and payload["field"] == "confirm"
        payload, error = await client.call("execute_operation", {**delete, "confirm": True})
        assert not error, payload
    transcript.assert_no_leaks()


async def test_confirmation_by_elicitation_asks_a_person(tmp_path):
    transcript = Transcript(new_secret())
    answers = ["decline", "accept"]
    asked: list[str] = []

    async def elicit(context, params):
        if "DeleteChannel" not in params.message:  # the set-up's UpdateUsers
            return types.ElicitResult(action="accept", content={"confirm": True})
        asked.append(params.message)
        action = answers.pop(0)
        content = {"confirm": True} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    async with stdio_session(tmp_path, transcript, elicitation_callback=elicit) as client:
        await _setup_channel(client)
        delete = {
            "operation_id": "DeleteChannel",
            "arguments": {**CHANNEL, "hard_delete": True},
            "as_user": "alice",
            # A model under prompt injection could set this; with elicitation it is not enough.
            "confirm": True,
        }
        payload, error = await client.call("execute_operation", delete)
        assert error and "not confirmed" in payload["message"]
        payload, error = await client.call("execute_operation", delete)
        assert not error, payload
    assert len(asked) == 2
    transcript.assert_no_leaks()


async def test_static_mode_one_tool_per_operation(tmp_path):
    transcript = Transcript(new_secret())
    args = ("--mode", "static", "--include", "*Channel*", "--include", "SendMessage")
    async with stdio_session(tmp_path, transcript, *args, "--exclude", "Upload*") as client:
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        assert "send_message" in tools and "get_or_create_channel" in tools
        assert "upload_channel_image" not in tools and "query_users" not in tools
        assert all(len(name) <= 40 for name in tools)
        delete = tools["delete_channel"]
        assert delete.annotations.destructive_hint is True
        assert delete.annotations.read_only_hint is False
        assert "confirm" in delete.input_schema["properties"]
        assert tools["query_channels"].annotations.read_only_hint is True
        missing = await client.call_tool("update_channel", {})
        assert missing.is_error and "type" in missing.content[0].text
        result = await client.call_tool(
            "get_or_create_channel",
            {**CHANNEL, "data": {"members": ["agent-bot"]}, "select": "channel.cid"},
        )
        assert not result.is_error, result
        assert json.loads(result.content[0].text)["data"] == "messaging:e2e-room"
        # Static mode has the event feed too: the channel just made is followed (Sync).
        assert "wait_for_events" in tools
        sent = await client.call_tool(
            "send_message", {**CHANNEL, "message": {"text": "static hello"}, "select": "message.id"}
        )
        assert not sent.is_error, sent
        heard = await client.call_tool(
            "wait_for_events",
            {"after": "0", "channels": ["messaging:e2e-room"], "timeout_seconds": 15},
        )
        assert not heard.is_error, heard
        texts = [
            e.get("message", {}).get("text") for e in json.loads(heard.content[0].text)["events"]
        ]
        assert "static hello" in texts
        refused = await client.call_tool("delete_channel", CHANNEL)
        assert refused.is_error and "confirm" in refused.content[0].text
        done = await client.call_tool("delete_channel", {**CHANNEL, "confirm": True})
        assert not done.is_error, done
    transcript.assert_no_leaks()


async def test_read_only_profile_refuses_writes(tmp_path):
    transcript = Transcript(new_secret())
    async with stdio_session(tmp_path, transcript, "--read-only") as client:
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "SendMessage", "arguments": {**CHANNEL, "message": {"text": "x"}}},
        )
        assert error and payload["field"] == "read_only"
        payload, error = await client.call(
            "execute_operation", {"operation_id": "QueryChannels", "arguments": {}}
        )
        assert not error, payload
        payload, _ = await client.call("load_operation", {"operation_id": "SendMessage"})
        assert payload["auth"] == "refused"
    transcript.assert_no_leaks()
