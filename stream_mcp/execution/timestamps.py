"""Timestamps as agents read them: RFC 3339, whatever the wire carried.

Stream's v2 API sends date-times as numbers (nanoseconds since the epoch, in its spec); v1
and the sandbox send RFC 3339 strings. An agent should never have to guess a unit, so every
numeric value under a date-time key becomes an RFC 3339 string in UTC. Keys are recognised
by name (``*_at``, ``*_before``, ``*_after``, ``last_active``, ``expires``…), units by
magnitude, and a body whose text holds no such pair is not walked at all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_SUFFIXES = (
    "_at",
    "_before",
    "_after",
    "_since",
    "_until",
    "_expires",
    "_before_or_equal",
    "_after_or_equal",
    "_around",
    "_timestamp",
)
# Date-time fields of Stream's v2 spec whose names the suffixes do not tell.
_NAMES = frozenset(
    {
        "last_active",
        "last_read",
        "last_seen",
        "last_analyzed",
        "expires",
        "timestamp",
        "scheduled_for",
    }
)
# A date-time key followed by a bare number of at least 9 digits (seconds since 1973).
_NUMERIC_PAIR = re.compile(
    r'"(?:[a-z_]*(?:_at|_before|_after|_since|_until|_expires|_or_equal|_around|_timestamp)|'
    r"last_active|last_read|last_seen|last_analyzed|expires|timestamp|scheduled_for)"
    r'"\s*:\s*-?\d{9,}'
)
_MIN_SECONDS = 100_000_000  # 1973: smaller numbers are counts, not instants


def is_datetime_key(key: str) -> bool:
    return key in _NAMES or key.endswith(_SUFFIXES)


def needs_normalising(text: str) -> bool:
    """False when no date-time key in ``text`` carries a number: nothing to convert."""
    return _NUMERIC_PAIR.search(text) is not None


def to_rfc3339(value: float) -> str | None:
    """An epoch number in s, ms, µs or ns (told apart by magnitude) as RFC 3339 UTC."""
    magnitude = abs(value)
    if magnitude < _MIN_SECONDS:
        return None
    for divisor in (1, 1_000, 1_000_000, 1_000_000_000):
        seconds = value / divisor
        if abs(seconds) < 1e11:  # before the year 5138: the unit fits
            break
    try:
        instant = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    text = instant.isoformat(timespec="microseconds" if instant.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def normalise(value: Any) -> Any:
    """``value`` with every numeric date-time field as an RFC 3339 string (new containers)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if (
                isinstance(item, int | float)
                and not isinstance(item, bool)
                and isinstance(key, str)
                and is_datetime_key(key)
            ):
                out[key] = to_rfc3339(item) or item
            else:
                out[key] = normalise(item)
        return out
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return value
