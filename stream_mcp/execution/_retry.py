"""When to try a call again, and what Stream's response headers say about waiting.

Only idempotent operations are retried, and only after transport errors or a 429 or 5xx
answer marked retryable (see ``stream_errors``). The delay is full-jitter exponential
backoff, but never shorter than the wait the server asked for (``Retry-After``, or
``X-RateLimit-Reset`` on a 429); a wait longer than the backoff cap is not slept through but
surfaced, so an agent is never blocked long.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx2

from stream_mcp.errors import StreamCallError, StreamConnectionError, StreamTimeout

DEFAULT_BACKOFF_BASE = 0.25
DEFAULT_BACKOFF_CAP = 2.0
REQUEST_ID_HEADERS = ("x-request-id", "x-stream-request-id", "request-id")
_RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit": "limit",
    "x-ratelimit-remaining": "remaining",
    "x-ratelimit-reset": "reset",
}


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff: ``uniform(0, min(cap, base * 2**attempts))``."""

    base: float
    cap: float
    max_retries: int
    rng: random.Random

    def delay(self, error: StreamCallError, attempts: int, *, idempotent: bool) -> float | None:
        """How long to sleep before the next attempt, or None to give up now."""
        if not idempotent or attempts > self.max_retries:
            return None
        transient = isinstance(error, StreamTimeout | StreamConnectionError) or (
            error.status is not None
            and (error.status == 429 or error.status >= 500)
            and error.retryable
        )
        if not transient:
            return None
        jitter = self.rng.uniform(0.0, min(self.cap, self.base * 2**attempts))
        if error.retry_after is None:
            return jitter
        if error.retry_after > self.cap:
            return None  # longer than we block an agent: surface retry_after instead
        return max(error.retry_after, jitter)


def server_wait(
    status: int, headers: httpx2.Headers, wall_clock: Callable[[], float]
) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or X-RateLimit-Reset."""
    wait = parse_retry_after(headers.get("retry-after"), wall_clock())
    if wait is None and status == 429:
        reset = headers.get("x-ratelimit-reset")
        if reset is not None:
            try:
                wait = max(0.0, float(reset) - wall_clock())
            except ValueError:
                wait = None
    return wait


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def response_meta(headers: httpx2.Headers) -> tuple[dict[str, int] | None, str | None]:
    """Rate-limit headers as integers and the request id, in one pass over the headers."""
    rate: dict[str, int] = {}
    ids: dict[str, str] = {}
    for name, value in headers.multi_items():
        if not name.startswith(("x-", "request-id")):
            continue
        key = _RATE_LIMIT_HEADERS.get(name)
        if key is not None:
            try:
                rate[key] = int(float(value))
            except ValueError:
                continue
        elif name in REQUEST_ID_HEADERS and value:
            ids.setdefault(name, value[:128])
    request_id = next((ids[n] for n in REQUEST_ID_HEADERS if n in ids), None)
    return rate or None, request_id
