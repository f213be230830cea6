"""Executor overhead against a raw httpx2 call to the same local endpoint.

    .venv/bin/python benchmarks/bench_executor.py [--rounds 31] [--calls 100]

A minimal keep-alive HTTP/1.1 server runs in a child process on 127.0.0.1 (so it does not
compete with the client for the GIL) and answers every request with the same Stream-like
JSON body. Each round times ``--calls`` raw httpx2 calls and ``--calls`` executor calls, in
alternating order; the ratio of the per-call medians over all rounds is printed for each
scenario. The raw baseline does what any client must: build the URL with ``api_key``, send
the auth headers, serialise the JSON body and parse the JSON answer. The executor adds
validation, actor filling, the budget, redaction checks and response shaping.

Goal: ratio <= 1.10 (issue #15).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2

from stream_mcp.catalog._build import load_catalog
from stream_mcp.config import Settings
from stream_mcp.execution import Executor, ExecutorConfig, Plans
from stream_mcp.execution._executor import USER_AGENT
from stream_mcp.observability.redact import Redactor

API_KEY = "bench-key"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzZXJ2ZXIiOnRydWV9.YmVuY2gtc2lnbmF0dXJlLXZhbHVl"
GOAL = 1.10
# A plausible SendMessage answer (~1.5 KB): what Stream returns for a short message.
RESPONSE = json.dumps(
    {
        "message": {
            "id": "b1e2c3d4-0000-4000-8000-000000000001",
            "text": "hello from the benchmark",
            "html": "<p>hello from the benchmark</p>\n",
            "type": "regular",
            "user": {
                "id": "alice",
                "role": "user",
                "created_at": "2024-01-01T00:00:00.000000Z",
                "updated_at": "2024-01-01T00:00:00.000000Z",
                "banned": False,
                "online": False,
                "name": "Alice",
            },
            "attachments": [],
            "latest_reactions": [],
            "own_reactions": [],
            "reaction_counts": {},
            "reaction_scores": {},
            "reply_count": 0,
            "cid": "messaging:general",
            "created_at": "2024-01-01T00:00:01.000000Z",
            "updated_at": "2024-01-01T00:00:01.000000Z",
            "shadowed": False,
            "mentioned_users": [],
            "silent": False,
            "pinned": False,
        },
        "duration": "3.21ms",
    }
).encode()


# --------------------------------------------------------------------------- server


class _Reply(asyncio.Protocol):
    """Answers each HTTP/1.1 request on a kept-alive connection with RESPONSE."""

    # A limit no run reaches: the app-wide budget learns it but never binds.
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-RateLimit-Limit: 10000000\r\n"
        b"X-RateLimit-Remaining: 9999999\r\nX-RateLimit-Reset: 1700000000\r\n"
        b"Content-Length: " + str(len(RESPONSE)).encode() + b"\r\n\r\n"
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.head + RESPONSE)  # type: ignore[attr-defined]


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Reply, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Bounded: the parent closes stdin when done, or the server exits after an hour.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await asyncio.wait_for(reader.read(), timeout=3600)
    finally:
        server.close()


# --------------------------------------------------------------------------- client


class Auth:
    mode = "server"
    acting_user = "alice"
    token = TOKEN


async def _time(calls: int, one: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await one()
    return (time.perf_counter() - started) / calls


async def _scenario(
    name: str,
    raw: Callable[[], Awaitable[Any]],
    ours: Callable[[], Awaitable[Any]],
    rounds: int,
    calls: int,
) -> float:
    for _ in range(max(20, calls // 4)):  # warm the pools, caches and validators
        await raw()
        await ours()
    raw_times: list[float] = []
    our_times: list[float] = []
    for index in range(rounds):
        if index % 2:
            our_times.append(await _time(calls, ours))
            raw_times.append(await _time(calls, raw))
        else:
            raw_times.append(await _time(calls, raw))
            our_times.append(await _time(calls, ours))
    raw_median = statistics.median(raw_times)
    our_median = statistics.median(our_times)
    ratio = our_median / raw_median
    verdict = "ok" if ratio <= GOAL else "OVER GOAL"
    print(
        f"{name:<32} raw {raw_median * 1e6:8.1f} us  executor {our_median * 1e6:8.1f} us  "
        f"ratio {ratio:5.3f}x  (goal <= {GOAL}x: {verdict})"
    )
    return ratio


async def _bench(port: int, rounds: int, calls: int) -> list[float]:
    base = f"http://127.0.0.1:{port}"
    catalog = load_catalog()
    settings = Settings(budget_per_minute=10**9, max_retries=0)
    timeout = httpx2.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )
    headers = {
        "Authorization": TOKEN,
        "Stream-Auth-Type": "jwt",
        "X-Stream-Client": USER_AGENT,
    }
    plans = Plans(catalog)
    send = plans.get(catalog.get("SendMessage"))
    send_args = {"type": "messaging", "id": "general", "message": {"text": "hello"}}
    query = plans.get(catalog.get("QueryUsers"))
    query_args = {"filter_conditions": {"id": {"$in": ["alice", "bob"]}}, "limit": 10}
    ratios: list[float] = []
    async with (
        httpx2.AsyncClient(timeout=timeout, trust_env=False) as client,
        Executor(
            api_key=API_KEY,
            base_url=base,
            redactor=Redactor(["bench-secret-not-real-0123456789"]),
            config=ExecutorConfig(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                max_retries=settings.max_retries,
                budget_per_minute=settings.budget_per_minute,
                trust_env=False,
            ),
        ) as executor,
    ):

        async def raw_send() -> Any:
            body = {"message": {"text": "hello", "user_id": "alice"}}
            response = await client.post(
                f"{base}/channels/messaging/general/message",
                params={"api_key": API_KEY},
                headers={**headers, "Content-Type": "application/json"},
                content=json.dumps(body, separators=(",", ":")).encode(),
            )
            return response.json()

        async def our_send() -> Any:
            return await executor.execute(send, send_args, Auth())

        async def raw_query() -> Any:
            payload = {"filter_conditions": {"id": {"$in": ["alice", "bob"]}}, "limit": 10}
            response = await client.get(
                f"{base}/users",
                params={"api_key": API_KEY, "payload": json.dumps(payload)},
                headers=headers,
            )
            return response.json()

        async def our_query() -> Any:
            return await executor.execute(query, query_args, Auth())

        ratios.append(
            await _scenario("SendMessage (POST, JSON body)", raw_send, our_send, rounds, calls)
        )
        ratios.append(
            await _scenario("QueryUsers (GET, JSON payload)", raw_query, our_query, rounds, calls)
        )
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve())
        return 0
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        print(f"executor overhead vs raw httpx2; {args.rounds} rounds x {args.calls} calls each")
        ratios = asyncio.run(_bench(port, args.rounds, args.calls))
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=10)
    print(f"worst ratio {max(ratios):.3f}x (goal <= {GOAL}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
