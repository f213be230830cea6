"""``stream-mcp demo``: the newcomer's tour, through the real MCP protocol.

It spawns ``stream-mcp serve --sandbox`` as a subprocess, connects to it over stdio with the
mcp ``Client`` (as Claude Desktop would), and walks a short scenario, printing each step and
its result. Nothing is mocked: the server talks HTTP to the embedded Stream sandbox.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from typing import Any, TextIO

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from stream_mcp.observability import redact_text

PASSED_ENV = ("STREAM_API_KEY", "STREAM_API_SECRET", "STREAM_MCP_SPEC", "STREAM_MCP_AUDIT_LOG")


def server_parameters(extra_args: tuple[str, ...] = ()) -> StdioServerParameters:
    """How to spawn our own server on the sandbox, with this interpreter."""
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env["STREAM_MCP_LOG_FORMAT"] = "json"
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "stream_mcp", "serve", "--sandbox", "--sandbox-db", ":memory:", *extra_args],
        env=env,
    )


class DemoFailed(Exception):
    """A step did not give the result the scenario expects."""


def _payload(result: types.CallToolResult) -> dict[str, Any]:
    if result.structured_content is not None:
        return dict(result.structured_content)
    text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
    return json.loads(text) if text else {}


def _short(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Tour:
    """Runs the steps and prints them; raises :class:`DemoFailed` when one goes wrong."""

    def __init__(self, client: Client, out: TextIO) -> None:
        self.client = client
        self.out = out
        self.step = 0

    def say(self, title: str) -> None:
        self.step += 1
        print(f"\n[{self.step}] {title}", file=self.out)

    async def call(
        self, tool: str, args: dict[str, Any], *, expect_error: bool = False
    ) -> dict[str, Any]:
        shown = {k: v for k, v in args.items() if v is not None}
        print(f"    → {tool} {_short(shown, 300)}", file=self.out)
        result = await self.client.call_tool(tool, args)
        payload = _payload(result)
        mark = "✗ refused" if result.is_error else "✓"
        print(f"    {mark} {_short(payload)}", file=self.out)
        if bool(result.is_error) != expect_error:
            raise DemoFailed(
                f"{tool} {'succeeded' if not result.is_error else 'failed'}: {payload}"
            )
        return payload


async def run_tour(client: Client, out: TextIO) -> None:
    tour = Tour(client, out)
    channel_id = f"demo-{uuid.uuid4().hex[:8]}"

    tour.say('Search for "create a channel with two members"')
    found = await tour.call(
        "search_operations", {"query": "create a channel with two members", "limit": 3}
    )
    op_id = found["hits"][0]["operation_id"]

    tour.say(f"Load the input schema of {op_id}")
    loaded = await tour.call("load_operation", {"operation_id": op_id})
    required = loaded["input_schema"].get("required", [])
    print(f"    required arguments: {', '.join(required)}", file=out)

    tour.say("Create alice, bob and carol as the agent (UpdateUsers replaces users: confirmed)")
    people = {name: {"id": name, "name": name.title()} for name in ("alice", "bob", "carol")}
    await tour.call(
        "execute_operation",
        {
            "operation_id": "UpdateUsers",
            "arguments": {"users": people},
            "select": "keys(users)",
            "confirm": True,
        },
    )

    tour.say(f"Create messaging channel {channel_id} for alice and bob, as alice")
    await tour.call(
        "execute_operation",
        {
            "operation_id": "GetOrCreateChannel",
            "arguments": {
                "type": "messaging",
                "id": channel_id,
                "data": {"members": ["alice", "bob"], "name": "Demo"},
            },
            "as_user": "alice",
            "select": "{cid: channel.cid, members: members[].user_id}",
        },
    )

    tour.say('Send "Hi from the agent" as alice')
    sent = await tour.call(
        "execute_operation",
        {
            "operation_id": "SendMessage",
            "arguments": {
                "type": "messaging",
                "id": channel_id,
                "message": {"text": "Hi from the agent"},
            },
            "as_user": "alice",
            "select": "message.{id: id, text: text, user: user.id}",
        },
    )
    message_id = sent["data"]["id"]

    tour.say("Read it as bob")
    read = await tour.call(
        "execute_operation",
        {
            "operation_id": "QueryChannels",
            "arguments": {"filter_conditions": {"cid": f"messaging:{channel_id}"}},
            "as_user": "bob",
            "select": "channels[0].messages[].{text: text, from: user.id}",
        },
    )
    if not any(m.get("text") == "Hi from the agent" for m in read["data"] or []):
        raise DemoFailed(f"bob did not see the message: {read}")

    tour.say("The agent listens for chat events; bob replies")
    start = await tour.call("wait_for_events", {"timeout_seconds": 0})
    await tour.call(
        "execute_operation",
        {
            "operation_id": "SendMessage",
            "arguments": {
                "type": "messaging",
                "id": channel_id,
                "message": {"text": "Thanks, got it!"},
            },
            "as_user": "bob",
            "select": "message.id",
        },
    )
    heard = await tour.call(
        "wait_for_events",
        {
            "after": start["next"],
            "types": ["message.new"],
            "channels": [f"messaging:{channel_id}"],
            "timeout_seconds": 20,
        },
    )
    replies = [e for e in heard["events"] if e.get("user_id") == "bob"]
    if not replies or replies[0].get("message", {}).get("text") != "Thanks, got it!":
        raise DemoFailed(f"the agent did not hear bob's reply: {heard}")

    tour.say("Carol is not a member: she is refused")
    await tour.call(
        "execute_operation",
        {
            "operation_id": "SendMessage",
            "arguments": {"type": "messaging", "id": channel_id, "message": {"text": "let me in"}},
            "as_user": "carol",
        },
        expect_error=True,
    )

    tour.say("Issue a token for alice's frontend")
    issued = await tour.call("issue_user_token", {"user_id": "alice", "ttl_seconds": 600})
    print(f"    token for {issued['user_id']} expires at {issued['expires_at']}", file=out)

    tour.say("Bob flags alice's message for the moderators")
    await tour.call(
        "execute_operation",
        {
            "operation_id": "flag",
            "arguments": {
                "entity_type": "stream:chat:v1:message",
                "entity_id": message_id,
                "entity_creator_id": "alice",
                "reason": "demo",
            },
            "as_user": "bob",
        },
    )

    tour.say("The agent bans carol: refused until confirmed, then done")
    ban = {
        "operation_id": "ban",
        "arguments": {"target_user_id": "carol", "reason": "demo", "timeout": 60},
    }
    await tour.call("execute_operation", ban, expect_error=True)
    await tour.call("execute_operation", {**ban, "confirm": True})


async def _main(out: TextIO) -> int:
    failure: str | None = None
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        try:
            transport = stdio_client(server_parameters(), errlog=errlog)
            async with Client(transport, mode="legacy") as client:
                tools = await client.list_tools()
                names = ", ".join(t.name for t in tools.tools)
                print(f"stream-mcp demo: server up on the sandbox; tools: {names}", file=out)
                try:
                    await run_tour(client, out)
                except DemoFailed as exc:  # caught here, inside the client's task group
                    failure = str(exc)
        except Exception as exc:  # the server did not start or died: show why
            failure = f"{exc.__class__.__name__}: {exc}"
        if failure is not None:
            print(f"\ndemo failed: {redact_text(failure)}", file=sys.stderr)
            _tail(errlog)
            return 1
    print("\nDone. Connect your own client with: stream-mcp config claude", file=out)
    return 0


def _tail(errlog: TextIO, lines: int = 15) -> None:
    errlog.seek(0)
    tail = errlog.read().splitlines()[-lines:]
    if tail:
        print("server log (last lines):", file=sys.stderr)
        for line in tail:
            print("  " + redact_text(line), file=sys.stderr)


def run_demo(out: TextIO = sys.stdout) -> int:
    return anyio.run(_main, out)
