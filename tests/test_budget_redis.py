"""The Redis budget against a real redis-server: shared, exact, namespaced, failing fast."""

from __future__ import annotations

import asyncio
import collections
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from stream_mcp.auth import Credentials, Policy, Signer
from stream_mcp.config import Settings, load_settings
from stream_mcp.errors import BudgetExhausted, BudgetUnavailable, ConfigError
from stream_mcp.execution._app_budget import RateReport
from stream_mcp.execution._budget import CallBudget, make_budget
from stream_mcp.execution._redis_budget import RedisBudget, namespace
from stream_mcp.observability.redact import Redactor
from stream_mcp.runtime import open_service
from tests.planned import planned_executor
from tests.services import LocalServer
from tests.test_executor_faults import AUTH, GET, TOOL_INPUT
from tests.test_executor_helpers import json_reply, loopback

ROOT = Path(__file__).resolve().parents[1]
USERS = [f"user-{i}" for i in range(20)]
FAIL_FAST = 2.0  # seconds: what "fast" means when Redis is down or silent
# For tests of atomicity, not latency, on a machine that may be busy.
SLOW_OK = {"timeout": 30.0, "read_timeout": 30.0, "connect_timeout": 30.0}


def fresh_key() -> str:
    """A new app per test, so tests sharing one Redis never see each other's counts."""
    return f"key-{uuid.uuid4().hex}"


@pytest.fixture
async def budget(redis_url: str) -> AsyncIterator[RedisBudget]:
    budget = RedisBudget.from_url(redis_url, api_key=fresh_key(), limit=3)
    try:
        yield budget
    finally:
        await budget.aclose()


async def test_allows_exactly_the_limit_and_says_when_to_come_back(budget: RedisBudget) -> None:
    for _ in range(3):
        await budget.acquire("alice", "SendMessage")
    with pytest.raises(BudgetExhausted) as caught:
        await budget.acquire("alice", "SendMessage")
    error = caught.value
    assert str(error).startswith("budget exhausted, retry in 60 s: SendMessage as 'alice'")
    assert 59.0 < error.retry_after <= 60.0 and error.retryable is True
    await budget.acquire("bob", "SendMessage")  # other users and operations have their own
    await budget.acquire("alice", "QueryChannels")
    assert await budget.try_acquire("alice", "SendMessage") is False


async def test_the_window_slides(redis_url: str) -> None:
    budget = RedisBudget(Redis.from_url(redis_url), api_key=fresh_key(), limit=2, window=0.5)
    try:
        assert await budget.try_acquire("a", "Op") and await budget.try_acquire("a", "Op")
        assert await budget.try_acquire("a", "Op") is False
        await asyncio.sleep(0.55)
        assert await budget.try_acquire("a", "Op") is True
    finally:
        await budget.aclose()


async def test_three_budgets_sharing_redis_never_over_admit(redis_url: str) -> None:
    key = fresh_key()
    budgets = [RedisBudget.from_url(redis_url, api_key=key, limit=5, **SLOW_OK) for _ in range(3)]
    try:
        jobs = [
            budgets[i % 3].try_acquire(USERS[i % len(USERS)], "SendMessage") for i in range(300)
        ]
        results = await asyncio.gather(*jobs)
    finally:
        for budget in budgets:
            await budget.aclose()
    admitted = collections.Counter(USERS[i % len(USERS)] for i, ok in enumerate(results) if ok)
    assert admitted == dict.fromkeys(USERS, 5)  # exactly the limit for every user, none over


WORKER = """
import asyncio, collections, json, sys
from stream_mcp.execution._redis_budget import RedisBudget

async def main(url, key, users, calls, start):
    slow_ok = {"timeout": 30.0, "read_timeout": 30.0, "connect_timeout": 30.0}
    budget = RedisBudget.from_url(url, api_key=key, limit=5, **slow_ok)
    await budget.ping()  # connected before the start line, so the processes overlap
    await asyncio.sleep(max(0.0, start - __import__("time").time()))
    names = [users[i % len(users)] for i in range(calls)]
    results = await asyncio.gather(*(budget.try_acquire(n, "SendMessage") for n in names))
    await budget.aclose()
    print(json.dumps(collections.Counter(n for n, ok in zip(names, results) if ok)))

url, key, users, calls, start = sys.argv[1:]
asyncio.run(main(url, key, json.loads(users), int(calls), float(start)))
"""


@pytest.mark.slow
async def test_three_processes_sharing_redis_never_over_admit(redis_url: str) -> None:
    key, start = fresh_key(), time.time() + 3.0
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            redis_url,
            key,
            json.dumps(USERS),
            "100",
            str(start),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0]
    admitted: collections.Counter[str] = collections.Counter()
    for stdout, _ in outputs:
        admitted.update(json.loads(stdout))
    assert admitted == dict.fromkeys(USERS, 5)


async def test_apps_sharing_redis_do_not_collide_and_keys_expire(redis_url: str) -> None:
    first, second = fresh_key(), fresh_key()
    a = RedisBudget.from_url(redis_url, api_key=first, limit=1)
    b = RedisBudget.from_url(redis_url, api_key=second, limit=1)
    client = Redis.from_url(redis_url)
    try:
        await a.acquire("alice", "SendMessage")
        await b.acquire("alice", "SendMessage")  # the other app's budget is its own
        assert await a.try_acquire("alice", "SendMessage") is False
        keys = [k.decode() async for k in client.scan_iter(match=f"{namespace(first)}*")]
        assert len(keys) == 2 and all(first not in k for k in keys)  # a hash, never the key
        for name in keys:
            ttl = await client.pttl(name)
            assert 0 < ttl <= (3600 + 61) * 1000  # idle keys go away
    finally:
        await a.aclose()
        await b.aclose()
        await client.aclose()


async def test_scripts_are_loaded_again_after_noscript(budget: RedisBudget, redis_url: str) -> None:
    await budget.acquire("alice", "Op")
    client = Redis.from_url(redis_url)
    try:
        await client.script_flush()
    finally:
        await client.aclose()
    await budget.acquire("alice", "Op")
    await budget.observe("server", "Op", RateReport(400, 390, time.time() + 30))
    await budget.acquire("alice", "Op")
    assert await budget.try_acquire("alice", "Op") is False


# --------------------------------------------------------------------------- app-wide


async def test_app_budget_caps_calls_once_the_limit_is_learned(redis_url: str) -> None:
    key = fresh_key()
    replicas = [RedisBudget.from_url(redis_url, api_key=key, limit=100) for _ in range(2)]
    one, two = replicas
    try:
        for i in range(3):  # before anything is learned, calls pass (and are counted)
            await one.acquire(f"u{i}", "QueryUsers")
        await two.observe("server", "QueryUsers", RateReport(20, 17, time.time() + 30))
        # floor(0.25 × 20) = 5 per window across replicas: 3 taken, 2 left.
        await two.acquire("u9", "QueryUsers")
        await one.acquire("u8", "QueryUsers")
        with pytest.raises(BudgetExhausted) as caught:
            await two.acquire("u7", "QueryUsers")
        assert "stream-mcp may use 5 of the app's 20 QueryUsers calls" in str(caught.value)
        assert 29.0 < caught.value.retry_after <= 31.0  # until Reset (+1 s for whole seconds)
        # The client platform's window is another one.
        await one.acquire("u7", "QueryUsers", platform="client")
    finally:
        for budget in replicas:
            await budget.aclose()


async def test_app_budget_leaves_the_reserve_to_real_users(budget: RedisBudget) -> None:
    # Stream reports 12 of 100 left: the agent (cap 25) stops at min(75, 10) = 10 left.
    await budget.observe("server", "GetApp", RateReport(100, 12, time.time() + 30))
    await budget.acquire("a", "GetApp")
    await budget.acquire("b", "GetApp")
    with pytest.raises(BudgetExhausted, match="Stream reports 10 of the app's 100 GetApp calls"):
        await budget.acquire("c", "GetApp")


async def test_app_window_resets_at_streams_reset(budget: RedisBudget) -> None:
    await budget.observe("server", "GetApp", RateReport(4, 3, int(time.time()) + 1))
    await budget.acquire("a", "GetApp")  # cap 1
    assert await budget.try_acquire("b", "GetApp") is False
    await asyncio.sleep(2.1)  # past Reset and its one-second slack
    assert await budget.try_acquire("b", "GetApp") is True


# --------------------------------------------------------------------------- failures


async def test_redis_killed_mid_run_fails_fast_and_clearly(private_redis: LocalServer) -> None:
    url = private_redis.url.replace("redis://", "redis://:s3cret-pw@")
    budget = RedisBudget.from_url(private_redis.url, api_key=fresh_key())
    secret = RedisBudget.from_url(url, api_key=fresh_key())
    try:
        await budget.acquire("alice", "SendMessage")
        private_redis.kill()
        for candidate in (budget, secret):
            started = time.monotonic()
            with pytest.raises(BudgetUnavailable) as caught:
                await candidate.acquire("alice", "SendMessage")
            assert time.monotonic() - started < FAIL_FAST
            error = caught.value
            assert error.retryable is True and error.kind == "budget_unavailable"
            text = json.dumps(error.to_dict())
            assert "s3cret" not in text and "127.0.0.1" not in text
            assert "was not sent" in str(error)
        with pytest.raises(BudgetUnavailable):
            await budget.ping()
    finally:
        await budget.aclose()
        await secret.aclose()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a Redis that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


async def test_a_silent_redis_times_out_instead_of_hanging(silent_server: str) -> None:
    budget = RedisBudget.from_url(silent_server, api_key=fresh_key())
    try:
        for call in (budget.acquire("alice", "Op"), budget.ping()):
            started = time.monotonic()
            with pytest.raises(BudgetUnavailable, match="did not answer within"):
                await call
            assert time.monotonic() - started < FAIL_FAST
    finally:
        await budget.aclose()


async def test_nothing_listening_fails_fast() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    budget = RedisBudget.from_url(f"redis://127.0.0.1:{port}/0", api_key=fresh_key())
    try:
        started = time.monotonic()
        with pytest.raises(BudgetUnavailable):
            await budget.acquire("alice", "Op")
        assert time.monotonic() - started < FAIL_FAST
    finally:
        await budget.aclose()


# --------------------------------------------------------------------------- configuration


def test_a_bad_url_is_a_config_error_that_does_not_echo_it() -> None:
    with pytest.raises(ConfigError) as caught:
        RedisBudget.from_url("http://:pw-secret@host/0", api_key="k")
    assert caught.value.field == "STREAM_MCP_REDIS_URL" and "pw-secret" not in str(caught.value)


async def test_make_budget_picks_redis_only_when_a_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(make_budget(api_key="k"), CallBudget)
    assert isinstance(make_budget(api_key="k", redis_url=""), CallBudget)
    shared = make_budget(api_key="k", redis_url="redis://127.0.0.1:1/0")
    assert isinstance(shared, RedisBudget)
    await shared.aclose()
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # as if redis were not installed
    with pytest.raises(ConfigError, match="redis package is not installed") as caught:
        make_budget(api_key="k", redis_url="redis://127.0.0.1:1/0")
    assert caught.value.hint == "pip install 'stream-mcp[scale]'"


def test_the_url_setting_never_shows_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_MCP_REDIS_URL", "redis://:pw-secret@127.0.0.1:6379/0")
    monkeypatch.setenv("STREAM_MCP_APP_BUDGET_SHARE", "0.5")
    settings = Settings()
    assert "pw-secret" not in repr(settings) and "pw-secret" not in str(settings.model_dump())
    assert settings.app_budget_share == 0.5
    monkeypatch.setenv("STREAM_MCP_APP_BUDGET_SHARE", "1.5")
    with pytest.raises(ConfigError, match=r"^STREAM_MCP_APP_BUDGET_SHARE: "):
        load_settings(Settings)


async def test_open_service_shares_the_budget_in_redis_and_closes_it(redis_url: str) -> None:
    credentials = Credentials(
        profile_name="test",
        api_key=fresh_key(),
        signer=Signer("redis-budget-secret-0123456789abcdef"),
        base_url="http://127.0.0.1:9",
        policy=Policy(default_user="alice", allowed_users=("*",)),
    )
    settings = Settings(redis_url=SecretStr(redis_url), budget_per_minute=2)
    async with open_service(settings, credentials) as service:
        budget = service.executor.budget
        assert isinstance(budget, RedisBudget) and budget.limit == 2
        await budget.ping()
        await budget.acquire("alice", "GetApp")
    async with open_service(settings, credentials) as service:  # another replica, same count
        await service.executor.budget.acquire("alice", "GetApp")
        assert await service.executor.budget.try_acquire("alice", "GetApp") is False


async def test_the_executor_sends_nothing_when_redis_is_down(private_redis: LocalServer) -> None:
    budget = RedisBudget.from_url(private_redis.url, api_key=fresh_key())
    with loopback(lambda _request, _n: json_reply(200, {"thing": {"id": "t1"}})) as server:
        executor = planned_executor(
            api_key="key", base_url=server.url, redactor=Redactor(), budget=budget
        )
        async with executor:
            await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
            private_redis.kill()
            started = time.monotonic()
            with pytest.raises(BudgetUnavailable) as caught:
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
            assert time.monotonic() - started < FAIL_FAST
    await budget.aclose()
    assert server.count == 1
    assert caught.value.to_dict()["error"] == "budget_unavailable"
    assert caught.value.to_dict()["retryable"] is True


async def test_wrong_credentials_are_named_without_the_password(
    private_redis: LocalServer,
) -> None:
    admin = Redis.from_url(private_redis.url)
    await admin.config_set("requirepass", "right-pw")
    await admin.aclose()
    wrong = private_redis.url.replace("redis://", "redis://:wrong-pw@")
    budget = RedisBudget.from_url(wrong, api_key=fresh_key())
    try:
        with pytest.raises(BudgetUnavailable) as caught:
            await budget.acquire("alice", "Op")
    finally:
        await budget.aclose()
    assert "refused the credentials in STREAM_MCP_REDIS_URL" in str(caught.value)
    assert "pw" not in json.dumps(caught.value.to_dict())
