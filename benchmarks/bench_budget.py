"""Cost of one budget acquisition: the Redis budget against the in-process one.

    .venv/bin/python benchmarks/bench_budget.py [--rounds 21] [--calls 500] [--redis-url URL]

Without ``--redis-url`` a private ``redis-server`` is started on a free loopback port (and
stopped at the end). Each round times ``--calls`` sequential acquisitions on each budget, in
alternating order, spread over 1,000 users so no limit binds; p50 and p95 per acquisition
are taken over all rounds, with the Redis budget's added cost and ratio against the
in-process baseline measured in the same run. A second scenario keeps 32 acquisitions in
flight (a busy replica) and reports the wall time per acquisition.

Goal: the Redis budget adds <= 1 ms per acquisition at p50 on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.execution._budget import Budget, CallBudget
from stream_mcp.execution._redis_budget import RedisBudget

GOAL_MS = 1.0
USERS = 1000
IN_FLIGHT = 32
BIG = 10**9  # no limit binds during the benchmark


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed; pass --redis-url")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory]
        command += ["--save", "", "--appendonly", "no"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


async def _sequential(budget: Budget, calls: int, offset: int) -> list[float]:
    timings = []
    for i in range(calls):
        user = f"user-{(offset + i) % USERS}"
        started = time.perf_counter()
        await budget.acquire(user, "SendMessage")
        timings.append(time.perf_counter() - started)
    return timings


async def _in_flight(budget: Budget, calls: int) -> float:
    """Wall time per acquisition with IN_FLIGHT acquisitions always outstanding."""
    queue = iter(range(calls))

    async def worker() -> None:
        for i in queue:
            await budget.acquire(f"user-{i % USERS}", "QueryChannels")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return (time.perf_counter() - started) / calls


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _bench(url: str, rounds: int, calls: int) -> float:
    local = CallBudget(BIG)
    shared = RedisBudget.from_url(url, api_key=f"bench-{time.time_ns()}", limit=BIG)
    try:
        await shared.ping()
        await _sequential(shared, 50, 0)  # warm: connection and script cache
        timings: dict[str, list[float]] = {"in-process": [], "redis": []}
        flight: dict[str, list[float]] = {"in-process": [], "redis": []}
        for n in range(rounds):
            order = [("in-process", local), ("redis", shared)]
            if n % 2:
                order.reverse()
            for name, budget in order:
                timings[name] += await _sequential(budget, calls, n * calls)
                flight[name].append(await _in_flight(budget, calls))
    finally:
        await shared.aclose()
    base50, base95 = (_percentile(timings["in-process"], q) * 1000 for q in (0.5, 0.95))
    red50, red95 = (_percentile(timings["redis"], q) * 1000 for q in (0.5, 0.95))
    print(f"{'per acquisition (ms)':<26}{'p50':>10}{'p95':>10}")
    print(f"{'in-process (baseline)':<26}{base50:>10.4f}{base95:>10.4f}")
    print(f"{'redis (loopback)':<26}{red50:>10.4f}{red95:>10.4f}")
    print(f"{'added by redis':<26}{red50 - base50:>10.4f}{red95 - base95:>10.4f}")
    print(f"{'ratio redis / in-process':<26}{red50 / base50:>9.1f}x{red95 / base95:>9.1f}x")
    local_flight = statistics.median(flight["in-process"]) * 1000
    redis_flight = statistics.median(flight["redis"]) * 1000
    print(
        f"{IN_FLIGHT} in flight, wall ms per acquisition: in-process {local_flight:.4f}, "
        f"redis {redis_flight:.4f} ({redis_flight / local_flight:.1f}x)"
    )
    return red50 - base50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--redis-url", help="an existing Redis (default: a private one)")
    args = parser.parse_args()
    print(f"budget acquisition cost; {args.rounds} rounds x {args.calls} calls each")
    if args.redis_url:
        added = asyncio.run(_bench(args.redis_url, args.rounds, args.calls))
    else:
        with private_redis() as url:
            added = asyncio.run(_bench(url, args.rounds, args.calls))
    verdict = "met" if added <= GOAL_MS else "NOT met"
    print(f"added at p50: {added:.4f} ms (goal <= {GOAL_MS} ms: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
