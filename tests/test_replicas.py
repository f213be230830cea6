"""Three replicas behind a round robin, sharing Redis and PostgreSQL, on one sandbox.

What a team running several replicas relies on: budgets hold across replicas (no replica
admits a call the shared budget refuses), a webhook taken by any replica reaches agents on
every replica exactly once, losing a replica (SIGKILL) loses no stored event and repeats no
non-idempotent call, and a replica whose Redis or PostgreSQL is gone says so on /readyz and
fails calls fast instead of hanging.
"""

from __future__ import annotations

import json
import secrets
import signal
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.ratelimit import RateLimits
from tests.e2e import TLS
from tests.replicas import Replicas, replica_set

PER_USER = 5
SERVER_LIMIT = 40  # the sandbox's server-side limit per endpoint: the app-wide cap is 10
USERS = [f"user-{i:02d}" for i in range(20)]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def secret() -> str:
    return "replicas-" + secrets.token_urlsafe(30)


@pytest.fixture(scope="module")
def sandbox(secret: str):
    limits = RateLimits(server_per_minute=SERVER_LIMIT)
    with Sandbox(api_secret=secret, rate_limits=limits, admins=("agent-bot",)) as running:
        yield running


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, sandbox, secret, redis_url, postgres_url):
    import psycopg

    database = f"replicas_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    with replica_set(
        tmp_path_factory.mktemp("replicas"),
        sandbox,
        secret,
        3,
        STREAM_MCP_REDIS_URL=f"{redis_url.rstrip('/')}/3",
        STREAM_MCP_DATABASE_URL=url,
        STREAM_MCP_BUDGET_PER_MINUTE=str(PER_USER),
        STREAM_MCP_EVENTS_SYNC_INTERVAL="0",
    ) as running:
        yield running


async def call(client: Client, tool: str, arguments: dict) -> tuple[dict, bool]:
    result = await client.call_tool(tool, arguments)
    return json.loads(result.content[0].text), bool(result.is_error)


async def many(client: Client, calls: list[dict]) -> list[tuple[dict, bool]]:
    out: list[tuple[dict, bool]] = [({}, True)] * len(calls)

    async def one(index: int, arguments: dict) -> None:
        out[index] = await call(client, "execute_operation", arguments)

    async with anyio.create_task_group() as tasks:
        for index, arguments in enumerate(calls):
            tasks.start_soon(one, index, arguments)
    return out


async def test_budgets_hold_across_replicas(replicas: Replicas):
    async with replicas.client() as client:
        # 300 concurrent calls over 20 users, 15 each, spread over the three replicas.
        calls = [
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": USERS[i % 20]}
            for i in range(300)
        ]
        results = await many(client, calls)
        admitted = Counter(
            arguments["as_user"]
            for arguments, (payload, error) in zip(calls, results, strict=True)
            if not error
        )
        refused = Counter(p.get("error") for p, error in results if error)
        assert refused.keys() <= {"budget_exhausted"}, refused
        assert max(admitted.values()) <= PER_USER, admitted  # no over-admission
        assert sum(admitted.values()) == PER_USER * len(USERS)

        # The app-wide budget: a quarter of Stream's server-side limit for ListRoles (40 → 10).
        first, error = await call(
            client, "execute_operation", {"operation_id": "ListRoles", "as_user": USERS[0]}
        )
        assert not error, first
        calls = [{"operation_id": "ListRoles", "as_user": USERS[1 + i % 19]} for i in range(60)]
        results = await many(client, calls)
        ok = sum(1 for _, error in results if not error)
        assert ok + 1 <= SERVER_LIMIT // 4, f"{ok + 1} ListRoles calls admitted, cap 10"
        refusals = [p for p, error in results if error]
        assert all(p["error"] == "budget_exhausted" and p["retry_after"] > 0 for p in refusals)


def message(i: int) -> dict:
    return {
        "type": "message.new",
        "cid": "messaging:replicated",
        "created_at": f"2026-12-02T12:00:{i:02d}.000001Z",
        "user": {"id": "bob"},
        "message": {"id": f"replicated-{i}", "text": f"r{i}", "user": {"id": "bob"}},
    }


async def test_a_webhook_to_any_replica_reaches_every_replica_once(replicas: Replicas):
    starts = []
    for index in range(3):
        async with replicas.client([replicas.ports[index]]) as client:
            start, error = await call(client, "wait_for_events", {"timeout_seconds": 0})
            assert not error
            starts.append(start["next"])
    async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
        for i in range(30):
            body, headers = replicas.webhook(message(i), f"delivery-{i}")
            target = replicas.base(i % 3) + "/webhooks/stream"
            assert (await http.post(target, content=body, headers=headers)).status_code == 200
        # A redelivery to another replica is recognised there too.
        body, headers = replicas.webhook(message(0), "delivery-0")
        again = await http.post(
            replicas.base(1) + "/webhooks/stream", content=body, headers=headers
        )
        assert again.json()["stored"] == 0
    for index in range(3):
        async with replicas.client([replicas.ports[index]]) as client:
            got, error = await call(
                client,
                "wait_for_events",
                {"after": starts[index], "channels": ["messaging:replicated"], "limit": 100},
            )
            assert not error, got
            ids = Counter(e["message"]["id"] for e in got["events"])
            assert set(ids) == {f"replicated-{i}" for i in range(30)}
            assert max(ids.values()) == 1


async def test_a_killed_replica_loses_no_event_and_repeats_no_call(
    tmp_path: Path, sandbox, secret, redis_url, pg_url
):
    with replica_set(
        tmp_path,
        sandbox,
        secret,
        3,
        STREAM_MCP_REDIS_URL=f"{redis_url.rstrip('/')}/4",
        STREAM_MCP_DATABASE_URL=pg_url,
        STREAM_MCP_EVENTS_SYNC_INTERVAL="0",
    ) as replicas:
        async with replicas.client() as client:
            people = {u: {"id": u} for u in ("kim", "lee")}
            setup, error = await call(
                client,
                "execute_operation",
                {"operation_id": "UpdateUsers", "arguments": {"users": people}, "confirm": True},
            )
            assert not error, setup
            _, error = await call(
                client,
                "execute_operation",
                {
                    "operation_id": "GetOrCreateChannel",
                    "arguments": {
                        "type": "messaging",
                        "id": "kill",
                        "data": {"members": ["kim", "lee"]},
                    },
                    "as_user": "kim",
                },
            )
            assert not error
        acknowledged: list[int] = []
        sent: list[str] = []

        async def webhooks() -> None:
            async with httpx2.AsyncClient(verify=TLS, timeout=5) as http:
                for i in range(60):
                    body, headers = replicas.webhook(message(i % 60), f"kill-{i}")
                    try:
                        answer = await http.post(
                            replicas.base(i % 3) + "/webhooks/stream", content=body, headers=headers
                        )
                    except httpx2.TransportError:
                        continue
                    if answer.status_code == 200:
                        acknowledged.append(i)
                    await anyio.sleep(0.01)

        async def messages() -> None:
            # Each call goes to one replica, as a load balancer would send it; a call that
            # dies with its replica is not retried (it may have reached Stream).
            for i in range(40):
                try:
                    async with replicas.client([replicas.ports[i % 3]]) as client:
                        _, error = await call(
                            client,
                            "execute_operation",
                            {
                                "operation_id": "SendMessage",
                                "arguments": {
                                    "type": "messaging",
                                    "id": "kill",
                                    "message": {"text": f"k{i}"},
                                },
                                "as_user": "kim",
                                "select": "message.id",
                            },
                        )
                except Exception:  # connection refused or cut: the replica is gone
                    continue
                if not error:
                    sent.append(f"k{i}")

        async def killer() -> None:
            await anyio.sleep(0.4)
            replicas.processes[1].send_signal(signal.SIGKILL)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(webhooks)
            tasks.start_soon(messages)
            tasks.start_soon(killer)
        survivors = [replicas.ports[0], replicas.ports[2]]
        async with replicas.client(survivors) as client:
            got, error = await call(
                client,
                "wait_for_events",
                {"after": "0", "channels": ["messaging:replicated"], "limit": 100},
            )
            assert not error
            stored = {e["message"]["id"] for e in got["events"]}
            for i in acknowledged:
                assert f"replicated-{i % 60}" in stored, f"acknowledged webhook {i} was lost"
            history, error = await call(
                client,
                "execute_operation",
                {
                    "operation_id": "GetOrCreateChannel",
                    "arguments": {"type": "messaging", "id": "kill", "messages": {"limit": 100}},
                    "as_user": "kim",
                    "select": "messages[].text",
                },
            )
            assert not error, history
        texts = Counter(history["data"])
        assert max(texts.values()) == 1, "a SendMessage reached Stream twice"
        assert set(sent) <= set(texts)
        # The kill happened mid-run: some calls and deliveries failed, others went through.
        assert 0 < len(sent) < 40 and 0 < len(acknowledged) < 60
        assert replicas.processes[1].poll() == -signal.SIGKILL


async def test_readiness_and_fast_failure_without_redis_or_postgres(
    tmp_path: Path, sandbox, secret, private_redis, private_cluster
):
    import psycopg

    with psycopg.connect(private_cluster.url(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE ready")
    with replica_set(
        tmp_path,
        sandbox,
        secret,
        1,
        STREAM_MCP_REDIS_URL=private_redis.url,
        STREAM_MCP_DATABASE_URL=private_cluster.url("ready"),
    ) as replicas:
        base = replicas.base(0)
        async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
            ready = await http.get(f"{base}/readyz")
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checked"]) == {"budget", "event_store"}

            private_redis.kill()
            down = await http.get(f"{base}/readyz")
            assert down.status_code == 503 and down.json()["failed"] == ["budget"]
            async with replicas.client() as client:
                started = time.monotonic()
                payload, error = await call(
                    client, "execute_operation", {"operation_id": "QueryChannels", "as_user": "kim"}
                )
                assert error and payload["error"] == "budget_unavailable", payload
                assert time.monotonic() - started < 10

            private_cluster.stop("immediate")
            down = await http.get(f"{base}/readyz")
            assert down.status_code == 503
            assert set(down.json()["failed"]) == {"budget", "event_store"}
            async with replicas.client() as client:
                started = time.monotonic()
                payload, error = await call(client, "wait_for_events", {"timeout_seconds": 5})
                assert error and payload["error"] == "event_store_error", payload
                assert time.monotonic() - started < 15
            health = await http.get(f"{base}/healthz")
            assert health.status_code == 200  # alive, only not ready
