"""Events: agents hear what happens in chat.

Stream's webhooks (verified by :class:`WebhookIntake`) and its ``Sync`` operation (called by
:class:`EventFeed` to fill the gaps webhooks leave) land in one durable, de-duplicated
:class:`EventStore`; ``wait_for_events`` reads it through the feed, within the caller's scope.
"""

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

__all__ = [
    "DEFAULT_WEBHOOK_PATH",
    "MAX_WEBHOOK_BYTES",
    "Appended",
    "Event",
    "EventFeed",
    "EventStore",
    "FeedConfig",
    "NewEvent",
    "Retention",
    "SQLiteEventStore",
    "WaitRequest",
    "WebhookIntake",
    "channel_list",
    "learn_membership",
    "normalise",
]
