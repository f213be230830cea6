"""Timestamps in Stream's format, strictly increasing within one sandbox.

Stored times are all ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so that string order equals time order
and SQLite can sort them; the clock never hands out the same instant twice, so "newest first"
is well defined even for messages sent within one microsecond.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
ONE_MICROSECOND = timedelta(microseconds=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or offset, any fraction); raise ``ValueError``."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalize_time(value: str) -> str:
    """Rewrite any accepted timestamp into the stored format."""
    return iso(parse_time(value))


class Clock:
    """Wall-clock time that only moves forward."""

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source or (lambda: datetime.now(UTC))
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            moment = self._source().astimezone(UTC)
            if self._last is not None and moment <= self._last:
                moment = self._last + ONE_MICROSECOND
            self._last = moment
            return moment

    def stamp(self) -> str:
        return iso(self.now())

    def peek(self) -> datetime:
        """The current time without reserving an instant (for expiry checks)."""
        return self._source().astimezone(UTC)

    def peek_stamp(self) -> str:
        return iso(self.peek())
