"""The client-side call budget: an exact sliding window per (user, operation)."""

from __future__ import annotations

import pytest

from stream_mcp.errors import BudgetExhausted
from stream_mcp.execution._budget import PRUNE_ABOVE, CallBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_allows_exactly_the_limit_per_window() -> None:
    clock = Clock()
    budget = CallBudget(3, clock=clock)
    for _ in range(3):
        await budget.acquire("alice", "SendMessage")
    assert budget.remaining("alice", "SendMessage") == 0
    with pytest.raises(BudgetExhausted) as caught:
        await budget.acquire("alice", "SendMessage")
    error = caught.value
    assert str(error).startswith("budget exhausted, retry in 60 s")
    assert error.retry_after == 60.0 and error.retryable is True
    assert error.to_dict() == {
        "error": "budget_exhausted",
        "message": str(error),
        "hint": "wait 60 s, or batch the work into fewer calls",
        "retryable": True,
        "retry_after": 60.0,
    }


async def test_window_slides_call_by_call() -> None:
    clock = Clock()
    budget = CallBudget(2, clock=clock)
    await budget.acquire("a", "Op")  # t=1000
    clock.now += 30
    await budget.acquire("a", "Op")  # t=1030
    assert await budget.try_acquire("a", "Op") is False
    assert budget.retry_after("a", "Op") == pytest.approx(30.0)
    clock.now += 29.5
    with pytest.raises(BudgetExhausted, match=r"^budget exhausted, retry in 1 s"):
        await budget.acquire("a", "Op")
    clock.now += 0.5  # the first call is now exactly a window old
    assert await budget.try_acquire("a", "Op") is True
    assert await budget.try_acquire("a", "Op") is False
    assert budget.retry_after("a", "Op") == pytest.approx(30.0)


async def test_keys_are_independent() -> None:
    budget = CallBudget(1, clock=Clock())
    await budget.acquire("alice", "SendMessage")
    await budget.acquire("bob", "SendMessage")
    await budget.acquire("alice", "QueryChannels")
    assert await budget.try_acquire("alice", "SendMessage") is False
    assert budget.retry_after("carol", "SendMessage") == 0.0


async def test_failed_attempts_do_not_take_a_slot() -> None:
    clock = Clock()
    budget = CallBudget(1, clock=clock)
    await budget.acquire("a", "Op")
    for _ in range(10):
        assert await budget.try_acquire("a", "Op") is False
    clock.now += 60
    assert budget.remaining("a", "Op") == 1


async def test_idle_keys_are_pruned() -> None:
    clock = Clock()
    budget = CallBudget(1, clock=clock)
    for i in range(PRUNE_ABOVE):
        await budget.acquire(f"user-{i}", "Op")
    clock.now += 61
    await budget.acquire("late", "Op")
    assert len(budget._calls) < PRUNE_ABOVE  # old windows were dropped, memory stays bounded


async def test_many_live_keys_are_not_scanned_on_every_call() -> None:
    budget = CallBudget(1, clock=Clock())
    for i in range(PRUNE_ABOVE + 1):  # all live: the first prune drops nothing
        await budget.acquire(f"user-{i}", "Op")
    scans = 0
    prune = budget._prune

    def counted(now: float) -> None:
        nonlocal scans
        scans += 1
        prune(now)

    budget._prune = counted  # type: ignore[method-assign]
    for i in range(PRUNE_ABOVE):
        await budget.acquire(f"late-{i}", "Op")
    assert scans <= 1  # next scan only once the live keys have doubled


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (-1, 60.0), (5, 0.0)])
def test_bad_configuration_is_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        CallBudget(limit, window=window)
