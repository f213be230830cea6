"""A rule-based support agent on stream-mcp: no LLM, just the MCP tools an agent would use.

It waits for ``message.new`` events in ``messaging:support-*`` channels with
``wait_for_events`` and answers each customer as ``agent-bot`` with ``execute_operation``.
Its cursor (``next``) is what makes it reliable: every event after it is delivered once, even
across restarts, and gaps left by lost webhooks are filled from Stream's Sync.

Run it against the embedded sandbox, where it also plays two customers so there is something
to answer:

    .venv/bin/python examples/support_agent.py --demo

Against your own app, point it at a server command (it never sees your secret):

    .venv/bin/python examples/support_agent.py -- stream-mcp serve --profile prod
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

AGENT = "agent-bot"
RULES = (
    (("refund", "money back"), "Refunds go back to the original card within 5 business days."),
    (("hours", "open"), "We answer around the clock; a person joins weekdays 9-17 CET."),
    (("password", "log in", "login"), "Use 'Forgot password' on the sign-in page."),
)
FALLBACK = "Thanks! A teammate will pick this up shortly."


def answer(text: str) -> str:
    lowered = text.lower()
    for words, reply in RULES:
        if any(word in lowered for word in words):
            return reply
    return FALLBACK


class Agent:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        payload = json.loads(result.content[0].text)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {payload.get('message')}")
        return payload

    async def execute(self, operation: str, arguments: dict[str, Any], **extra: Any) -> Any:
        payload = await self.call(
            "execute_operation", {"operation_id": operation, "arguments": arguments, **extra}
        )
        return payload["data"]

    async def serve(self, cursor: str | None, answers: int | None) -> str | None:
        """Answer customers until ``answers`` replies were sent (None: forever)."""
        sent = 0
        while answers is None or sent < answers:
            got = await self.call(
                "wait_for_events",
                {
                    **({"after": cursor} if cursor else {}),
                    "types": ["message.new"],
                    "channels": ["messaging:support-*"],
                    "timeout_seconds": 25,
                },
            )
            cursor = got["next"]
            for event in got["events"]:
                message = event.get("message", {})
                if event.get("user_id") == AGENT or message.get("parent_id"):
                    continue  # our own replies, and threads a person took over
                kind, ident = event["cid"].split(":", 1)
                reply = answer(message.get("text", ""))
                await self.execute(
                    "SendMessage",
                    {"type": kind, "id": ident, "message": {"text": reply}},
                    as_user=AGENT,
                )
                print(f"{event['cid']}: {message.get('text')!r} -> {reply!r}")
                sent += 1
        return cursor


async def play_customers(agent: Agent) -> None:
    """The --demo half: two customers open support channels and ask something."""
    people = {u: {"id": u} for u in ("dana", "eli", AGENT)}
    await agent.execute("UpdateUsers", {"users": people}, confirm=True)
    for customer, question in (("dana", "How do I get a refund?"), ("eli", "Are you open now?")):
        channel = f"support-{customer}"
        await agent.execute(
            "GetOrCreateChannel",
            {"type": "messaging", "id": channel, "data": {"members": [customer, AGENT]}},
            as_user=customer,
        )
        await agent.execute(
            "SendMessage",
            {"type": "messaging", "id": channel, "message": {"text": question}},
            as_user=customer,
        )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="store_true", help="run on the embedded sandbox")
    parser.add_argument("command", nargs="*", help="the MCP server command (after --)")
    args = parser.parse_args(argv)
    if args.demo:
        command = [sys.executable, "-m", "stream_mcp", "serve", "--sandbox"]
        command += ["--sandbox-db", ":memory:"]
    elif args.command:
        command = args.command
    else:
        parser.error("give --demo or a server command after --")
    params = StdioServerParameters(command=command[0], args=command[1:])
    async with Client(stdio_client(params)) as client:
        agent = Agent(client)
        start = await agent.call("wait_for_events", {"timeout_seconds": 0})
        if args.demo:
            await play_customers(agent)
            await agent.serve(start["next"], answers=2)
            return 0
        await agent.serve(start["next"], answers=None)
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:]))
