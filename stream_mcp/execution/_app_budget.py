"""The app-wide budget: the agent's share of Stream's per-endpoint limit for the whole app.

Stream limits calls per app, endpoint and platform (server-side, or a client platform for
user tokens) over one-minute windows, and reports the window on every answer:
``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (Unix seconds of the window's end). The
agent learns the limit from those headers and then, in each window, refuses before sending:

* **cap**: once ``floor(share × limit)`` (at least 1) of its own calls to that endpoint fall
  in the current window;
* **reserve**: when Stream's last ``Remaining``, less the agent's calls since that answer, is
  at or below ``min(limit − cap, ceil(limit / 10))``: the last tenth of the window is left to
  real users (and to the app's other back ends, which the agent cannot count), never more than
  the share the agent does not use.

Until a limit is learned, calls pass (the per-user budget still applies) and are counted, so
the cap covers them once the limit is known. ``Reset`` is whole seconds, so a window is taken
to end one second after it (never earlier than Stream's). Answers to user-token calls that
report a limit of exactly 60, Stream's per-user limit, are not learned: the window they
describe may be the user's own (the sandbox reports whichever of the user's and the app's
windows is closer to its limit; Stream does not document which it reports). Server-token
answers always describe the app's server-side window.

This module holds the rule and the in-process state; the Redis variant runs the same rule in
Lua (:mod:`stream_mcp.execution._redis_budget`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx2

from stream_mcp.errors import BudgetExhausted
from stream_mcp.execution._retry import response_meta

# Stream's platforms as far as the agent is concerned: server tokens count against the app's
# server-side limits, user tokens against a client platform's.
Platform = Literal["server", "client"]
DEFAULT_SHARE = 0.25
STREAM_USER_LIMIT = 60  # Stream's per-user, per-endpoint limit for user tokens
RESERVE_FRACTION = 0.1
RESET_SLACK = 1.0  # X-RateLimit-Reset is whole seconds: the window may end up to 1 s later
SAME_WINDOW = 2.0  # two window ends this close describe the same window
MAX_RESET_AHEAD = 3600.0  # a Reset further ahead than this is not a one-minute window
ENV_SHARE = "STREAM_MCP_APP_BUDGET_SHARE"


@dataclass(frozen=True, slots=True)
class RateReport:
    """Stream's view of one endpoint's current app window, from an answer's headers."""

    limit: int
    remaining: int
    reset: float  # Unix seconds


def check_share(share: float) -> float:
    if not 0 < share <= 1:
        raise ValueError("the app budget share must be in (0, 1]")
    return share


def app_cap(share: float, limit: int) -> int:
    """The agent's calls per window: floor(share × limit), at least 1 (1e-9 absorbs float
    error, so 0.29 × 100 is 29)."""
    return max(1, math.floor(share * limit + 1e-9))


def app_reserve(share: float, limit: int) -> int:
    """What Stream's ``Remaining`` must stay above for the agent to send."""
    return min(limit - app_cap(share, limit), math.ceil(limit * RESERVE_FRACTION))


def app_report(platform: Platform, headers: httpx2.Headers, now: float) -> RateReport | None:
    """The app window an answer reports, or None when it reports none (or may be a user's)."""
    return rate_report(platform, response_meta(headers)[0], now)


def rate_report(
    platform: Platform, rate: Mapping[str, int] | None, now: float
) -> RateReport | None:
    """:func:`app_report` from the rate-limit headers already read (``response_meta``)."""
    if rate is None:
        return None
    limit, remaining, reset = rate.get("limit"), rate.get("remaining"), rate.get("reset")
    if limit is None or remaining is None or reset is None or limit < 1 or remaining < 0:
        return None
    if platform == "client" and limit == STREAM_USER_LIMIT:
        return None
    if reset > now + MAX_RESET_AHEAD:
        return None
    return RateReport(limit, remaining, float(reset))


# A refusal always asks for some wait: at a window's very edge the computed wait is 0, and
# "retry_after: 0" reads as "not refused".
MIN_WAIT = 0.001


def app_refusal(operation: str, reason: str, wait: float, used: int, limit: int) -> BudgetExhausted:
    """The error for a call the app-wide budget refuses (``reason`` "cap" or "reserve")."""
    wait = max(MIN_WAIT, wait)
    seconds = max(1, math.ceil(wait))
    if reason == "cap":
        detail = (
            f"stream-mcp may use {used} of the app's {limit} {operation} calls per Stream "
            f"window ({ENV_SHARE})"
        )
    else:
        detail = (
            f"Stream reports {max(0, used)} of the app's {limit} {operation} calls left this "
            f"window, which stream-mcp leaves to real users"
        )
    return BudgetExhausted(
        f"budget exhausted, retry in {seconds} s: {detail}",
        retry_after=round(wait, 3),
        hint=f"wait {seconds} s for Stream's window to reset, or batch the work into fewer calls",
    )


@dataclass(slots=True)
class AppWindow:
    """One endpoint's learned limit and the agent's count in the current window (in-process).

    ``seen`` is Stream's lowest ``Remaining`` this window; ``since`` the agent's calls admitted
    after it was reported.
    """

    limit: int | None = None
    end: float = 0.0
    count: int = 0
    seen: int | None = None
    since: int = 0

    def _roll(self, now: float, window: float) -> None:
        if self.end <= now:
            self.end, self.count, self.seen, self.since = now + window, 0, None, 0

    def refusal(
        self, operation: str, share: float, now: float, window: float
    ) -> BudgetExhausted | None:
        """Why a call now would be over the app-wide budget, or None if it may be sent."""
        self._roll(now, window)
        if self.limit is None:
            return None
        cap = app_cap(share, self.limit)
        if self.count >= cap:
            return app_refusal(operation, "cap", self.end - now, cap, self.limit)
        if self.seen is not None:
            left = self.seen - self.since
            if left <= app_reserve(share, self.limit):
                return app_refusal(operation, "reserve", self.end - now, left, self.limit)
        return None

    def admit(self) -> None:
        self.count += 1
        self.since += 1

    def observe(self, report: RateReport, now: float) -> None:
        """Learn the limit, and adopt Stream's window when it is still open."""
        self.limit = report.limit
        end = report.reset + RESET_SLACK
        if end <= now:
            return  # an answer about a window that has closed
        if self.end > now and abs(end - self.end) <= SAME_WINDOW:
            self.end = max(self.end, end)
            if self.seen is None or report.remaining < self.seen:
                self.seen, self.since = report.remaining, 0
            return
        # Stream's window differs from the one assumed: adopt it, keeping any live count
        # (the agent's calls since then fall in Stream's window too, or are over-counted).
        if self.end <= now:
            self.count = 0
        self.end, self.seen, self.since = end, report.remaining, 0
