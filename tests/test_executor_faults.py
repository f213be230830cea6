"""Fault injection on loopback: each fault gets the right error and the right retries.

Retry counts are asserted on the server's own request counter. Sleeps are recorded by an
injected ``sleep`` (no real waiting), and the RNG and wall clock are injected too, so the
backoff delays are checked exactly.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from stream_mcp.catalog._build import Operation
from stream_mcp.catalog.schemas import Binding, ToolInput
from stream_mcp.config import Settings
from stream_mcp.errors import (
    BudgetExhausted,
    StreamAPIError,
    StreamConnectionError,
    StreamMCPError,
    StreamResponseError,
    StreamTimeout,
)
from stream_mcp.execution._budget import CallBudget
from stream_mcp.observability.redact import Redactor
from tests.factories import make_operation
from tests.planned import planned_executor
from tests.test_executor_helpers import (
    Auth,
    Recorded,
    Reply,
    closed_port_url,
    json_reply,
    loopback,
)

AUTH = Auth("user", "alice", "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.c2ln")
READ_TIMEOUT = 0.25
NOW = 1_700_000_000.0
TOOL_INPUT = ToolInput(
    schema={"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    bindings={"id": Binding("path", "id")},
)
OK = json_reply(200, {"thing": {"id": "t1"}})
RATE_LIMITED = {"code": 9, "message": "Too many requests", "StatusCode": 429}
INTERNAL = {"code": -1, "message": "internal error", "StatusCode": 500}


def thing_op(*, idempotent: bool) -> Operation:
    method = "GET" if idempotent else "POST"
    return make_operation(
        "GetThing" if idempotent else "MakeThing",
        method=method,
        path="/things/{id}",
        read_only=idempotent,
        idempotent=idempotent,
    )


GET = thing_op(idempotent=True)
POST = thing_op(idempotent=False)


class Harness:
    """An executor wired to recorded sleeps, a seeded RNG and a fixed wall clock."""

    def __init__(self, url: str, *, max_retries: int = 2, budget: CallBudget | None = None):
        self.sleeps: list[float] = []
        self.executor = planned_executor(
            api_key="key",
            base_url=url,
            redactor=Redactor(),
            settings=Settings(
                read_timeout=READ_TIMEOUT, connect_timeout=READ_TIMEOUT, max_retries=max_retries
            ),
            budget=budget,
            rng=random.Random(7),
            wall_clock=lambda: NOW,
            sleep=self._sleep,
            backoff_base=0.1,
            backoff_cap=2.0,
            trust_env=False,
        )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def call(self, op: Operation = GET) -> Any:
        async with self.executor:
            return await self.executor.execute(op, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)

    async def fail(self, op: Operation = GET) -> StreamMCPError:
        with pytest.raises(StreamMCPError) as caught:
            await self.call(op)
        return caught.value


def script(*replies: Reply) -> Any:
    """Answer the n-th request with the n-th reply (the last one repeats)."""

    def respond(_request: Recorded, n: int) -> Reply:
        return replies[min(n, len(replies)) - 1]

    return respond


# --------------------------------------------------------------------------- 5xx


async def test_500s_then_success_is_retried_for_idempotent_ops() -> None:
    with loopback(script(json_reply(500, INTERNAL), json_reply(503, INTERNAL), OK)) as server:
        harness = Harness(server.url)
        result = await harness.call()
    assert server.count == 3
    assert result.data == {"thing": {"id": "t1"}}
    assert result.meta["attempts"] == 3
    assert len(harness.sleeps) == 2
    # Full jitter: each delay is within [0, min(cap, base * 2**attempt)].
    assert 0 <= harness.sleeps[0] <= 0.2 and 0 <= harness.sleeps[1] <= 0.4


async def test_persistent_500_gives_up_after_max_retries() -> None:
    with loopback(script(json_reply(500, INTERNAL))) as server:
        harness = Harness(server.url, max_retries=2)
        error = await harness.fail()
    assert server.count == 3
    assert isinstance(error, StreamAPIError)
    assert (error.code, error.status, error.retryable, error.attempts) == (-1, 500, True, 3)
    assert error.to_dict()["attempts"] == 3


async def test_500_is_not_retried_for_non_idempotent_ops() -> None:
    with loopback(script(json_reply(500, INTERNAL), OK)) as server:
        harness = Harness(server.url)
        error = await harness.fail(POST)
    assert server.count == 1
    assert isinstance(error, StreamAPIError) and error.retryable is False
    assert "may have taken effect" in (error.hint or "")
    assert harness.sleeps == []


async def test_unrecoverable_500_is_not_retried() -> None:
    body = {**INTERNAL, "unrecoverable": True}
    with loopback(script(json_reply(500, body), OK)) as server:
        error = await Harness(server.url).fail()
    assert server.count == 1
    assert isinstance(error, StreamAPIError)
    assert error.retryable is False and error.to_dict()["unrecoverable"] is True


async def test_4xx_is_never_retried() -> None:
    body = {"code": 16, "message": "thing t1 not found", "StatusCode": 404}
    with loopback(script(json_reply(404, body), OK)) as server:
        error = await Harness(server.url).fail()
    assert server.count == 1
    assert isinstance(error, StreamAPIError)
    assert error.code == 16 and error.to_dict()["code_name"] == "does not exist"


async def test_html_502_from_a_proxy_is_retried_then_reported() -> None:
    page = Reply(502, b"<html><body>Bad Gateway</body></html>", {"Content-Type": "text/html"})
    with loopback(script(page)) as server:
        error = await Harness(server.url, max_retries=1).fail()
    assert server.count == 2
    assert isinstance(error, StreamResponseError)
    assert "HTTP 502" in str(error) and "non-JSON body (text/html)" in str(error)
    assert "Bad Gateway" in str(error) and error.retryable is True


# --------------------------------------------------------------------------- 429


async def test_429_with_retry_after_waits_that_long() -> None:
    limited = json_reply(429, RATE_LIMITED, Retry_After="1")
    with loopback(script(limited, OK)) as server:
        harness = Harness(server.url)
        result = await harness.call()
    assert server.count == 2
    assert result.meta["attempts"] == 2
    assert len(harness.sleeps) == 1 and 1.0 <= harness.sleeps[0] <= 1.2


async def test_429_with_http_date_retry_after() -> None:
    limited = json_reply(429, RATE_LIMITED, Retry_After="Tue, 14 Nov 2023 22:13:21 GMT")
    with loopback(script(limited, OK)) as server:
        harness = Harness(server.url)
        await harness.call()
    assert server.count == 2
    assert harness.sleeps == [pytest.approx(1.0, abs=0.3)]  # NOW is 22:13:20 GMT


async def test_429_with_rate_limit_reset_waits_until_the_reset() -> None:
    limited = json_reply(
        429,
        RATE_LIMITED,
        X_RateLimit_Limit="60",
        X_RateLimit_Remaining="0",
        X_RateLimit_Reset=str(int(NOW) + 1),
    )
    with loopback(script(limited, OK)) as server:
        harness = Harness(server.url)
        await harness.call()
    assert server.count == 2
    assert harness.sleeps == [pytest.approx(1.0, abs=0.3)]


async def test_429_without_hints_uses_jittered_backoff() -> None:
    with loopback(script(json_reply(429, RATE_LIMITED))) as server:
        harness = Harness(server.url, max_retries=3)
        error = await harness.fail()
    assert server.count == 4
    assert isinstance(error, StreamAPIError) and error.code == 9 and error.retryable
    assert len(harness.sleeps) == 3
    expected = random.Random(7)
    assert harness.sleeps == [expected.uniform(0, min(2.0, 0.1 * 2**n)) for n in (1, 2, 3)]


async def test_429_asking_for_a_long_wait_is_surfaced_not_slept() -> None:
    limited = json_reply(429, RATE_LIMITED, Retry_After="120", X_RateLimit_Remaining="0")
    with loopback(script(limited, OK)) as server:
        harness = Harness(server.url)
        error = await harness.fail()
    assert server.count == 1
    assert harness.sleeps == []
    assert isinstance(error, StreamAPIError)
    data = error.to_dict()
    assert data["retry_after"] == 120 and data["retryable"] is True
    assert data["rate_limit"] == {"remaining": 0}
    assert data["code_name"] == "rate limit"


async def test_429_is_not_retried_for_non_idempotent_ops() -> None:
    with loopback(script(json_reply(429, RATE_LIMITED, Retry_After="1"), OK)) as server:
        harness = Harness(server.url)
        error = await harness.fail(POST)
    assert server.count == 1 and harness.sleeps == []
    assert isinstance(error, StreamAPIError) and error.retry_after == 1.0


# --------------------------------------------------------------------------- timeouts


async def test_stalled_response_times_out_and_is_retried() -> None:
    with loopback(script(Reply(stall=2.0))) as server:
        harness = Harness(server.url, max_retries=1)
        error = await harness.fail()
    assert server.count == 2
    assert isinstance(error, StreamTimeout)
    assert error.retryable is True and "read timeout" in str(error)
    assert error.to_dict()["error"] == "timeout"


async def test_stall_then_success() -> None:
    with loopback(script(Reply(stall=2.0), OK)) as server:
        result = await Harness(server.url).call()
    assert server.count == 2 and result.meta["attempts"] == 2


async def test_timeout_is_not_retried_for_non_idempotent_ops() -> None:
    with loopback(script(Reply(stall=2.0), OK)) as server:
        error = await Harness(server.url).fail(POST)
    assert server.count == 1
    assert isinstance(error, StreamTimeout)


async def test_slow_body_times_out() -> None:
    body = json.dumps({"users": ["a"] * 50}).encode()
    slow = Reply(chunks=[(0.0, body[:20]), (2.0, body[20:])])
    with loopback(script(slow)) as server:
        harness = Harness(server.url, max_retries=1)
        error = await harness.fail()
    assert server.count == 2
    assert isinstance(error, StreamTimeout) and "read timeout" in str(error)


async def test_slow_but_steady_body_within_the_read_timeout_succeeds() -> None:
    body = json.dumps({"users": ["a"] * 50}).encode()
    steady = Reply(chunks=[(0.0, body[:20]), (0.05, body[20:60]), (0.05, body[60:])])
    with loopback(script(steady)) as server:
        result = await Harness(server.url).call()
    assert server.count == 1
    assert result.data == {"users": ["a"] * 50}


# --------------------------------------------------------------------------- broken bodies


async def test_malformed_json_on_success_is_reported_not_retried() -> None:
    broken = Reply(200, b'{"thing": {"id": "t1"', {"Content-Type": "application/json"})
    with loopback(script(broken, OK)) as server:
        error = await Harness(server.url).fail()
    assert server.count == 1  # the call may have taken effect: never replay it blindly
    assert isinstance(error, StreamResponseError)
    assert "truncated or malformed JSON body" in str(error) and "HTTP 200" in str(error)
    assert '{"thing": {"id": "t1"' in str(error)
    assert error.retryable is False


async def test_malformed_json_on_500_is_retried() -> None:
    broken = Reply(500, b'{"code": -1, "mess', {"Content-Type": "application/json"})
    with loopback(script(broken, OK)) as server:
        result = await Harness(server.url).call()
    assert server.count == 2 and result.meta["attempts"] == 2


async def test_body_cut_short_is_a_network_error_and_retried() -> None:
    cut = Reply(200, b'{"thing": {"id"', length=200)  # announces 200 bytes, sends 15
    with loopback(script(cut, cut, OK)) as server:
        harness = Harness(server.url)
        result = await harness.call()
    assert server.count == 3 and result.meta["attempts"] == 3


async def test_body_always_cut_short_gives_a_clear_error() -> None:
    cut = Reply(200, b'{"thing": {"id"', length=200)
    with loopback(script(cut)) as server:
        error = await Harness(server.url, max_retries=1).fail()
    assert server.count == 2
    assert isinstance(error, StreamConnectionError) and error.retryable is True
    assert str(error).startswith("could not complete GetThing (GET /things/{id}): ")


async def test_connection_refused_is_retried_then_reported() -> None:
    harness = Harness(closed_port_url(), max_retries=2)
    error = await harness.fail()
    assert isinstance(error, StreamConnectionError)
    assert error.attempts == 3 and len(harness.sleeps) == 2
    assert error.__cause__ is None and error.__suppress_context__


async def test_a_write_that_never_reached_stream_stays_retryable() -> None:
    error = await Harness(closed_port_url(), max_retries=2).fail(POST)
    assert isinstance(error, StreamConnectionError)
    assert error.attempts == 1 and error.retryable is True and not error.delivered


async def test_a_rate_limited_write_stays_retryable_a_cut_one_does_not() -> None:
    with loopback(script(json_reply(429, RATE_LIMITED))) as server:
        limited = await Harness(server.url).fail(POST)
    assert limited.status == 429 and limited.retryable is True
    cut = Reply(200, b'{"thing": {"id"', length=200)
    with loopback(script(cut)) as server:
        error = await Harness(server.url).fail(POST)
    assert isinstance(error, StreamConnectionError) and error.delivered
    assert error.retryable is False and "may have taken effect" in (error.hint or "")


# --------------------------------------------------------------------------- budget


async def test_budget_stops_calls_before_they_are_sent() -> None:
    clock = [0.0]
    budget = CallBudget(2, clock=lambda: clock[0])
    with loopback(script(OK)) as server:
        harness = Harness(server.url, budget=budget)
        async with harness.executor as executor:
            for _ in range(2):
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
            with pytest.raises(BudgetExhausted) as caught:
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
            assert server.count == 2
            assert str(caught.value).startswith("budget exhausted, retry in 60 s")
            assert caught.value.to_dict()["retry_after"] == 60.0
            assert caught.value.retryable is True
            # A different user or operation has its own budget.
            other = Auth("user", "bob", AUTH.token)
            await executor.execute(GET, {"id": "t1"}, other, tool_input=TOOL_INPUT)
            clock[0] = 60.5
            await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
    assert server.count == 4


async def test_retries_spend_the_budget_too() -> None:
    budget = CallBudget(2, clock=lambda: 0.0)
    with loopback(script(json_reply(500, INTERNAL))) as server:
        harness = Harness(server.url, max_retries=5, budget=budget)
        error = await harness.fail()
    assert server.count == 2  # the third attempt had no budget left
    assert isinstance(error, StreamAPIError) and error.attempts == 2


async def test_default_budget_is_sixty_per_minute_per_user_and_operation() -> None:
    with loopback(script(OK)) as server:
        harness = Harness(server.url)
        assert harness.executor.budget.limit == 60
        async with harness.executor as executor:
            for _ in range(60):
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
            with pytest.raises(BudgetExhausted):
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
    assert server.count == 60


def _windowed(limit: int, remaining: int) -> Reply:
    """OK, reporting Stream's app window for the endpoint (it ends 30 s after NOW)."""
    return json_reply(
        200,
        {"thing": {"id": "t1"}},
        X_RateLimit_Limit=str(limit),
        X_RateLimit_Remaining=str(remaining),
        X_RateLimit_Reset=str(int(NOW) + 30),
    )


async def test_the_in_process_budget_learns_the_app_window_from_each_answer() -> None:
    """The executor takes the in-process budget's slots directly, and teaches it the window."""
    budget = CallBudget(100, clock=lambda: 0.0, wall_clock=lambda: NOW)
    with loopback(script(_windowed(8, 7))) as server:
        harness = Harness(server.url, budget=budget)
        async with harness.executor as executor:
            for _ in range(2):  # floor(0.25 x 8) calls per window once the limit is known
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
            with pytest.raises(BudgetExhausted) as caught:
                await executor.execute(GET, {"id": "t1"}, AUTH, tool_input=TOOL_INPUT)
    assert server.count == 2
    assert "may use 2 of the app's 8" in str(caught.value)


class _CountingBudget(CallBudget):
    """A budget of another class: the executor must go through the awaitable interface."""

    def __init__(self) -> None:
        super().__init__(100, clock=lambda: 0.0, wall_clock=lambda: NOW)
        self.calls: list[str] = []

    async def acquire(self, user: str, operation: str, *, platform: Any = "server") -> None:
        self.calls.append("acquire")
        await super().acquire(user, operation, platform=platform)

    async def observe(self, platform: Any, operation: str, report: Any) -> None:
        self.calls.append("observe")
        await super().observe(platform, operation, report)


async def test_other_budgets_are_awaited() -> None:
    budget = _CountingBudget()
    with loopback(script(_windowed(8, 7))) as server:
        await Harness(server.url, budget=budget).call()
    assert budget.calls == ["acquire", "observe"]


async def test_a_request_id_carrying_the_token_is_redacted_in_the_result() -> None:
    reply = json_reply(200, {"thing": {"id": "t1"}}, X_Request_Id=f"req {AUTH.token}")
    with loopback(script(reply)) as server:
        result = await Harness(server.url).call()
    assert AUTH.token not in json.dumps(result.meta)
    assert result.meta["request_id"].startswith("req ")
