"""A client-side call budget per (acting user, operation).

Stream rate-limits per app and, for user-authenticated calls, per user and endpoint (60 a
minute by default). One busy agent could otherwise spend the whole app's allowance, so every
HTTP attempt first takes a slot here. The window is exact (a log of the last minute's calls),
so the budget never lets through more than ``limit`` calls in any 60-second span.

Not thread-safe by design: an ``Executor`` and its budget live on
one event loop, and :meth:`CallBudget.acquire` never awaits.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from stream_mcp.errors import BudgetExhausted

WINDOW_SECONDS = 60.0
DEFAULT_LIMIT = 60
# Windows are dropped once empty; this bounds memory when many users come and go.
PRUNE_ABOVE = 1024


class CallBudget:
    """At most ``limit`` calls per ``window`` seconds for each (user, operation) key."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("budget limit must be at least 1 call per window")
        if window <= 0:
            raise ValueError("budget window must be positive")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._calls: dict[tuple[str, str], deque[float]] = {}

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
        """Calls still allowed right now for this key."""
        return self._limit - len(self._fresh((user, operation), self._clock()))

    def retry_after(self, user: str, operation: str) -> float:
        """Seconds until the next call for this key would be allowed (0 if it is now)."""
        now = self._clock()
        calls = self._fresh((user, operation), now)
        if len(calls) < self._limit:
            return 0.0
        return max(0.0, calls[0] + self._window - now)

    def try_acquire(self, user: str, operation: str) -> bool:
        """Take a slot if one is free; never raises."""
        now = self._clock()
        key = (user, operation)
        calls = self._fresh(key, now)
        if len(calls) >= self._limit:
            return False
        calls.append(now)
        if len(self._calls) > PRUNE_ABOVE:
            self._prune(now)
        return True

    def acquire(self, user: str, operation: str) -> None:
        """Take a slot or raise :class:`BudgetExhausted` saying when to come back."""
        if self.try_acquire(user, operation):
            return
        wait = self.retry_after(user, operation)
        seconds = max(1, math.ceil(wait))
        raise BudgetExhausted(
            f"budget exhausted, retry in {seconds} s: {operation} as {user!r} is limited to "
            f"{self._limit} calls per {self._window:g} s by stream-mcp",
            retry_after=round(wait, 3),
            hint=f"wait {seconds} s, or batch the work into fewer calls",
        )

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        stale = [k for k, calls in self._calls.items() if not calls or calls[-1] <= horizon]
        for key in stale:
            del self._calls[key]
