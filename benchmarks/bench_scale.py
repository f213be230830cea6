"""Scale-out: execute_operation throughput and latency on 1 and 3 stateless HTTP replicas.

    .venv/bin/python benchmarks/bench_scale.py [--rounds 3] [--duration 5] [--clients 8,32]

Every configuration runs ``stream-mcp serve --transport http --stateless`` replicas
(``tests/replicas.py``) on one sandbox (``stream_mcp.sandbox.Sandbox`` with limits far out of
reach, in a child process of its own so it does not share the MCP clients' GIL; per-user
budget 100,000 a minute, app share 1.0, background Sync off). All configurations are started
up front and measured in turn, the order rotating each round so a drift in the machine's
load (other work on it) hits all alike:

- ``in-process x1``: one replica, in-process budget, SQLite event store, no PostgreSQL audit
  (no ``STREAM_MCP_REDIS_URL``, no ``STREAM_MCP_DATABASE_URL``): the baseline;
- ``redis+pg x1``: one replica on a private Redis (budgets) and PostgreSQL (events, audit);
- ``redis+pg x3``: three such replicas, reached through the client-side round robin.

C concurrent MCP clients (``mcp.Client``, streamable HTTP, mode ``auto``, each its own
round-robin transport, opened once per configuration) call ``QueryChannels`` as one of 20
users (each a member of one two-person channel) with ``select`` in a closed loop for
``--duration`` seconds. Throughput is the median over rounds; p50/p95 are over every call of
every round. Ratios are against baselines measured in the same run, printed, never asserted.
CPU time per call is read from /proc for the replicas, the sandbox, this process (the MCP
clients), Redis and PostgreSQL: where the time goes. On a machine with fewer cores than busy
processes, 3 replicas cannot scale linearly; the output says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import pytest  # noqa: E402  (tests/ reports a missing service with pytest.skip)
from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from stream_mcp.sandbox import Sandbox  # noqa: E402
from stream_mcp.sandbox.ratelimit import RateLimits  # noqa: E402
from tests.pg_service import Cluster, find_bindir  # noqa: E402
from tests.replicas import Replicas, RoundRobin, replica_set  # noqa: E402
from tests.services import LocalServer, redis_binary, start_redis  # noqa: E402

USERS = [f"bench-user-{i:02d}" for i in range(20)]
CHANNELS = 10  # two members each: every user is in one (the answer stays small)
HIGH = 10**7  # sandbox limits no benchmark can reach
BUDGET = 100_000  # per user and minute
SECRET_ENV = "BENCH_SCALE_SANDBOX_SECRET"
TICK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the sandbox


def serve_sandbox() -> None:
    """Child process: the sandbox, until stdin closes (the parent ended, however it ended)."""
    limits = RateLimits(
        user_per_minute=HIGH, server_per_minute=HIGH, default_app_limit=HIGH, app_limits={}
    )
    secret = os.environ[SECRET_ENV]
    try:
        with Sandbox(api_secret=secret, rate_limits=limits, admins=("agent-bot",)) as sandbox:
            print(json.dumps({"api_key": sandbox.api_key, "base_url": sandbox.base_url}))
            sys.stdout.flush()
            sys.stdin.read()
    except KeyboardInterrupt:
        pass


@dataclass(frozen=True)
class SandboxProcess:
    """What ``replica_set`` reads of a :class:`Sandbox`, for one served by a child process."""

    api_key: str
    base_url: str
    pid: int


@contextmanager
def sandbox_process(secret: str) -> Iterator[SandboxProcess]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-sandbox"]
    process = subprocess.Popen(
        command,
        env={**os.environ, SECRET_ENV: secret},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        started = json.loads(line)
        yield SandboxProcess(started["api_key"], started["base_url"], process.pid)
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the child leaves its ``with Sandbox``
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


# --------------------------------------------------------------------------- CPU accounting


def _stat(path: str) -> list[str]:
    """The fields of a /proc stat file after the command name (field 3 onwards)."""
    with open(path) as handle:
        text = handle.read()
    return text[text.rindex(")") + 2 :].split()


def _cpu(pid: int | str, children: bool = False) -> float:
    """utime + stime (+ reaped children's) in seconds; 0 if the process is gone."""
    try:
        fields = _stat(f"/proc/{pid}/stat")
    except (OSError, ValueError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat(f"/proc/{entry}/stat")[1]) == parent:
                    found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


@dataclass
class Processes:
    """The processes whose CPU time a measurement accounts for."""

    sandbox: int
    redis: int
    postmaster: int | None

    def snapshot(self, replicas: list[int]) -> dict[str, float]:
        postgres = 0.0
        if self.postmaster:  # its own time, its reaped backends', and its live backends'
            postgres = _cpu(self.postmaster, children=True)
            postgres += sum(_cpu(pid) for pid in _children(self.postmaster))
        return {
            "replicas": sum(_cpu(pid) for pid in replicas),
            "sandbox": _cpu(self.sandbox),
            "clients": _cpu("self"),
            "redis": _cpu(self.redis),
            "postgres": postgres,
        }


# --------------------------------------------------------------------------- measuring


@dataclass
class Config:
    name: str
    replicas: Replicas


@dataclass
class Cell:
    """Every round of one (configuration, C)."""

    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # seconds per process kind


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@asynccontextmanager
async def mcp_client(replicas: Replicas, first: int) -> AsyncIterator[Client]:
    """A client whose requests rotate over every replica, starting at ``first``."""
    transport = RoundRobin(replicas.ports)
    transport.turn = first
    headers = {"Authorization": f"Bearer {replicas.key}"}
    async with (
        httpx2.AsyncClient(transport=transport, headers=headers, timeout=60) as http,
        Client(streamable_http_client(replicas.url(0), http_client=http), mode="auto") as client,
    ):
        yield client


def query(n: int) -> dict[str, Any]:
    user = USERS[n % len(USERS)]
    return {
        "operation_id": "QueryChannels",
        "arguments": {"filter_conditions": {"members": {"$in": [user]}}, "limit": 5},
        "as_user": user,
        "select": "channels[].channel.cid",
    }


async def call(client: Client, arguments: dict[str, Any]) -> str | None:
    """None on success, else what went wrong (the tool's error code or the exception)."""
    try:
        result = await client.call_tool("execute_operation", arguments)
    except Exception as exc:  # counted and reported, not fatal
        return type(exc).__name__
    if not result.is_error:
        return None
    try:
        return str(json.loads(result.content[0].text).get("error"))  # type: ignore[union-attr]
    except (ValueError, AttributeError, IndexError):
        return "unparsed error"


async def measure(
    config: Config, clients: list[Client], duration: float, processes: Processes, cell: Cell
) -> None:
    """``clients`` in a closed loop for ``duration`` seconds."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    pids = [p.pid for p in config.replicas.processes]
    before = processes.snapshot(pids)
    started = time.perf_counter()
    deadline = started + duration

    async def worker(index: int, client: Client) -> None:
        n = index
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            error = await call(client, query(n))
            if error is None:
                latencies.append(time.perf_counter() - sent)
            else:
                errors[error] += 1
            n += 1

    await asyncio.gather(*(worker(i, c) for i, c in enumerate(clients)))
    elapsed = time.perf_counter() - started
    after = processes.snapshot(pids)
    cell.rates.append(len(latencies) / elapsed)
    cell.latencies += latencies
    cell.errors += errors
    cell.calls += len(latencies) + sum(errors.values())
    cell.seconds += elapsed
    for name, spent in after.items():
        cell.cpu[name] = cell.cpu.get(name, 0.0) + spent - before[name]


async def seed(client: Client) -> None:
    """20 users, 10 channels of two members each."""
    people = {u: {"id": u} for u in USERS}
    made = {"operation_id": "UpdateUsers", "arguments": {"users": people}, "confirm": True}
    if error := await call(client, made):
        raise SystemExit(f"seeding users failed: {error}")
    for index in range(CHANNELS):
        members = [USERS[2 * index], USERS[2 * index + 1]]
        channel = {"type": "messaging", "id": f"bench-{index}", "data": {"members": members}}
        made = {"operation_id": "GetOrCreateChannel", "arguments": channel, "as_user": members[0]}
        if error := await call(client, made):
            raise SystemExit(f"seeding channels failed: {error}")


async def run(
    configs: list[Config],
    levels: list[int],
    rounds: int,
    duration: float,
    warmup: float,
    processes: Processes,
) -> dict[tuple[str, int], Cell]:
    async with AsyncExitStack() as stack:
        # Opened once, one by one (a client's task group must be left by the task that
        # entered it); a cell with C clients uses the first C of them.
        clients: dict[str, list[Client]] = {}
        for config in configs:
            clients[config.name] = [
                await stack.enter_async_context(mcp_client(config.replicas, i))
                for i in range(max(levels))
            ]
        await seed(clients[configs[0].name][0])
        for config in configs:  # first calls: tool listing, pools, connections, caches
            warm = Cell()
            await measure(config, clients[config.name], warmup, processes, warm)
            if warm.errors:
                print(f"  warm-up errors on {config.name}: {dict(warm.errors)}")
        cells = {(c.name, level): Cell() for c in configs for level in levels}
        for n in range(rounds):
            order = configs[n % len(configs) :] + configs[: n % len(configs)]
            for config in order:
                for level in levels:
                    cell = cells[(config.name, level)]
                    await measure(config, clients[config.name][:level], duration, processes, cell)
            print(f"  round {n + 1}/{rounds} done; load average {load()}", flush=True)
    return cells


# --------------------------------------------------------------------------- report


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(names: list[str], levels: list[int], cells: dict[tuple[str, int], Cell]) -> None:
    cores = os.cpu_count() or 1

    def rate(name: str, level: int) -> float:
        return statistics.median(cells[(name, level)].rates)

    def p50(name: str, level: int) -> float:
        return percentile(cells[(name, level)].latencies, 0.5) * 1000

    print()
    head = f"{'configuration':<16}{'C':>4}{'calls/s':>9}{'rounds':>12}{'p50 ms':>9}{'p95 ms':>9}"
    print(head + f"{'calls':>7}  errors")
    for name in names:
        for level in levels:
            cell = cells[(name, level)]
            spread = f"{min(cell.rates):.0f}-{max(cell.rates):.0f}"  # calls/s, slowest-fastest
            p95 = percentile(cell.latencies, 0.95) * 1000
            errors = ", ".join(f"{k} {v}" for k, v in cell.errors.most_common()) or "-"
            print(
                f"{name:<16}{level:>4}{rate(name, level):>9.1f}{spread:>12}"
                f"{p50(name, level):>9.1f}{p95:>9.1f}{cell.calls:>7}  {errors}"
            )
    print("(calls/s: median over rounds; rounds: slowest-fastest; p50/p95: over every call)")

    local, one, three = names
    print()
    print("ratios (same run):")
    for level in levels:
        scaled = rate(three, level) / rate(one, level)
        print(
            f"  C={level:<3} throughput 3 replicas / 1 replica {scaled:.2f}x;"
            f" p50 shared-state / in-process {p50(one, level) / p50(local, level):.2f}x"
            f" ({p50(one, level) - p50(local, level):+.1f} ms)"
        )
    top = max(levels)
    print(
        f"per-replica capacity at C={top}: {rate(one, top):.0f} calls/s on 1 replica; "
        f"{rate(three, top):.0f} calls/s on 3 = {rate(three, top) / 3:.0f} per replica"
    )

    parts = ["replicas", "sandbox", "clients", "redis", "postgres"]
    print()
    print(f"where the time goes at C={top}: CPU ms per call (from /proc), and cores kept busy")
    print(
        f"{'configuration':<16}" + "".join(f"{p:>10}" for p in parts) + f"{'total':>8}{'cores':>7}"
    )
    for name in names:
        cell = cells[(name, top)]
        per = {p: cell.cpu.get(p, 0.0) * 1000 / max(cell.calls, 1) for p in parts}
        busy = sum(cell.cpu.values()) / cell.seconds
        print(
            f"{name:<16}"
            + "".join(f"{per[p]:>10.2f}" for p in parts)
            + f"{sum(per.values()):>8.2f}{busy:>7.2f}"
        )
    shared = cells[(one, top)]
    replica_ms = shared.cpu.get("replicas", 0.0) * 1000 / max(shared.calls, 1)
    print(
        f"one replica with Redis + PostgreSQL spends {replica_ms:.2f} CPU ms per call: "
        f"~{1000 / replica_ms:.0f} calls/s per core it has to itself"
    )
    client_cores = cells[(three, top)].cpu.get("clients", 0.0) / cells[(three, top)].seconds
    if client_cores > 0.8:
        print(
            f"warning: the MCP clients (one process, one GIL) kept {client_cores:.2f} cores busy: "
            "they may be what limits throughput here"
        )
    ours = max(sum(cells[(n, top)].cpu.values()) / cells[(n, top)].seconds for n in names)
    if ours < 0.75 * cores:
        print(
            f"note: the benchmark's processes kept at most {ours:.2f} of {cores} cores busy; "
            f"the rest went to waiting or to other work on the machine (load average {load()})"
        )
    if cores < 3 + 4:  # 3 replicas + sandbox + clients + Redis + PostgreSQL
        print(
            f"note: this machine has {cores} cores for 3 replicas, the sandbox, the MCP clients, "
            "Redis and PostgreSQL (and whatever else runs on it); they all compete for the "
            "same cores, so 3 replicas cannot scale linearly here. The CPU ms per call and "
            "the per-core figure are the portable numbers."
        )


# --------------------------------------------------------------------------- services


@contextmanager
def services(tmp: Path) -> Iterator[tuple[LocalServer, Cluster]]:
    """A private redis-server and PostgreSQL cluster, stopped and removed on exit."""
    try:
        redis = start_redis(redis_binary(), tmp)
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        raise SystemExit(f"redis: {exc}") from None
    try:
        # start_cluster(), but destroyed even when interrupted while starting.
        bindir = find_bindir()
        if bindir is None:
            raise SystemExit("PostgreSQL: initdb/pg_ctl are not installed")
        cluster = Cluster(bindir)
        try:
            try:
                cluster.init()
                cluster.start()
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                detail = getattr(exc, "stderr", "") or str(exc)
                raise SystemExit(f"PostgreSQL did not start: {str(detail)[-300:]}") from None
            yield redis, cluster
        finally:
            cluster.destroy()
    finally:
        redis.stop()


def database(cluster: Cluster, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return cluster.url(name)


def postmaster(cluster: Cluster) -> int | None:
    try:
        return int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per configuration")
    parser.add_argument("--clients", default="8,32", help="concurrent MCP clients, e.g. 8,32")
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sandbox:
        serve_sandbox()
        return 0
    levels = sorted({int(x) for x in args.clients.split(",")})
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"execute_operation QueryChannels (20 users, select), closed loop; "
        f"{args.rounds} rounds x {args.duration:g} s per cell; C = {', '.join(map(str, levels))}"
    )
    print(f"machine: os.cpu_count() = {os.cpu_count()}; load average at start {load()}")
    started = time.monotonic()
    secret = "bench-scale-" + secrets.token_urlsafe(30)
    common = {
        "STREAM_MCP_BUDGET_PER_MINUTE": str(BUDGET),
        "STREAM_MCP_APP_BUDGET_SHARE": "1",
        "STREAM_MCP_EVENTS_SYNC_INTERVAL": "0",
    }
    try:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-")))
            redis, cluster = stack.enter_context(services(tmp))
            sandbox = stack.enter_context(sandbox_process(secret))
            configs = []
            for index, (name, count, shared) in enumerate(
                [("in-process x1", 1, False), ("redis+pg x1", 1, True), ("redis+pg x3", 3, True)]
            ):
                env = dict(common)
                if shared:  # a Redis database and a PostgreSQL database of its own
                    env["STREAM_MCP_REDIS_URL"] = f"{redis.url.rsplit('/', 1)[0]}/{index}"
                    env["STREAM_MCP_DATABASE_URL"] = database(cluster, f"scale_{index}")
                directory = tmp / f"set-{index}"
                directory.mkdir()
                replicas = stack.enter_context(
                    replica_set(directory, cast(Sandbox, sandbox), secret, count, **env)
                )
                configs.append(Config(name, replicas))
            print(f"services and 5 replicas up in {time.monotonic() - started:.1f} s", flush=True)
            processes = Processes(sandbox.pid, redis.process.pid, postmaster(cluster))
            cells = asyncio.run(
                run(configs, levels, args.rounds, args.duration, args.warmup, processes)
            )
            report([c.name for c in configs], levels, cells)
            print(f"load average at end {load()}; whole run {time.monotonic() - started:.0f} s")
    except KeyboardInterrupt:
        print("interrupted; processes, cluster and temp dir cleaned up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
