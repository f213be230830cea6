"""Twelve everyday agent tasks through the real MCP server on the embedded sandbox.

    python benchmarks/bench_agent_tasks.py

Each task is a fixed call script: a search and a load for every operation it uses (what an
agent does to discover them), then the executions. It runs twice in the same process, on a
fresh sandbox each time:

- ``before``: what an agent read before compact results and response outlines: every
  execution with ``detail: "raw"`` and no ``select``;
- ``after``: compact results, and a ``select`` where the task only needs a few fields (the
  kind ``load_operation``'s outline now suggests).

It prints calls, failed calls and tokens read (compact JSON bytes / 4) per task and overall.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import Client

from stream_mcp.config import Settings
from stream_mcp.limits import estimate_tokens
from stream_mcp.runtime import embedded_sandbox, open_service
from stream_mcp.server import build_server


@dataclass
class Tally:
    calls: int = 0
    failed: int = 0
    tokens: int = 0
    failures: list[str] = field(default_factory=list)


class Agent:
    """Runs one task's calls and counts what the agent reads."""

    def __init__(self, client: Client, after: bool) -> None:
        self.client = client
        self.after = after
        self.tally = Tally()
        self._known: set[str] = set()

    async def _call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        payload = dict(result.structured_content or {})
        self.tally.calls += 1
        self.tally.tokens += estimate_tokens(payload)
        if result.is_error:
            self.tally.failed += 1
            self.tally.failures.append(f"{tool} {arguments.get('operation_id', '')}: {payload}")
        return payload

    async def run(
        self,
        op: str,
        arguments: dict[str, Any],
        *,
        select: str | None = None,
        intent: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        if op not in self._known:  # discovery, the same in both runs
            self._known.add(op)
            await self._call("search_operations", {"query": intent or op, "limit": 3})
            await self._call("load_operation", {"operation_id": op})
        call: dict[str, Any] = {"operation_id": op, "arguments": arguments, **extra}
        if self.after:
            if select:
                call["select"] = select
        else:
            call["detail"] = "raw"
        return await self._call("execute_operation", call)


Task = Callable[[Agent], Awaitable[None]]


def picked(payload: dict[str, Any], *path: str) -> str:
    """An id from a result: the selected string (after) or the same path in the body (before),
    so both runs go on to do the same work."""
    data: Any = payload.get("data")
    if isinstance(data, str):
        return data
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, str) else "missing"


CHANNEL = {"type": "messaging", "id": "general"}


async def users_channel_token_send(a: Agent) -> None:
    users = {u: {"id": u, "name": u.title(), "role": "user"} for u in ("alice", "bob", "carol")}
    await a.run("UpdateUsers", {"users": users}, select="keys(users)", intent="create users")
    await a.run(
        "GetOrCreateChannel",
        {**CHANNEL, "data": {"members": ["alice", "bob", "carol"]}},
        as_user="alice",
        select="channel.cid",
        intent="create a channel with members",
    )
    await a._call("issue_user_token", {"user_id": "alice"})
    await a.run(
        "SendMessage",
        {**CHANNEL, "message": {"text": "hello team"}},
        as_user="alice",
        select="message.id",
        intent="send a message",
    )


async def read_last_messages_and_reply(a: Agent) -> None:
    for n in range(6):
        await a.run(
            "SendMessage",
            {**CHANNEL, "message": {"text": f"question {n}: where is my order?"}},
            as_user="bob" if n % 2 else "carol",
            select="message.id",
            intent="send a message",
        )
    await a.run(
        "GetOrCreateChannel",
        {**CHANNEL, "messages": {"limit": 20}},
        as_user="agent-bot",
        select="messages[].{id: id, text: text, user: user.id}",
        intent="read the last 20 messages of a channel",
    )
    await a.run(
        "SendMessage",
        {**CHANNEL, "message": {"text": "Thanks, checking now."}},
        select="message.id",
        intent="reply in a channel as the bot",
    )


async def blocklist_on_channel_type(a: Agent) -> None:
    await a.run(
        "CreateBlockList",
        {"name": "no-spam", "words": ["casino", "lottery"]},
        intent="create a blocklist",
    )
    await a.run(
        "UpdateChannelType",
        {
            "name": "messaging",
            "blocklist": "no-spam",
            "blocklist_behavior": "block",
            "automod": "disabled",
            "automod_behavior": "flag",
            "max_message_length": 5000,
        },
        confirm=True,
        select="blocklist",
        intent="enable a blocklist on a channel type",
    )


async def campaign_started_and_verified(a: Agent) -> None:
    created = await a.run(
        "CreateCampaign",
        {
            "sender_id": "agent-bot",
            "user_ids": ["alice", "bob"],
            "message_template": {"text": "Office closed Friday"},
            "create_channels": True,
            "channel_template": {"type": "messaging"},
        },
        select="campaign.id",
        intent="create a campaign",
    )
    campaign_id = picked(created, "campaign", "id")
    await a.run("StartCampaign", {"id": campaign_id}, confirm=True, select="campaign.status")
    await a.run(
        "GetCampaign",
        {"id": campaign_id},
        select="campaign.{status: status, sent: stats.stats_messages_sent}",
        intent="check a campaign's status",
    )


async def users_channels(a: Agent) -> None:
    await a.run(
        "QueryChannels",
        {"filter_conditions": {"members": {"$in": ["bob"]}}, "limit": 10},
        as_user="bob",
        select="channels[].channel.cid",
        intent="which channels is bob in",
    )


async def mute_shadow_ban_unban(a: Agent) -> None:
    await a.run("mute", {"target_ids": ["carol"], "timeout": 60}, as_user="bob", intent="mute")
    await a.run(
        "ban",
        {"target_user_id": "carol", "shadow": True, "reason": "spam"},
        confirm=True,
        intent="shadow ban a user",
    )
    await a.run("unban", {"target_user_id": "carol"}, intent="unban a user")


async def flag_then_queue(a: Agent) -> None:
    sent = await a.run(
        "SendMessage",
        {**CHANNEL, "message": {"text": "buy followers here"}},
        as_user="carol",
        select="message.id",
    )
    message_id = picked(sent, "message", "id")
    await a.run(
        "flag",
        {
            "entity_type": "stream:chat:v1:message",
            "entity_id": message_id,
            "entity_creator_id": "carol",
            "reason": "spam",
        },
        as_user="bob",
        intent="flag a message",
    )
    await a.run(
        "query_review_queue",
        {"limit": 10},
        select="items[].{id: id, entity: entity_id, status: status}",
        intent="moderation review queue",
    )


async def thread_reply_then_list(a: Agent) -> None:
    parent = await a.run(
        "SendMessage",
        {**CHANNEL, "message": {"text": "release notes?"}},
        as_user="alice",
        select="message.id",
    )
    parent_id = picked(parent, "message", "id")
    await a.run(
        "SendMessage",
        {**CHANNEL, "message": {"text": "coming tomorrow", "parent_id": parent_id}},
        as_user="bob",
        select="message.id",
    )
    await a.run(
        "GetReplies",
        {"parent_id": parent_id},
        as_user="alice",
        select="messages[].{id: id, text: text, user: user.id}",
        intent="list replies in a thread",
    )


async def react_then_unreact(a: Agent) -> None:
    sent = await a.run(
        "SendMessage",
        {**CHANNEL, "message": {"text": "lunch?"}},
        as_user="alice",
        select="message.id",
    )
    message_id = picked(sent, "message", "id")
    await a.run(
        "SendReaction",
        {"id": message_id, "reaction": {"type": "like"}},
        as_user="bob",
        select="reaction.type",
        intent="react to a message",
    )
    await a.run(
        "DeleteReaction",
        {"id": message_id, "type": "like"},
        as_user="bob",
        select="message.id",
        intent="remove my reaction",
    )


async def archive_unarchive(a: Agent) -> None:
    await a.run(
        "UpdateMemberPartial",
        {**CHANNEL, "set": {"archived": True}},
        as_user="bob",
        select="channel_member.archived_at",
        intent="archive a channel for a user",
    )
    await a.run(
        "UpdateMemberPartial",
        {**CHANNEL, "unset": ["archived"]},
        as_user="bob",
        select="channel_member.user_id",
    )


async def custom_fields_then_query(a: Agent) -> None:
    await a.run(
        "UpdateUsersPartial",
        {"users": [{"id": "bob", "set": {"tier": "gold"}}]},
        select="keys(users)",
        intent="set a custom field on a user",
    )
    await a.run(
        "QueryUsers",
        {"filter_conditions": {"tier": "gold"}},
        select="users[].id",
        intent="find users by a custom field",
    )


async def truncate_channel(a: Agent) -> None:
    await a.run(
        "TruncateChannel",
        {**CHANNEL},
        confirm=True,
        select="channel.cid",
        intent="clear all messages in a channel",
    )


TASKS: list[tuple[str, Task]] = [
    ("users, channel, token, send", users_channel_token_send),
    ("read last 20, reply as bot", read_last_messages_and_reply),
    ("blocklist on a channel type", blocklist_on_channel_type),
    ("campaign started, verified", campaign_started_and_verified),
    ("a user's channels", users_channels),
    ("mute, shadow ban, unban", mute_shadow_ban_unban),
    ("flag, read the queue", flag_then_queue),
    ("thread reply, list replies", thread_reply_then_list),
    ("react, unreact", react_then_unreact),
    ("archive, unarchive", archive_unarchive),
    ("custom fields, query by them", custom_fields_then_query),
    ("truncate a channel", truncate_channel),
]


async def run_all(after: bool) -> list[tuple[str, Tally]]:
    os.environ.setdefault("STREAM_API_KEY", "bench-agent-key")
    os.environ.setdefault("STREAM_API_SECRET", "bench-agent-secret-0123456789abcdef")
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch))
        with embedded_sandbox(settings, ":memory:") as handle:
            async with (
                open_service(settings, handle.credentials) as service,
                Client(build_server(service)) as client,
            ):
                out = []
                for name, task in TASKS:
                    agent = Agent(client, after)
                    await task(agent)
                    out.append((name, agent.tally))
                return out


def main() -> int:
    before = anyio.run(run_all, False)
    after = anyio.run(run_all, True)
    print(f"{'task':<30} {'calls':>5} {'fail':>4} {'tokens before':>13} {'after':>6} {'ratio':>6}")
    total_before = total_after = 0
    for (name, b), (_, a) in zip(before, after, strict=True):
        total_before += b.tokens
        total_after += a.tokens
        ratio = a.tokens / b.tokens if b.tokens else 0.0
        print(f"{name:<30} {a.calls:>5} {a.failed:>4} {b.tokens:>13} {a.tokens:>6} {ratio:>6.2f}")
    drop = 1 - total_after / total_before
    failed = sum(t.failed for _, t in after)
    failed_before = sum(t.failed for _, t in before)
    print(
        f"{'all':<30} {sum(t.calls for _, t in after):>5} {failed:>4} "
        f"{total_before:>13} {total_after:>6} {total_after / total_before:>6.2f}"
    )
    print(f"tokens read fall by {drop:.0%} (goal >= 40%); failed calls before: {failed_before}")
    for _, tally in before + after:
        for failure in tally.failures:
            print("  failed:", json.dumps(failure)[:300])
    return 0


if __name__ == "__main__":
    sys.exit(main())
