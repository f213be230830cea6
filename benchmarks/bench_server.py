"""Server benchmark: discovery tool-list size, cold start, and execute round trips.

    .venv/bin/python benchmarks/bench_server.py [--rounds 5] [--calls 200]

Cold start is spawn-to-first-tools/list over stdio, reported as a ratio against a bare
one-tool mcp low-level server spawned the same way, interleaved in the same run. Round
trips are ``execute_operation`` calls through the MCP client to the server and on to its
embedded sandbox over HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.server._server import discovery_tokens

BARE_SERVER = """
import anyio, mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="echo", input_schema={"type": "object"})])

server = Server("bare", on_list_tools=list_tools)

async def main():
    async with stdio_server() as (r, w):
        await server.run(r, w, server.create_initialization_options())

anyio.run(main)
"""

ENV = {"STREAM_MCP_LOG_LEVEL": "WARNING", "STREAM_MCP_BUDGET_PER_MINUTE": "1000000"}


def ours() -> StdioServerParameters:
    args = ["-m", "stream_mcp", "serve", "--sandbox", "--sandbox-db", ":memory:"]
    return StdioServerParameters(command=sys.executable, args=args, env=ENV)


def bare() -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER])


async def cold_start(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        return time.perf_counter() - started


async def round_trips(calls: int) -> list[float]:
    timings: list[float] = []
    async with Client(ours(), mode="legacy") as client:
        users = {u: {"id": u} for u in ("alice", "bob")}
        await client.call_tool(
            "execute_operation",
            {"operation_id": "UpdateUsers", "arguments": {"users": users}, "confirm": True},
        )
        channel = {"type": "messaging", "id": "bench"}
        await client.call_tool(
            "execute_operation",
            {
                "operation_id": "GetOrCreateChannel",
                "arguments": {**channel, "data": {"members": ["alice", "bob"]}},
                "as_user": "alice",
            },
        )
        for i in range(calls):
            if i % 2:
                args = {"operation_id": "QueryChannels", "arguments": {}, "as_user": "bob"}
            else:
                message = {"text": f"message {i}"}
                args = {
                    "operation_id": "SendMessage",
                    "arguments": {**channel, "message": message},
                    "as_user": "alice",
                    "select": "message.id",
                }
            started = time.perf_counter()
            result = await client.call_tool("execute_operation", args)
            timings.append(time.perf_counter() - started)
            if result.is_error:
                raise SystemExit(f"round trip failed: {result.content}")
    return timings


async def main(rounds: int, calls: int) -> None:
    print(f"discovery tool list: {discovery_tokens()} tokens (bytes/4)")
    mine, baseline = [], []
    for _ in range(rounds):
        baseline.append(await cold_start(bare()))
        mine.append(await cold_start(ours()))
    m, b = statistics.median(mine), statistics.median(baseline)
    print(
        f"cold start (spawn to first tools/list), median of {rounds}: stream-mcp --sandbox "
        f"{m * 1000:.0f} ms, bare one-tool server {b * 1000:.0f} ms, ratio {m / b:.2f}x"
    )
    timings = sorted(await round_trips(calls))
    p50 = timings[len(timings) // 2] * 1000
    p95 = timings[int(len(timings) * 0.95) - 1] * 1000
    print(
        f"execute_operation round trips ({calls}, SendMessage/QueryChannels alternating): "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    options = parser.parse_args()
    anyio.run(main, options.rounds, options.calls)
