"""Stream's rate limits: per endpoint and platform, over one-minute windows.

Stream counts every call against the app's limit for that endpoint on the caller's platform
(server, android, ios, web); calls made with a user token are further limited to 60 a minute
per user, endpoint and platform. Every answer carries ``X-RateLimit-Limit``, ``-Remaining`` and
``-Reset`` (Unix seconds); a call over the limit is refused with 429 and code 9.

The numbers are configurable (:class:`RateLimits`) so tests can shrink or widen them; the
limiter lives on the app, never in module state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

PLATFORMS = ("server_side", "android", "ios", "web")
WINDOW_SECONDS = 60

# Stream's published per-minute app limits for self-serve plans; endpoints not named get
# DEFAULT_APP_LIMIT. Server-side calls use ``RateLimits.server_per_minute`` instead.
APP_LIMITS: dict[str, int] = {
    "GetOrCreateChannel": 10000,
    "GetOrCreateDistinctChannel": 10000,
    "GetApp": 10000,
    "MarkChannelsRead": 10000,
    "MarkRead": 10000,
    "QueryChannels": 10000,
    "SendEvent": 10000,
    "CreateGuest": 1000,
    "DeleteMessage": 1000,
    "DeleteReaction": 1000,
    "GetMessage": 1000,
    "GetReactions": 1000,
    "GetReplies": 1000,
    "QueryUsers": 1000,
    "RunMessageAction": 1000,
    "SendMessage": 1000,
    "SendReaction": 1000,
    "StopWatchingChannel": 1000,
    "UpdateMessage": 1000,
    "UploadFile": 1000,
    "UploadImage": 1000,
    "Ban": 300,
    "CreateDevice": 300,
    "Flag": 300,
    "HideChannel": 300,
    "MuteUser": 300,
    "QueryMembers": 300,
    "Search": 300,
    "ShowChannel": 300,
    "Unban": 300,
    "Unflag": 300,
    "UnmuteUser": 300,
    "UpdateChannel": 300,
    "UpdateUsers": 300,
    "UpdateUsersPartial": 300,
    "ReactivateUser": 60,
    "CheckPush": 60,
    "CreateChannelType": 60,
    "DeactivateUser": 60,
    "DeleteChannel": 60,
    "DeleteChannelType": 60,
    "DeleteDevice": 60,
    "DeleteFile": 60,
    "DeleteUser": 60,
    "ExportChannels": 60,
    "ExportUser": 60,
    "GetChannelType": 60,
    "ListChannelTypes": 60,
    "ListDevices": 60,
    "TruncateChannel": 60,
    "UpdateApp": 60,
    "UpdateChannelType": 60,
}
DEFAULT_APP_LIMIT = 1000


@dataclass(frozen=True)
class RateLimits:
    """How many calls a minute the sandbox allows.

    ``user_per_minute`` is Stream's per-user limit for user tokens (60). Server-side calls are
    limited per endpoint to ``server_per_minute`` (Stream grants servers much higher limits;
    the default is its highest published figure). ``app_limits`` overrides the per-endpoint
    limits client platforms share; ``enabled=False`` turns enforcement off (headers remain).
    """

    user_per_minute: int = 60
    server_per_minute: int = 10000
    app_limits: Mapping[str, int] = field(default_factory=lambda: dict(APP_LIMITS))
    default_app_limit: int = DEFAULT_APP_LIMIT
    enabled: bool = True

    def app_limit(self, platform: str, operation: str) -> int:
        if platform == "server_side":
            return self.server_per_minute
        return int(self.app_limits.get(operation, self.default_app_limit))


@dataclass(frozen=True)
class Verdict:
    """The outcome of counting one call: its headers, and whether it is over the limit."""

    limit: int
    remaining: int
    reset: int
    exceeded: bool

    def headers(self) -> dict[str, str]:
        """Sent in lowercase, as Stream's API does (clients that read the headers into a plain
        dict look them up in lowercase)."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
        }


@dataclass
class _Window:
    started: float
    count: int = 0


def platform_of(user_agent: str | None, is_server: bool) -> str:
    """Stream tells platforms apart by SDK; the sandbox reads ``X-Stream-Client``."""
    if is_server:
        return "server_side"
    agent = (user_agent or "").lower()
    if "android" in agent or "kotlin" in agent:
        return "android"
    if "ios" in agent or "swift" in agent:
        return "ios"
    return "web"


class RateLimiter:
    """Fixed one-minute windows per (platform, endpoint) and per (platform, endpoint, user)."""

    def __init__(self, limits: RateLimits, now: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._now = now
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, ...], _Window] = {}

    def _window(self, key: tuple[str, ...], moment: float) -> _Window:
        window = self._windows.get(key)
        if window is None or moment - window.started >= WINDOW_SECONDS:
            window = _Window(started=moment)
            self._windows[key] = window
        return window

    def hit(self, platform: str, operation: str, user_id: str | None) -> Verdict:
        """Count one call and say whether it is allowed."""
        moment = self._now()
        with self._lock:
            app = self._window((platform, operation), moment)
            app_limit = self.limits.app_limit(platform, operation)
            app.count += 1
            limit, used, started = app_limit, app.count, app.started
            if user_id is not None:
                user = self._window((platform, operation, user_id), moment)
                user.count += 1
                user_left = self.limits.user_per_minute - user.count
                if user_left < app_limit - app.count:
                    limit, used, started = self.limits.user_per_minute, user.count, user.started
        reset = int(started + WINDOW_SECONDS)
        exceeded = self.limits.enabled and used > limit
        return Verdict(limit=limit, remaining=max(0, limit - used), reset=reset, exceeded=exceeded)

    def peek(self, platform: str, operation: str) -> Verdict:
        """The app-level state of one endpoint without counting a call (GetRateLimits)."""
        moment = self._now()
        with self._lock:
            window = self._windows.get((platform, operation))
            limit = self.limits.app_limit(platform, operation)
            if window is None or moment - window.started >= WINDOW_SECONDS:
                return Verdict(limit, limit, int(moment + WINDOW_SECONDS), False)
            used = window.count
            reset = int(window.started + WINDOW_SECONDS)
        return Verdict(limit, max(0, limit - used), reset, used > limit)
