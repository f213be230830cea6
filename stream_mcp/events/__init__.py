"""Events: agents hear what happens in chat.

Stream's webhooks (verified by :class:`WebhookIntake`) and its ``Sync`` operation (called by
:class:`EventFeed` to fill the gaps webhooks leave) land in one durable, de-duplicated
:class:`EventStore`; ``wait_for_events`` reads it through the feed, within the caller's scope.
"""

from typing import TYPE_CHECKING

from stream_mcp.events._feed import (
    EventFeed,
    FeedConfig,
    WaitRequest,
    channel_list,
    learn_membership,
)
from stream_mcp.events._intake import DEFAULT_WEBHOOK_PATH, MAX_WEBHOOK_BYTES, WebhookIntake
from stream_mcp.events._model import Event, NewEvent, normalise
from stream_mcp.events._sqlite import SQLiteEventStore
from stream_mcp.events._store import Appended, EventStore, Retention

if TYPE_CHECKING:
    from stream_mcp.events._postgres import PostgresEventStore

__all__ = [
    "DEFAULT_WEBHOOK_PATH",
    "MAX_WEBHOOK_BYTES",
    "Appended",
    "Event",
    "EventFeed",
    "EventStore",
    "FeedConfig",
    "NewEvent",
    "PostgresEventStore",
    "Retention",
    "SQLiteEventStore",
    "WaitRequest",
    "WebhookIntake",
    "channel_list",
    "learn_membership",
    "normalise",
]


def __getattr__(name: str) -> object:
    """``PostgresEventStore`` is imported on first use: it needs the ``scale`` extra."""
    if name == "PostgresEventStore":
        from stream_mcp.events._postgres import PostgresEventStore

        return PostgresEventStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
