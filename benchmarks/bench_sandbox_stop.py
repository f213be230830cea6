"""How long stopping the embedded sandbox takes, against stock uvicorn in the same run.

    .venv/bin/python benchmarks/bench_sandbox_stop.py [--rounds 15]

Each round starts a sandbox, makes one request over a keep-alive connection (left open, as
an SDK client leaves it) and times ``Sandbox.stop``; rounds alternate between the sandbox's
own server (``_PromptServer``) and stock ``uvicorn.Server``, which checks for a stop every
tenth of a second and then waits another tenth. Every ``serve --sandbox`` exit and every
test that starts a sandbox pays this. Reports the median stop of each and their ratio.

Goal: the stop takes a tenth of stock uvicorn's or less.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx2
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox import server as sandbox_server

GOAL_RATIO = 0.1


class _StockServer(sandbox_server._PromptServer):
    """uvicorn as it comes: stopping sets the flag its loop reads on its next tick."""

    main_loop = uvicorn.Server.main_loop
    shutdown = uvicorn.Server.shutdown


def one_stop() -> float:
    sandbox = Sandbox().start()
    with httpx2.Client(timeout=5) as http:
        http.get(f"{sandbox.base_url}/app", params={"api_key": sandbox.api_key})
        started = time.perf_counter()
        sandbox.stop()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    prompt_server = sandbox_server._PromptServer
    ours: list[float] = []
    stock: list[float] = []
    try:
        for _ in range(rounds):
            sandbox_server._PromptServer = prompt_server  # type: ignore[misc]
            ours.append(one_stop())
            sandbox_server._PromptServer = _StockServer  # type: ignore[misc]
            stock.append(one_stop())
    finally:
        sandbox_server._PromptServer = prompt_server  # type: ignore[misc]
    ours_ms, stock_ms = statistics.median(ours) * 1000, statistics.median(stock) * 1000
    ratio = ours_ms / stock_ms
    print(f"Sandbox.stop, median of {rounds} alternated rounds")
    print(f"  stock uvicorn.Server : {stock_ms:7.1f} ms")
    print(f"  sandbox's own server : {ours_ms:7.1f} ms")
    print(f"  ratio                : {ratio:7.3f}  (goal <= {GOAL_RATIO})")
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
