"""The client-side call budgets: per (acting user, operation), and the app-wide share.

Stream rate-limits per app and, for user-authenticated calls, per user and endpoint (60 a
minute by default). One busy agent could otherwise spend the whole app's allowance, so every
HTTP attempt, retries included, first takes a slot from both budgets, in one step:

* per (user, operation): an exact sliding window (a log of the last minute's calls), so no
  more than ``limit`` calls pass in any 60-second span;
* app-wide per (platform, operation): the agent's share of the limit Stream reports
  (:mod:`stream_mcp.execution._app_budget`).

:class:`Budget` is the interface the executor uses; :class:`CallBudget` keeps the counts in
this process, :class:`~stream_mcp.execution._redis_budget.RedisBudget` shares them between
replicas. :func:`make_budget` picks one from the configuration.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from stream_mcp.errors import BudgetExhausted
from stream_mcp.execution._app_budget import (
    DEFAULT_SHARE,
    MIN_WAIT,
    AppWindow,
    Platform,
    RateReport,
    check_share,
)

WINDOW_SECONDS = 60.0
DEFAULT_LIMIT = 60
# Idle windows are dropped once there are more than this many keys, and then again only when
# the live ones have doubled: memory stays bounded and pruning costs O(1) per call amortized.
PRUNE_ABOVE = 1024


class Budget(Protocol):
    """What the executor needs from a call budget; every method may await shared state."""

    @property
    def limit(self) -> int: ...

    async def acquire(self, user: str, operation: str, *, platform: Platform = "server") -> None:
        """Take a slot from both budgets or raise :class:`BudgetExhausted` (or, for a shared
        budget, :class:`~stream_mcp.errors.BudgetUnavailable`)."""
        ...

    async def try_acquire(
        self, user: str, operation: str, *, platform: Platform = "server"
    ) -> bool:
        """Take a slot from both budgets if both have one; False otherwise."""
        ...

    async def observe(self, platform: Platform, operation: str, report: RateReport) -> None:
        """Learn Stream's app window for an endpoint from an answer's headers."""
        ...

    async def ping(self) -> None:
        """Raise :class:`~stream_mcp.errors.BudgetUnavailable` unless the budget can answer."""
        ...

    async def aclose(self) -> None: ...


def user_refusal(
    user: str, operation: str, limit: int, window: float, wait: float
) -> BudgetExhausted:
    """The error for a call over the per-(user, operation) budget."""
    wait = max(MIN_WAIT, wait)
    seconds = max(1, math.ceil(wait))
    return BudgetExhausted(
        f"budget exhausted, retry in {seconds} s: {operation} as {user!r} is limited to "
        f"{limit} calls per {window:g} s by stream-mcp",
        retry_after=round(wait, 3),
        hint=f"wait {seconds} s, or batch the work into fewer calls",
    )


class CallBudget:
    """Both budgets in this process: at most ``limit`` calls per ``window`` seconds for each
    (user, operation), and ``app_share`` of each endpoint's learned app limit.

    Not thread-safe by design: an ``Executor`` and its budget live on one event loop, and no
    method awaits between reading and writing the counts.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        *,
        window: float = WINDOW_SECONDS,
        app_share: float = DEFAULT_SHARE,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1:
            raise ValueError("budget limit must be at least 1 call per window")
        if window <= 0:
            raise ValueError("budget window must be positive")
        self._limit = limit
        self._window = window
        self._share = check_share(app_share)
        self._clock = clock
        self._wall_clock = wall_clock  # Stream's Reset is wall-clock time
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._apps: dict[tuple[Platform, str], AppWindow] = {}
        self._prune_above = PRUNE_ABOVE

    @property
    def limit(self) -> int:
        return self._limit

    def _fresh(self, key: tuple[str, str], now: float) -> deque[float]:
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = deque()
        horizon = now - self._window
        while calls and calls[0] <= horizon:
            calls.popleft()
        return calls

    def remaining(self, user: str, operation: str) -> int:
        """Per-user calls still allowed right now for this key."""
        return self._limit - len(self._fresh((user, operation), self._clock()))

    def retry_after(self, user: str, operation: str) -> float:
        """Seconds until the per-user budget allows the next call (0 if it does now)."""
        now = self._clock()
        calls = self._fresh((user, operation), now)
        if len(calls) < self._limit:
            return 0.0
        return max(0.0, calls[0] + self._window - now)

    def take(self, user: str, operation: str, platform: Platform) -> BudgetExhausted | None:
        """Take a slot from both budgets, or say why not (taking none).

        Synchronous: the executor calls it directly when its budget is this class, instead of
        awaiting :meth:`acquire` (nothing here waits)."""
        now = self._clock()
        key = (user, operation)
        calls = self._fresh(key, now)
        if len(calls) >= self._limit:
            wait = calls[0] + self._window - now
            return user_refusal(user, operation, self._limit, self._window, wait)
        app = self._apps.get((platform, operation))
        if app is None:
            app = self._apps[(platform, operation)] = AppWindow()
        refusal = app.refusal(operation, self._share, self._wall_clock(), WINDOW_SECONDS)
        if refusal is not None:
            return refusal
        app.admit()
        calls.append(now)
        if len(self._calls) > self._prune_above:
            self._prune(now)
            self._prune_above = max(PRUNE_ABOVE, 2 * len(self._calls))
        return None

    async def try_acquire(
        self, user: str, operation: str, *, platform: Platform = "server"
    ) -> bool:
        return self.take(user, operation, platform) is None

    async def acquire(self, user: str, operation: str, *, platform: Platform = "server") -> None:
        refusal = self.take(user, operation, platform)
        if refusal is not None:
            raise refusal

    async def observe(self, platform: Platform, operation: str, report: RateReport) -> None:
        self.learn(platform, operation, report)

    def learn(self, platform: Platform, operation: str, report: RateReport) -> None:
        """:meth:`observe`, synchronously (see :meth:`take`)."""
        app = self._apps.get((platform, operation))
        if app is None:
            app = self._apps[(platform, operation)] = AppWindow()
        app.observe(report, self._wall_clock())

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        stale = [k for k, calls in self._calls.items() if not calls or calls[-1] <= horizon]
        for key in stale:
            del self._calls[key]


def make_budget(
    *,
    limit: int = DEFAULT_LIMIT,
    app_share: float = DEFAULT_SHARE,
    api_key: str,
    redis_url: str | None = None,
) -> Budget:
    """The in-process budget, or the Redis one when a URL is configured (redis is imported
    only then)."""
    if not redis_url:
        return CallBudget(limit, app_share=app_share)
    from stream_mcp.execution._redis_budget import RedisBudget

    return RedisBudget.from_url(redis_url, api_key=api_key, limit=limit, app_share=app_share)
