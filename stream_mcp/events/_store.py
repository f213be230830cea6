"""The event store's contract, so SQLite (embedded) and PostgreSQL (shared) are interchangeable.

A store keeps events in one order (``seq``, a monotonic integer cursor), refuses a second copy
of an event it already holds (same key, or same webhook delivery id), remembers which users
are members of which channels (the feed's scope and Sync's signer depend on it), and lets a
reader wait for anything newer than a cursor without polling the table in a tight loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from stream_mcp.events._model import Event, NewEvent

DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600
DEFAULT_RETENTION_COUNT = 100_000


@dataclass(frozen=True, slots=True)
class Retention:
    """How long and how many events are kept; the older ones go first."""

    max_age_seconds: float = DEFAULT_RETENTION_SECONDS
    max_count: int = DEFAULT_RETENTION_COUNT


@dataclass(frozen=True, slots=True)
class Appended:
    """What :meth:`EventStore.append` did: the events it stored, and how many it refused."""

    stored: tuple[Event, ...]
    duplicates: int


@runtime_checkable
class EventStore(Protocol):
    """Durable, ordered, de-duplicated events plus channel membership."""

    async def append(
        self, events: Sequence[NewEvent], *, delivery_id: str | None = None
    ) -> Appended:
        """Store the events not already held. ``delivery_id`` (a webhook's ``X-Webhook-Id``)
        is remembered, and a repeated one stores nothing."""
        ...

    async def read(self, after: int, limit: int) -> list[Event]:
        """Events with ``seq > after``, oldest first, at most ``limit``."""
        ...

    async def head(self) -> int:
        """The newest ``seq`` (0 when empty)."""
        ...

    async def latest(self, limit: int) -> list[Event]:
        """The newest ``limit`` events, oldest first. Not ``read(head - limit, limit)``: a
        shared store's seqs are spread over its profiles."""
        ...

    async def wait(self, after: int, timeout: float) -> bool:
        """Return True as soon as an event newer than ``after`` exists, False on timeout."""
        ...

    async def members(self, cid: str) -> frozenset[str] | None:
        """Known members of a channel, or None when the channel was never seen."""
        ...

    async def set_members(self, channels: Mapping[str, Iterable[str]]) -> None:
        """Replace what is known about the members of each channel (cid → user ids), in one
        transaction: a QueryChannels answer of 100 channels is one write, not 100."""
        ...

    async def change_member(self, cid: str, user: str, *, present: bool) -> None: ...

    async def channels_of(self, users: Iterable[str]) -> set[str]:
        """Channels where any of ``users`` is a known member."""
        ...

    async def known_channels(self) -> set[str]: ...

    async def get_mark(self, name: str) -> str | None:
        """A small named value (e.g. the last Sync instant) shared by every reader."""
        ...

    async def set_mark(self, name: str, value: str) -> None: ...

    async def prune(self, retention: Retention) -> int:
        """Drop events beyond the retention; return how many went."""
        ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached (readiness)."""
        ...

    async def aclose(self) -> None: ...
