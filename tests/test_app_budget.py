"""The app-wide budget: learned from Stream's headers, enforced before sending, per platform.

The end-to-end tests run a real Executor against the real sandbox with small limits and
count the calls on the sandbox's side, for the in-process budget and the Redis one.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from stream_mcp.catalog import Catalog
from stream_mcp.config import Settings
from stream_mcp.errors import BudgetExhausted, StreamAPIError
from stream_mcp.execution._app_budget import RateReport, app_cap, app_report, app_reserve
from stream_mcp.execution._budget import Budget, CallBudget
from stream_mcp.observability.redact import Redactor
from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.ratelimit import RateLimits
from tests.planned import PlannedExecutor, planned_executor
from tests.sandbox_helpers import server_token, user_token
from tests.test_executor_faults import GET, TOOL_INPUT
from tests.test_executor_helpers import Auth, json_reply, loopback

NOW = 1_700_000_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def report(limit: int, remaining: int, reset: float) -> RateReport:
    return RateReport(limit, remaining, reset)


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("share", "limit", "cap", "reserve"),
    [(0.25, 8, 2, 1), (0.25, 1000, 250, 100), (0.29, 100, 29, 10), (0.25, 2, 1, 1), (1, 60, 60, 0)],
)
def test_cap_and_reserve(share: float, limit: int, cap: int, reserve: int) -> None:
    assert app_cap(share, limit) == cap and app_reserve(share, limit) == reserve


@pytest.mark.parametrize("share", [0.0, -0.1, 1.01])
def test_share_must_be_in_zero_one(share: float) -> None:
    with pytest.raises(ValueError):
        CallBudget(app_share=share)


def headers(**values: str) -> httpx2.Headers:
    return httpx2.Headers({f"x-ratelimit-{k}": v for k, v in values.items()})


def test_which_answers_teach_the_app_limit() -> None:
    full = headers(limit="8", remaining="7", reset=str(int(NOW) + 30))
    assert app_report("server", full, NOW) == RateReport(8, 7, NOW + 30)
    assert app_report("client", full, NOW) == RateReport(8, 7, NOW + 30)
    # Exactly Stream's per-user limit on a user-token call may be the user's own window.
    user = headers(limit="60", remaining="59", reset=str(int(NOW) + 30))
    assert app_report("client", user, NOW) is None
    assert app_report("server", user, NOW) is not None
    assert app_report("server", headers(limit="8", remaining="7"), NOW) is None
    assert app_report("server", httpx2.Headers(), NOW) is None
    far = headers(limit="8", remaining="7", reset=str(int(NOW) * 1000))  # milliseconds
    assert app_report("server", far, NOW) is None


# --------------------------------------------------------------------------- in-process


def budget_at(clock: Clock, limit: int = 100) -> CallBudget:
    return CallBudget(limit, clock=clock, wall_clock=clock)


async def test_calls_pass_until_a_limit_is_learned_and_count_after() -> None:
    clock = Clock(NOW)
    budget = budget_at(clock)
    for i in range(3):
        await budget.acquire(f"u{i}", "GetApp")
    await budget.observe("server", "GetApp", report(20, 17, NOW + 30))
    await budget.acquire("u3", "GetApp")
    await budget.acquire("u4", "GetApp")  # 5 = floor(0.25 × 20), the earlier 3 included
    with pytest.raises(BudgetExhausted) as caught:
        await budget.acquire("u5", "GetApp")
    error = caught.value
    assert str(error) == (
        "budget exhausted, retry in 31 s: stream-mcp may use 5 of the app's 20 GetApp calls "
        "per Stream window (STREAM_MCP_APP_BUDGET_SHARE)"
    )
    assert error.retry_after == 31.0 and error.retryable
    assert await budget.try_acquire("u5", "GetApp", platform="client")  # another window
    assert await budget.try_acquire("u5", "QueryUsers")  # another endpoint
    clock.now = NOW + 31  # Reset plus its one-second slack: a new window, the limit kept
    for i in range(5):
        await budget.acquire(f"v{i}", "GetApp")
    assert await budget.try_acquire("v5", "GetApp") is False


async def test_a_refusal_by_either_budget_takes_no_slot_from_the_other() -> None:
    clock = Clock(NOW)
    budget = budget_at(clock, limit=1)
    await budget.observe("server", "GetApp", report(4, 4, NOW + 30))  # cap 1
    await budget.acquire("alice", "GetApp")
    assert await budget.try_acquire("alice", "GetApp") is False  # both full
    assert await budget.try_acquire("bob", "GetApp") is False  # app-wide full
    assert budget.remaining("bob", "GetApp") == 1  # bob's own slot was not spent


async def test_the_reserve_is_left_to_real_users() -> None:
    clock = Clock(NOW)
    budget = budget_at(clock)
    await budget.observe("server", "GetApp", report(100, 12, NOW + 30))
    await budget.acquire("a", "GetApp")
    await budget.acquire("b", "GetApp")
    with pytest.raises(BudgetExhausted) as caught:
        await budget.acquire("c", "GetApp")
    assert "Stream reports 10 of the app's 100 GetApp calls left this window" in str(caught.value)
    assert caught.value.retry_after == 31.0
    # A later answer in the same window reporting more left does not undo the lower count.
    await budget.observe("server", "GetApp", report(100, 50, NOW + 30))
    assert await budget.try_acquire("c", "GetApp") is False


async def test_a_new_window_from_stream_is_adopted() -> None:
    clock = Clock(NOW)
    budget = budget_at(clock)
    await budget.observe("server", "GetApp", report(4, 3, NOW + 10))  # cap 1
    await budget.acquire("a", "GetApp")
    assert await budget.try_acquire("b", "GetApp") is False
    clock.now = NOW + 12
    await budget.observe("server", "GetApp", report(4, 3, NOW + 70))
    assert await budget.try_acquire("b", "GetApp") is True
    # Answers about a window that has closed teach nothing about the current one.
    await budget.observe("server", "GetApp", report(4, 0, NOW + 5))
    assert await budget.try_acquire("c", "GetApp") is False  # cap 1 reached, not the reserve


async def test_retries_take_a_slot_from_the_app_budget_too() -> None:
    reset = str(int(NOW) + 30)
    failing = json_reply(
        500,
        {"code": -1, "message": "internal error", "StatusCode": 500},
        X_RateLimit_Limit="8",
        X_RateLimit_Remaining="7",
        X_RateLimit_Reset=reset,
    )
    with loopback(lambda _request, _n: failing) as server:
        executor = planned_executor(
            api_key="key",
            base_url=server.url,
            redactor=Redactor(),
            settings=Settings(max_retries=5),
            wall_clock=lambda: NOW,
            sleep=_no_sleep,
            trust_env=False,
        )
        async with executor:
            with pytest.raises(StreamAPIError) as caught:
                await executor.execute(GET, {"id": "t1"}, SERVER_AUTH, tool_input=TOOL_INPUT)
    assert server.count == 2  # cap floor(0.25 × 8) = 2: the second retry was never sent
    assert caught.value.attempts == 2


SERVER_AUTH = Auth("server", "alice", "eyJhbGciOiJIUzI1NiJ9.eyJzZXJ2ZXIiOnRydWV9.c2ln")


async def _no_sleep(_seconds: float) -> None:
    return None


# --------------------------------------------------------------------------- real sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of its own per test, so every window starts empty. Server-side: 8 calls a
    minute for every endpoint; user tokens: 8 a minute for QueryUsers across the app."""
    limits = RateLimits(server_per_minute=8, app_limits={"QueryUsers": 8})
    with Sandbox(rate_limits=limits) as running:
        yield running


def sandbox_count(sandbox: Sandbox, platform: str, operation: str) -> int:
    """How many calls the sandbox counted in the endpoint's current app window."""
    answer = httpx2.get(
        f"{sandbox.base_url}/rate_limits",
        params={"api_key": sandbox.api_key, platform: "true", "endpoints": operation},
        headers={
            "Authorization": server_token(sandbox.api_secret),
            "Stream-Auth-Type": "jwt",
        },
        timeout=10,
    )
    answer.raise_for_status()
    window = answer.json()[platform][operation]
    return int(window["limit"]) - int(window["remaining"])


@pytest.fixture(params=["memory", "redis"])
async def budget(request: pytest.FixtureRequest) -> AsyncIterator[Budget]:
    if request.param == "memory":
        yield CallBudget(100)
        return
    from stream_mcp.execution._redis_budget import RedisBudget

    url = request.getfixturevalue("redis_url")
    shared = RedisBudget.from_url(url, api_key=f"key-{uuid.uuid4().hex}", limit=100)
    try:
        yield shared
    finally:
        await shared.aclose()


def sandbox_executor(sandbox: Sandbox, catalog: Catalog, budget: Budget) -> PlannedExecutor:
    return planned_executor(
        catalog=catalog,
        api_key=sandbox.api_key,
        base_url=sandbox.base_url,
        redactor=Redactor([sandbox.api_secret]),
        settings=Settings(max_retries=0),
        budget=budget,
        trust_env=False,
    )


async def run_until_refused(
    executor: PlannedExecutor, op: Any, auth: Any, args: dict[str, Any], most: int
) -> tuple[int, BudgetExhausted]:
    for sent in range(most):
        try:
            await executor.execute(op, args, auth)
        except BudgetExhausted as refused:
            return sent, refused
    raise AssertionError(f"no refusal within {most} calls")


@pytest.mark.slow
async def test_app_budget_learned_from_the_sandbox_server_side(
    sandbox: Sandbox, catalog: Catalog, budget: Budget
) -> None:
    operation = "GetApp"
    auth = Auth("server", "agent-bot", server_token(sandbox.api_secret))
    async with sandbox_executor(sandbox, catalog, budget) as executor:
        sent, refused = await run_until_refused(executor, catalog.get(operation), auth, {}, 8)
        assert sent == 2  # floor(0.25 × 8): the first answer taught the limit
        assert "may use 2 of the app's 8 GetApp calls" in str(refused)
        assert 0 < refused.retry_after <= 61.0
        for _ in range(3):  # refused again and again, never sent
            with pytest.raises(BudgetExhausted):
                await executor.execute(catalog.get(operation), {}, auth)
    assert sandbox_count(sandbox, "server_side", operation) == 2


@pytest.mark.slow
async def test_app_budget_for_user_tokens_spans_users(
    sandbox: Sandbox, catalog: Catalog, budget: Budget
) -> None:
    operation = "QueryUsers"
    args = {"filter_conditions": {"id": {"$eq": "nobody"}}}
    users = [f"user-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    async with sandbox_executor(sandbox, catalog, budget) as executor:
        sent = 0
        with pytest.raises(BudgetExhausted) as caught:
            for user in users:  # one call each: the per-user budget never binds
                auth = Auth("user", user, user_token(sandbox.api_secret, user))
                await executor.execute(catalog.get(operation), args, auth)
                sent += 1
    assert sent == 2 and "of the app's 8 QueryUsers calls" in str(caught.value)
    assert sandbox_count(sandbox, "web", operation) == 2


def test_reset_is_unix_seconds_in_the_sandbox(sandbox: Sandbox) -> None:
    """The rule reads Reset as a Unix timestamp of the window's end, as the sandbox sends."""
    answer = httpx2.get(
        f"{sandbox.base_url}/rate_limits",
        params={"api_key": sandbox.api_key},
        headers={"Authorization": server_token(sandbox.api_secret), "Stream-Auth-Type": "jwt"},
        timeout=10,
    )
    reset = int(answer.headers["x-ratelimit-reset"])
    assert time.time() < reset + 1 <= time.time() + 62


def test_a_refusal_at_the_window_edge_still_asks_for_a_wait() -> None:
    from stream_mcp.execution._app_budget import app_refusal
    from stream_mcp.execution._budget import user_refusal

    for error in (
        app_refusal("SendMessage", "cap", 0.0, 25, 100),
        app_refusal("SendMessage", "reserve", -0.2, 9, 100),
        user_refusal("alice", "SendMessage", 60, 60.0, 0.0),
    ):
        assert error.retry_after is not None and error.retry_after > 0
        assert "retry in 1 s" in str(error)
