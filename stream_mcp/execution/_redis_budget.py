"""Both call budgets shared by every replica through Redis.

Each acquisition is one Lua script (``EVALSHA``, loaded again after ``NOSCRIPT``), so the
check and the write are atomic across replicas: no replica admits a call the shared budget
would refuse. Time is Redis's ``TIME`` inside the script, so replicas' clocks never matter.
Keys are namespaced by a hash of the app's API key (never the key itself) and hash-tagged
into one cluster slot per app; every key expires once idle.

Redis down or slow fails the call fast (connect and read timeouts of about a second, no
client-side retries) with :class:`~stream_mcp.errors.BudgetUnavailable`: without the shared
count no replica can know it stays within the limits. ``redis`` is imported only here, and
this module only when ``STREAM_MCP_REDIS_URL`` is set.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from stream_mcp.errors import BudgetUnavailable, ConfigError
from stream_mcp.execution._app_budget import (
    DEFAULT_SHARE,
    RESERVE_FRACTION,
    RESET_SLACK,
    SAME_WINDOW,
    Platform,
    RateReport,
    app_refusal,
    check_share,
)
from stream_mcp.execution._budget import DEFAULT_LIMIT, WINDOW_SECONDS, user_refusal
from stream_mcp.observability import get_logger

if TYPE_CHECKING:
    from redis.asyncio import Redis

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 1.0
OPERATION_TIMEOUT = 1.5  # the whole acquisition, connection pool wait included
# Redis runs scripts one at a time, so more connections add no throughput; a burst waits
# for a free one (within OPERATION_TIMEOUT) instead of flooding the server's accept queue.
MAX_CONNECTIONS = 16
LEARNED_TTL = 3600.0  # a learned app limit is forgotten after an idle hour
ENV_URL = "STREAM_MCP_REDIS_URL"
_US = 1_000_000
T = TypeVar("T")

# KEYS[1]: the (user, operation) log, a sorted set of admission times in µs.
# KEYS[2]: the (platform, operation) app window, a hash.
# ARGV: user limit, window µs, a unique member, share, reserve fraction, learned TTL µs.
# Returns {admitted, reason (0 none, 1 user, 2 cap, 3 reserve), wait µs, used, limit}.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, 1, tonumber(oldest[2]) + window - now, used, limit}
end
local app = redis.call('HMGET', KEYS[2], 'limit', 'end', 'count', 'seen', 'since')
local L = tonumber(app[1])
local E = tonumber(app[2])
local C = tonumber(app[3]) or 0
local M = tonumber(app[4])
local S = tonumber(app[5]) or 0
if E == nil or E <= now then
  E = now + window
  C = 0
  M = nil
  S = 0
  redis.call('HDEL', KEYS[2], 'seen')
end
if L ~= nil then
  local share = tonumber(ARGV[4])
  local cap = math.max(1, math.floor(share * L + 1e-9))
  if C >= cap then
    return {0, 2, E - now, cap, L}
  end
  if M ~= nil then
    local reserve = math.min(L - cap, math.ceil(L * tonumber(ARGV[5])))
    if M - S <= reserve then
      return {0, 3, E - now, M - S, L}
    end
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
redis.call('HSET', KEYS[2], 'end', E, 'count', C + 1, 'since', S + 1)
redis.call('PEXPIRE', KEYS[2], math.ceil((E - now + tonumber(ARGV[6])) / 1000))
return {1, 0, 0, 0, 0}
"""

# KEYS[1]: the app window. ARGV: limit, remaining, reset (Unix s), slack µs, same-window µs,
# learned TTL µs. The same rule as AppWindow.observe.
OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local remaining = tonumber(ARGV[2])
local ends = tonumber(ARGV[3]) * 1000000 + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'limit', ARGV[1])
local E = tonumber(redis.call('HGET', KEYS[1], 'end'))
if ends > now then
  if E ~= nil and E > now and math.abs(ends - E) <= tonumber(ARGV[5]) then
    if ends > E then
      E = ends
      redis.call('HSET', KEYS[1], 'end', E)
    end
    local M = tonumber(redis.call('HGET', KEYS[1], 'seen'))
    if M == nil or remaining < M then
      redis.call('HSET', KEYS[1], 'seen', remaining, 'since', 0)
    end
  else
    if E == nil or E <= now then
      redis.call('HSET', KEYS[1], 'count', 0)
    end
    E = ends
    redis.call('HSET', KEYS[1], 'end', E, 'seen', remaining, 'since', 0)
  end
end
E = E or now
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(E - now, 0) + tonumber(ARGV[6])) / 1000))
return 1
"""


def namespace(api_key: str) -> str:
    """The key prefix for one app: a hash of its API key, hash-tagged to one cluster slot."""
    digest = hashlib.sha256(b"stream-mcp budget\0" + api_key.encode()).hexdigest()[:20]
    return f"smcp:{{{digest}}}:"


class _Script:
    """A Lua script run by ``EVALSHA``, loaded again when the server answers ``NOSCRIPT``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, client: Redis, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import NoScriptError

        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # After a restart, SCRIPT FLUSH or failover: EVAL runs it and caches it again.
            return await client.eval(self.source, len(keys), *keys, *args)


class RedisBudget:
    """Per-(user, operation) and app-wide budgets kept in Redis, shared by every replica."""

    _acquire = _Script(ACQUIRE)
    _observe = _Script(OBSERVE)

    def __init__(
        self,
        client: Redis,
        *,
        api_key: str,
        limit: int = DEFAULT_LIMIT,
        window: float = WINDOW_SECONDS,
        app_share: float = DEFAULT_SHARE,
        timeout: float = OPERATION_TIMEOUT,
    ) -> None:
        if limit < 1:
            raise ValueError("budget limit must be at least 1 call per window")
        if window <= 0:
            raise ValueError("budget window must be positive")
        self._client = client
        self._prefix = namespace(api_key)
        self._limit = limit
        self._window = window
        self._share = check_share(app_share)
        self._timeout = timeout
        self._log = get_logger("stream_mcp.budget")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        api_key: str,
        limit: int = DEFAULT_LIMIT,
        app_share: float = DEFAULT_SHARE,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        timeout: float = OPERATION_TIMEOUT,
    ) -> RedisBudget:
        """A budget on a new client: short timeouts, no client-side retries, bounded pool."""
        try:
            from redis.asyncio import BlockingConnectionPool, Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
        except ImportError:
            raise ConfigError(
                f"{ENV_URL} is set but the redis package is not installed",
                field=ENV_URL,
                hint="pip install 'stream-mcp[scale]'",
            ) from None
        try:
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=MAX_CONNECTIONS,
                timeout=timeout,  # waiting for a free connection; ``timeout`` bounds it all
                socket_connect_timeout=connect_timeout,
                socket_timeout=read_timeout,
                retry=Retry(NoBackoff(), 0),
                client_name="stream-mcp",
            )
        except ValueError:
            # The message would quote the URL, and with it any password.
            raise ConfigError(
                f"{ENV_URL}: not a redis://, rediss:// or unix:// URL",
                field=ENV_URL,
            ) from None
        client = Redis.from_pool(pool)
        return cls(client, api_key=api_key, limit=limit, app_share=app_share, timeout=timeout)

    @property
    def limit(self) -> int:
        return self._limit

    async def _call(self, what: str, run: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis exchange within the timeout; every failure is BudgetUnavailable."""
        from redis.exceptions import AuthenticationError, ConnectionError, RedisError
        from redis.exceptions import TimeoutError as RedisTimeout

        try:
            async with asyncio.timeout(self._timeout):
                return await run()
        except (RedisError, OSError, TimeoutError) as exc:
            # Never the exception's text: it may carry the host or, for some errors, the URL.
            kind = type(exc).__name__
            self._log.warning("budget.redis_unavailable", during=what, error=kind)
            if isinstance(exc, AuthenticationError):
                why = f"refused the credentials in {ENV_URL}"
            elif isinstance(exc, ConnectionError | RedisTimeout | OSError | TimeoutError):
                why = f"could not be reached or did not answer within {self._timeout:g} s"
            else:
                why = f"refused the request ({kind})"
            raise BudgetUnavailable(
                f"the shared call budget (Redis) {why}, so the call was not sent",
                hint="retry in a few seconds; if it persists, check the Redis server "
                f"that {ENV_URL} names",
            ) from None

    async def _take(self, user: str, operation: str, platform: Platform) -> list[int]:
        keys = [
            f"{self._prefix}u:{operation}:{user}",
            f"{self._prefix}a:{platform}:{operation}",
        ]
        args = [
            self._limit,
            int(self._window * _US),
            os.urandom(9).hex(),
            repr(self._share),
            repr(RESERVE_FRACTION),
            int(LEARNED_TTL * _US),
        ]
        answer = await self._call("acquire", lambda: self._acquire(self._client, keys, args))
        return [int(value) for value in answer]

    async def try_acquire(
        self, user: str, operation: str, *, platform: Platform = "server"
    ) -> bool:
        admitted, *_ = await self._take(user, operation, platform)
        return admitted == 1

    async def acquire(self, user: str, operation: str, *, platform: Platform = "server") -> None:
        admitted, reason, wait_us, used, limit = await self._take(user, operation, platform)
        if admitted == 1:
            return
        wait = wait_us / _US
        if reason == 1:
            raise user_refusal(user, operation, self._limit, self._window, wait)
        raise app_refusal(operation, "cap" if reason == 2 else "reserve", wait, used, limit)

    async def observe(self, platform: Platform, operation: str, report: RateReport) -> None:
        args = [
            report.limit,
            report.remaining,
            int(report.reset),
            int(RESET_SLACK * _US),
            int(SAME_WINDOW * _US),
            int(LEARNED_TTL * _US),
        ]
        key = f"{self._prefix}a:{platform}:{operation}"
        await self._call("observe", lambda: self._observe(self._client, [key], args))

    async def ping(self) -> None:
        """For a readiness probe: BudgetUnavailable unless Redis answers within the timeout."""
        await self._call("ping", self._client.ping)

    async def aclose(self) -> None:
        await self._client.aclose()
