"""Everyday agent tasks through the MCP server on the sandbox, as an agent would call them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from stream_mcp.config import Settings
from stream_mcp.runtime import embedded_sandbox, open_service
from stream_mcp.server import build_server

SECRET = "agent-tasks-secret-0123456789abcdef"


class Agent:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def run(self, op: str, arguments: dict[str, Any], **extra: Any) -> dict[str, Any]:
        result = await self.client.call_tool(
            "execute_operation", {"operation_id": op, "arguments": arguments, **extra}
        )
        payload = dict(result.structured_content or {})
        payload["is_error"] = bool(result.is_error)
        return payload

    async def ok(self, op: str, arguments: dict[str, Any], **extra: Any) -> Any:
        payload = await self.run(op, arguments, **extra)
        assert not payload["is_error"], payload
        return payload["data"]


@pytest.fixture
def settings(monkeypatch, tmp_path) -> Settings:
    monkeypatch.setenv("STREAM_API_KEY", "tasks-key")
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    return Settings(data_dir=tmp_path)


@asynccontextmanager
async def sandbox_agent(settings: Settings) -> AsyncIterator[Agent]:
    """The real server on an embedded sandbox, with alice, bob and carol (one task)."""
    with embedded_sandbox(settings, ":memory:") as handle:
        async with (
            open_service(settings, handle.credentials) as service,
            Client(build_server(service)) as client,
        ):
            agent = Agent(client)
            users = {u: {"id": u, "name": u.title()} for u in ("alice", "bob", "carol")}
            await agent.ok("UpdateUsers", {"users": users}, confirm=True)
            yield agent


async def _channel(agent: Agent, cid: str, members: list[str]) -> None:
    await agent.ok(
        "GetOrCreateChannel",
        {"type": "messaging", "id": cid, "data": {"members": members}},
        as_user=members[0],
    )


@pytest.mark.parametrize(("behavior", "blocked"), [("block", True), ("flag", False)])
async def test_a_blocklist_on_the_messaging_type_applies_to_every_channel(
    settings: Settings, behavior: str, blocked: bool
) -> None:
    async with sandbox_agent(settings) as agent:
        await _blocklist_task(agent, behavior, blocked)


async def _blocklist_task(agent: Agent, behavior: str, blocked: bool) -> None:
    await agent.ok("CreateBlockList", {"name": "no-refunds", "words": ["refund"]})
    await agent.ok(
        "UpdateChannelType",
        {
            "name": "messaging",
            "blocklist": "no-refunds",
            "blocklist_behavior": behavior,
            "automod": "disabled",
            "automod_behavior": "flag",
            "max_message_length": 5000,
        },
        confirm=True,  # replaces the type's settings for every messaging channel
    )
    await _channel(agent, "support-1", ["alice", "bob"])
    sent = await agent.run(
        "SendMessage",
        {"type": "messaging", "id": "support-1", "message": {"text": "I want a refund now"}},
        as_user="alice",
    )
    clean = await agent.ok(
        "SendMessage",
        {"type": "messaging", "id": "support-1", "message": {"text": "hello there"}},
        as_user="alice",
    )
    assert clean["message"]["text"] == "hello there"
    if blocked:
        # Stream keeps the message but replaces it with an error message only the sender sees.
        message = sent.get("data", {}).get("message", {})
        assert sent["is_error"] or message.get("type") == "error", sent
    else:
        assert not sent["is_error"]
        flags = await agent.ok("QueryMessageFlags", {"filter_conditions": {}})
        assert any(
            f.get("message", {}).get("text") == "I want a refund now" for f in flags["flags"]
        ), flags


async def test_archive_and_unarchive_for_one_member(settings: Settings) -> None:
    async with sandbox_agent(settings) as agent:
        await _archive_task(agent)


async def _archive_task(agent: Agent) -> None:
    await _channel(agent, "team-1", ["alice", "bob"])
    target = {"type": "messaging", "id": "team-1"}
    archived = await agent.ok(
        "UpdateMemberPartial", {**target, "set": {"archived": True}}, as_user="bob"
    )
    assert archived["channel_member"]["archived_at"]
    mine = await agent.ok("QueryChannels", {"filter_conditions": {"archived": True}}, as_user="bob")
    assert [c["channel"]["id"] for c in mine["channels"]] == ["team-1"]
    alices = await agent.ok(
        "QueryChannels", {"filter_conditions": {"archived": True}}, as_user="alice"
    )
    assert alices["channels"] == []  # archiving is per member
    back = await agent.ok("UpdateMemberPartial", {**target, "unset": ["archived"]}, as_user="bob")
    assert not back["channel_member"].get("archived_at")


async def test_a_campaign_that_finishes_shows_as_finished(settings: Settings) -> None:
    async with sandbox_agent(settings) as agent:
        await _campaign_task(agent)


async def _campaign_task(agent: Agent) -> None:
    created = await agent.ok(
        "CreateCampaign",
        {
            "sender_id": "agent-bot",
            "user_ids": ["alice", "bob"],
            "message_template": {"text": "Our office is closed on Friday"},
            "create_channels": True,
            "channel_template": {"type": "messaging"},
        },
    )
    campaign_id = created["campaign"]["id"]
    await agent.ok("StartCampaign", {"id": campaign_id}, confirm=True)
    got = await agent.ok("GetCampaign", {"id": campaign_id})
    campaign = got["campaign"]
    assert campaign["status"] == "completed"
    assert campaign["stats"]["stats_messages_sent"] == 2
    assert campaign["stats"]["stats_completed_at"]


async def test_results_are_compact_by_default_and_raw_on_request(settings: Settings) -> None:
    async with sandbox_agent(settings) as agent:
        await _channel(agent, "chat-1", ["alice", "bob", "carol"])
        for who in ("alice", "bob", "alice", "carol"):
            await agent.ok(
                "SendMessage",
                {"type": "messaging", "id": "chat-1", "message": {"text": f"hello from {who}"}},
                as_user=who,
            )
        args = {"type": "messaging", "id": "chat-1"}
        compact = await agent.ok("GetOrCreateChannel", args, as_user="alice")
        raw = await agent.ok("GetOrCreateChannel", args, as_user="alice", detail="raw")
        picked = await agent.ok(
            "GetOrCreateChannel", args, as_user="alice", select="messages[].user.id"
        )
    assert len(json.dumps(compact)) <= 0.6 * len(json.dumps(raw))
    assert [m["user"]["id"] for m in compact["messages"]] == picked
    assert (
        [m["user"]["id"] for m in raw["messages"]] == picked == ["alice", "bob", "alice", "carol"]
    )


async def test_creating_users_needs_no_confirmation_overwriting_one_does(
    settings: Settings,
) -> None:
    async with sandbox_agent(settings) as agent:
        fresh = {u: {"id": u, "name": u} for u in ("dora", "eve", "finn")}
        created = await agent.ok("UpdateUsers", {"users": fresh})  # no confirm: nothing lost
        assert set(created["users"]) == {"dora", "eve", "finn"}
        mixed = {"gus": {"id": "gus"}, "alice": {"id": "alice"}}  # alice exists: replaced
        refused = await agent.run("UpdateUsers", {"users": mixed})
        assert refused["is_error"] and refused["error"] == "not_confirmed"
        assert (await agent.run("UpdateUsers", {"users": mixed}, confirm=True))["is_error"] is False
