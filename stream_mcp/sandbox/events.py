"""Events: what Stream reports for a state change, recorded with it, and Sync to read them back.

Handlers call :func:`record` next to the write that causes an event. The event is stored in
the same SQLite transaction (so it exists exactly when the change does), in Stream's payload
shape (``type``, ``created_at``, ``cid``/``channel_id``/``channel_type``, ``user`` and the
``message``/``reaction``/``member``/``channel`` objects as Stream's event schemas name them),
and handed to webhook delivery once the transaction commits.

Each event keeps a sandbox identity (``id``, a UUID, and ``seq``, the recording order) in its
row, not in the payload, since Stream's events carry none. ``created_at`` is strictly
increasing across the whole database, restarts included, so ``(type, created_at)`` is unique
and "after ``last_sync_at``" is unambiguous.

:func:`sync` is Stream's Sync (``POST /sync``): the events of the channels asked for, after
``last_sync_at``, oldest first, as the user (the token's, or ``user_id`` server-side) may
read them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from stream_mcp.sandbox import records
from stream_mcp.sandbox.clock import iso, parse_time
from stream_mcp.sandbox.context import Call, opt_bool, opt_str, opt_time, str_list
from stream_mcp.sandbox.errors import INPUT_ERROR, APIError, input_error
from stream_mcp.sandbox.store import CHANNELS, EVENTS, MEMBERS, MESSAGES, META, Store
from stream_mcp.sandbox.views import Renderer
from stream_mcp.sandbox.webhooks import targets

# Sync: Stream refuses a last_sync_at older than 30 days, and more than 255 channel cids.
SYNC_MAX_AGE = timedelta(days=30)
SYNC_MAX_CIDS = 255
# Stream refuses a sync with "too many events" past an unpublished cap; this is the sandbox's.
SYNC_EVENT_LIMIT = 2000
_SEQ_WIDTH = 20
_ONE_MICROSECOND = timedelta(microseconds=1)

# Event types whose Stream schema carries the whole channel object.
_WITH_CHANNEL = frozenset(
    {
        "channel.created",
        "channel.updated",
        "channel.deleted",
        "channel.truncated",
        "channel.hidden",
        "channel.visible",
        "member.added",
        "member.updated",
        "member.removed",
        "reaction.new",
        "reaction.updated",
        "reaction.deleted",
    }
)


def record(
    call: Call,
    event_type: str,
    *,
    channel: Mapping[str, Any] | None = None,
    user: str | None = None,
    message: Mapping[str, Any] | None = None,
    reaction: Mapping[str, Any] | None = None,
    member: Mapping[str, Any] | None = None,
    target_user: str | None = None,
    created_by: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Record one event of ``event_type`` and return its payload.

    ``user`` is the id of the payload's ``user`` (the acting user for most types, the
    target for ``user.banned``/``user.updated``…); ``channel`` defaults to ``message``'s;
    ``fields`` are the type's own extra fields (``hard_delete``, ``reason`` …). Objects are
    rendered as Stream renders them for no particular viewer.
    """
    render = Renderer(call)
    render.viewer = None  # events are not seen through any one user's eyes
    if channel is None and message is not None:
        channel = call.store.get(CHANNELS, message["cid"])
    payload: dict[str, Any] = {"type": event_type}
    if channel is not None:
        payload.update(_channel_fields(call.store, channel))
        if event_type in _WITH_CHANNEL:
            payload["channel"] = render.channel(channel)
    if user:
        payload["user"] = render.user(user)
    if message is not None:
        payload["message_id"] = message["id"]
        payload["message"] = render.message(message)
        parent_id = message.get("parent_id")
        if parent_id and event_type == "message.new":
            parent = call.store.get(MESSAGES, parent_id)
            if parent is not None and parent.get("user_id"):
                payload["parent_author"] = parent["user_id"]
    if reaction is not None:
        payload["reaction"] = render.reaction(reaction)
    if member is not None:
        payload["member"] = render.member(member)
    if target_user:
        payload["target_user"] = render.user(target_user)
    if created_by:
        payload["created_by"] = render.user(created_by)
    if event_type == "message.new":
        payload["watcher_count"] = 0
    payload.update(fields or {})
    payload["custom"] = {}
    _store(call, payload)
    return payload


def _channel_fields(store: Store, channel: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cid": channel["cid"],
        "channel_id": channel["id"],
        "channel_type": channel["type"],
        "channel_member_count": store.count(MEMBERS, cid=channel["cid"]),
        "channel_custom": dict(channel.get("custom") or {}),
    }
    if channel.get("team"):
        out["team"] = channel["team"]
    return out


def _store(call: Call, payload: dict[str, Any]) -> None:
    """Give the event its order and instant, store it, and hand it on after the commit."""
    store = call.store
    stamp = call.stamp()
    last = store.last(EVENTS, "seq")
    seq = 1
    if last is not None:
        seq = int(last["seq"]) + 1
        if stamp <= last["created_at"]:  # a wall clock that went back across a restart
            stamp = iso(parse_time(last["created_at"]) + _ONE_MICROSECOND)
    payload["created_at"] = stamp
    store.put(
        EVENTS,
        {
            "id": str(uuid.uuid4()),
            "seq": str(seq).zfill(_SEQ_WIDTH),
            "cid": payload.get("cid"),
            "created_at": stamp,
            "type": payload["type"],
            "payload": payload,
        },
    )
    webhooks = call.services.webhooks if call.services is not None else None
    if webhooks is None:
        return
    settings = (store.get(META, "app") or {}).get("settings") or {}
    urls = targets(settings, payload["type"])
    if urls:
        store.after_commit(lambda: webhooks.submit(payload, urls))


def stored(store: Store) -> list[dict[str, Any]]:
    """Every recorded event row (``id``, ``seq``, ``cid``, ``created_at``, ``type``,
    ``payload``), in recording order: for tests and tools, not an API."""
    return store.select(EVENTS, order_by="seq")


# -- Sync --------------------------------------------------------------------------------


def sync(call: Call) -> dict[str, Any]:
    """Sync (POST /sync): events after ``last_sync_at`` in ``channel_cids``, oldest first.

    Channels the user cannot read yield a ``notification.removed_from_channel`` event each,
    or, with ``with_inaccessible_cids``, are listed in ``inaccessible_cids`` instead, as in
    Stream. Server-side calls name the user with ``user_id``.
    """
    body = call.body
    cids = list(dict.fromkeys(str_list(body, "channel_cids")))
    if not cids:
        raise input_error("channel_cids is a required field", field="channel_cids")
    if len(cids) > SYNC_MAX_CIDS:
        raise input_error(
            f"channel_cids accepts at most {SYNC_MAX_CIDS} channels", field="channel_cids"
        )
    for cid in cids:
        records.split_cid(cid)
    since = opt_time(body, "last_sync_at")
    if since is None:
        raise input_error("last_sync_at is a required field", field="last_sync_at")
    if parse_time(since) < call.clock.peek() - SYNC_MAX_AGE:
        raise APIError(
            400,
            INPUT_ERROR,
            "last_sync_at is too old: it must be no earlier than 30 days ago",
            fields={"last_sync_at": "older than 30 days"},
        )
    viewer = call.actor(
        call.query_str("user_id"),
        opt_str(body, "user_id"),
        required="user_id is a required field when using server side auth",
    )
    assert viewer is not None
    flagged = call.query_bool("with_inaccessible_cids") or bool(
        opt_bool(body, "with_inaccessible_cids")
    )
    call.query_bool("watch")  # accepted; there are no WebSocket connections to watch with
    opt_bool(body, "watch")
    readable: list[str] = []
    refused: list[str] = []
    for cid in cids:
        channel = call.store.get(CHANNELS, cid)
        (readable if channel and _may_read(call, channel, viewer) else refused).append(cid)
    rows = call.store.select_after(
        EVENTS,
        column="created_at",
        after=since,
        within=("cid", readable),
        order_by="seq",
        limit=SYNC_EVENT_LIMIT + 1,
    )
    if len(rows) > SYNC_EVENT_LIMIT:
        raise input_error(
            f"too many events to sync (more than {SYNC_EVENT_LIMIT}): sync fewer channels "
            "or a later last_sync_at"
        )
    events = [row["payload"] for row in rows if _visible(row["payload"], viewer)]
    out: dict[str, Any] = {"events": events}
    if flagged:
        out["inaccessible_cids"] = refused
    else:
        now = call.clock.peek_stamp()
        for cid in refused:
            channel_type, channel_id = records.split_cid(cid)
            events.append(
                {
                    "type": "notification.removed_from_channel",
                    "cid": cid,
                    "channel_id": channel_id,
                    "channel_type": channel_type,
                    "created_at": now,
                    "custom": {},
                }
            )
    return out


def _may_read(call: Call, channel: Mapping[str, Any], viewer: str) -> bool:
    """The viewer's read right: app admins read all; others their channels (created or
    joined). Soft-deleted channels still sync their events, up to ``channel.deleted``."""
    if records.user_role(call, viewer) == "admin":
        return True
    return channel.get("created_by_id") == viewer or (
        call.store.get(MEMBERS, channel["cid"], viewer) is not None
    )


def _visible(payload: Mapping[str, Any], viewer: str) -> bool:
    """Shadowed messages' events reach their author only."""
    message = payload.get("message")
    if not isinstance(message, Mapping) or not message.get("shadowed"):
        return True
    author = message.get("user") or {}
    return isinstance(author, Mapping) and author.get("id") == viewer
