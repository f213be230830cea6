"""Server benchmark: discovery tool-list size, cold start, and execute round trips.

    .venv/bin/python benchmarks/bench_server.py [--rounds 7] [--warmup 1] [--calls 200]

Cold start is spawn-to-first-tools/list over stdio for three servers, spawned the same way
with this interpreter and measured in the same run, their repetitions interleaved (the order
rotates every round) so that drift on a busy machine hits all three alike:

* ``bare``: a one-tool mcp low-level server, the floor any Python MCP server pays;
* ``sandbox``: ``stream-mcp serve --sandbox`` (starts the embedded sandbox too);
* ``env``: ``stream-mcp serve`` on an environment profile (``STREAM_API_KEY``,
  ``STREAM_API_SECRET``, ``STREAM_BASE_URL`` on a loopback URL), with no vault file.

It prints each median and its ratio to the bare server's. Round trips are
``execute_operation`` calls through the MCP client to the server and on to its embedded
sandbox over HTTP.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
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

# A bare server whose one tool makes the raw httpx2 call our GetApp execution makes.
BARE_CALLER = """
import json, os, sys, anyio, httpx2, mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

BASE, KEY, TOKEN = os.environ["BENCH_BASE"], os.environ["BENCH_KEY"], os.environ["BENCH_TOKEN"]
client = httpx2.AsyncClient(timeout=30, trust_env=False)

async def list_tools(ctx, params):
    tool = types.Tool(name="get_app", input_schema={"type": "object"})
    return types.ListToolsResult(tools=[tool])

async def call_tool(ctx, params):
    response = await client.get(
        f"{BASE}/api/v2/app",
        params={"api_key": KEY},
        headers={"Authorization": TOKEN, "Stream-Auth-Type": "jwt"},
    )
    data = response.json()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(data))], structured_content=data
    )

server = Server("bare-caller", on_list_tools=list_tools, on_call_tool=call_tool)

async def main():
    async with stdio_server() as (r, w):
        await server.run(r, w, server.create_initialization_options())

anyio.run(main)
"""

ENV = {"STREAM_MCP_LOG_LEVEL": "WARNING", "STREAM_MCP_BUDGET_PER_MINUTE": "1000000"}
# Nothing listens there: listing tools never calls Stream. A closed loopback port fails fast
# if something did.
LOOPBACK_URL = "http://127.0.0.1:9"


def bare() -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER])


def ours() -> StdioServerParameters:
    args = ["-m", "stream_mcp", "serve", "--sandbox", "--sandbox-db", ":memory:"]
    return StdioServerParameters(command=sys.executable, args=args, env=ENV)


def env_profile(scratch: Path) -> StdioServerParameters:
    """``serve`` on environment credentials; the vault path is set to a file that does not
    exist, so a developer's own vault cannot be picked up instead."""
    env = {
        **ENV,
        "STREAM_API_KEY": "bench-key",
        "STREAM_API_SECRET": "bench-secret-" + "x" * 32,
        "STREAM_BASE_URL": LOOPBACK_URL,
        "STREAM_MCP_VAULT_PATH": str(scratch / "no-vault.json"),
        "STREAM_MCP_DATA_DIR": str(scratch),
    }
    return StdioServerParameters(
        command=sys.executable, args=["-m", "stream_mcp", "serve"], env=env
    )


async def cold_start(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        return time.perf_counter() - started


async def cold_starts(
    servers: dict[str, Callable[[], StdioServerParameters]], rounds: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds per server; each round runs every server once, in a rotated order."""
    names = list(servers)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for i in range(warmup + rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = await cold_start(servers[name]())
            if i >= warmup:
                timings[name].append(seconds)
    return timings


async def round_trips(calls: int) -> list[float]:
    """Seconds per call. The acting user rotates over a pool: the sandbox enforces Stream's
    limit of 60 calls a minute per user and endpoint for user tokens."""
    timings: list[float] = []
    pool = [f"user{k}" for k in range(max(2, calls // 40 + 1))]
    async with Client(ours(), mode="legacy") as client:
        users = {u: {"id": u} for u in pool}
        await client.call_tool(
            "execute_operation",
            {"operation_id": "UpdateUsers", "arguments": {"users": users}, "confirm": True},
        )
        channel = {"type": "messaging", "id": "bench"}
        await client.call_tool(
            "execute_operation",
            {
                "operation_id": "GetOrCreateChannel",
                "arguments": {**channel, "data": {"members": pool}},
                "as_user": pool[0],
            },
        )
        for i in range(calls):
            user = pool[(i // 2) % len(pool)]
            if i % 2:
                args = {"operation_id": "QueryChannels", "arguments": {}, "as_user": user}
            else:
                message = {"text": f"message {i}"}
                args = {
                    "operation_id": "SendMessage",
                    "arguments": {**channel, "message": message},
                    "as_user": user,
                    "select": "message.id",
                }
            started = time.perf_counter()
            result = await client.call_tool("execute_operation", args)
            timings.append(time.perf_counter() - started)
            if result.is_error:
                raise SystemExit(f"round trip failed: {result.content}")
    return timings


async def against_bare_caller(calls: int, rounds: int) -> tuple[float, float]:
    """Median seconds per GetApp round trip: (bare one-tool server, stream-mcp serve), both
    on stdio, both reaching the same standalone sandbox, interleaved in rounds."""
    import os

    from stream_mcp.auth import Signer
    from stream_mcp.sandbox import Sandbox
    from stream_mcp.sandbox.ratelimit import RateLimits

    with tempfile.TemporaryDirectory(prefix="bench-rt-") as tmp:
        # Rate limits off: the comparison measures the servers, not Stream's 60-a-minute limit.
        sandbox = Sandbox(db=":memory:", rate_limits=RateLimits(enabled=False)).start()
        try:
            token = Signer(sandbox.api_secret).sign_user("bench-user", 3600)
            base_env = {**os.environ, **ENV}
            bare_caller = StdioServerParameters(
                command=sys.executable,
                args=["-c", BARE_CALLER],
                env={
                    **base_env,
                    "BENCH_BASE": sandbox.base_url,
                    "BENCH_KEY": sandbox.api_key,
                    "BENCH_TOKEN": token,
                },
            )
            ours_env = StdioServerParameters(
                command=sys.executable,
                args=["-m", "stream_mcp", "serve"],
                env={
                    **base_env,
                    "STREAM_API_KEY": sandbox.api_key,
                    "STREAM_API_SECRET": sandbox.api_secret,
                    "STREAM_BASE_URL": sandbox.base_url,
                    "STREAM_MCP_DEFAULT_USER": "bench-user",
                    "STREAM_MCP_VAULT_PATH": str(Path(tmp) / "none.json"),
                    "STREAM_MCP_DATA_DIR": tmp,
                },
            )
            per_round = max(1, calls // rounds)
            medians: dict[str, list[float]] = {"bare": [], "ours": []}
            async with (
                Client(bare_caller, mode="legacy") as bare_client,
                Client(ours_env, mode="legacy") as our_client,
            ):
                for _ in range(3):  # warm both paths
                    await bare_client.call_tool("get_app", {})
                    await our_client.call_tool("execute_operation", {"operation_id": "GetApp"})
                for _ in range(rounds):
                    for name in ("bare", "ours"):
                        times = []
                        for _ in range(per_round):
                            started = time.perf_counter()
                            if name == "bare":
                                await bare_client.call_tool("get_app", {})
                            else:
                                result = await our_client.call_tool(
                                    "execute_operation", {"operation_id": "GetApp"}
                                )
                                if result.is_error:
                                    raise SystemExit(f"GetApp failed: {result.content}")
                            times.append(time.perf_counter() - started)
                        medians[name].append(statistics.median(times))
        finally:
            sandbox.stop()
    return statistics.median(medians["bare"]), statistics.median(medians["ours"])


async def main(rounds: int, warmup: int, calls: int) -> None:
    print(f"discovery tool list: {discovery_tokens()} tokens (bytes/4)")
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        scratch = Path(tmp)
        servers = {"bare": bare, "sandbox": ours, "env": lambda: env_profile(scratch)}
        timings = await cold_starts(servers, rounds, warmup)
    base = statistics.median(timings["bare"])
    print(
        f"cold start (spawn to first tools/list), median of {rounds} interleaved rounds "
        f"after {warmup} warm-up:"
    )
    labels = {
        "bare": "bare one-tool mcp server",
        "sandbox": "stream-mcp serve --sandbox",
        "env": "stream-mcp serve (env profile)",
    }
    for name, label in labels.items():
        values = timings[name]
        median = statistics.median(values)
        print(
            f"  {label:<32} {median * 1000:6.0f} ms  (min {min(values) * 1000:.0f}, "
            f"max {max(values) * 1000:.0f})  ratio {median / base:.2f}x"
        )
    if calls:
        times = sorted(await round_trips(calls))
        p50 = times[len(times) // 2] * 1000
        p95 = times[int(len(times) * 0.95) - 1] * 1000
        print(
            f"execute_operation round trips ({calls}, SendMessage/QueryChannels alternating): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
        bare_rt, ours_rt = await against_bare_caller(calls, rounds)
        print(
            f"GetApp over stdio, median of {rounds} alternated rounds: bare one-tool server "
            f"with a raw httpx2 call {bare_rt * 1000:.2f} ms, stream-mcp execute_operation "
            f"{ours_rt * 1000:.2f} ms, ratio {ours_rt / bare_rt:.2f}x (goal <= 1.3x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and not counted")
    parser.add_argument("--calls", type=int, default=200, help="round trips; 0 skips them")
    options = parser.parse_args()
    anyio.run(main, options.rounds, options.warmup, options.calls)
