"""Stream's two wire formats for date-times, converted at the edge of every request.

v1 sends and takes RFC 3339 strings. v2 types most date-times as numbers (``type: number,
format: date-time``: nanoseconds since the epoch, which is what Stream's v2 SDKs decode), so
a v2 client reading ``"created_at": "2024-…Z"`` fails. Handlers and the store only ever see
RFC 3339 strings; the dispatcher calls :func:`encode_response` and :func:`decode_request`
with the version of the path it was called on, and nothing else knows about the difference.

The key lists are the property names Stream's v2 server-side spec types as numeric date-times
(facts about the spec, not a copy of it). A string under such a key that is not a timestamp,
and everything under ``custom`` (the caller's own data), is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from stream_mcp.sandbox.clock import iso, parse_time

V1 = 1
V2 = 2
_V2_PREFIX = "/api/v2/"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

# Every property the v2 spec types as a numeric date-time.
RESPONSE_KEYS = frozenset(
    {
        "approved_at",
        "archived_at",
        "ban_expires",
        "batch_created_at",
        "channel_last_message_at",
        "completed_at",
        "config_updated_at",
        "content_published_at",
        "created_at",
        "created_at_after",
        "created_at_after_or_equal",
        "created_at_around",
        "created_at_before",
        "created_at_before_or_equal",
        "deactivated_at",
        "deleted_at",
        "disabled_at",
        "disabled_until",
        "edited_at",
        "enabled_at",
        "end_at",
        "ended_at",
        "escalated_at",
        "expiration",
        "expires",
        "expires_at",
        "finished_at",
        "first_reaction_at",
        "future_channel_ban_expires",
        "hide_history_before",
        "hide_messages_before",
        "invite_accepted_at",
        "invite_rejected_at",
        "last_active",
        "last_analyzed",
        "last_delivered_at",
        "last_message_at",
        "last_reaction_at",
        "last_read",
        "last_read_at",
        "last_seen",
        "last_thread_message_at",
        "left_thread_at",
        "message_text_updated_at",
        "message_timestamp",
        "message_updated_at",
        "messages_since",
        "messages_until",
        "mute_expires_at",
        "pin_expires",
        "pinned_at",
        "published_at",
        "received_at",
        "rejected_at",
        "remind_at",
        "reviewed_at",
        "revoke_tokens_issued_before",
        "scheduled_for",
        "started_at",
        "starts_at",
        "stats_completed_at",
        "stats_started_at",
        "stop_at",
        "truncated_at",
        "updated_at",
    }
)
# In requests ``expiration`` is MuteChannel's duration in milliseconds, not an instant;
# ``last_sync_at`` is Sync's (a request field only, typed as a number in v2).
REQUEST_KEYS = (RESPONSE_KEYS - {"expiration"}) | {"last_sync_at"}
# Smaller numbers are counts or durations, not instants (1e8 seconds is 1973).
_MIN_SECONDS = 100_000_000
_MAX_SECONDS = 100_000_000_000


def version_of(path: str) -> int:
    """The wire format a path speaks: v2 for ``/api/v2/...``, v1 for everything else."""
    return V2 if path.startswith(_V2_PREFIX) else V1


def to_nanoseconds(text: str) -> int | None:
    """An RFC 3339 timestamp as whole nanoseconds since the epoch (exact to the µs)."""
    try:
        moment = parse_time(text)
    except ValueError:
        return None
    return ((moment - _EPOCH) // _ONE_MICROSECOND) * 1000


def from_number(value: float) -> str | None:
    """An epoch number as the stored RFC 3339 form; the unit (s, ms, µs, ns) is told apart
    by magnitude, since v2 clients send nanoseconds and people send seconds. Integers are
    converted exactly (nanoseconds truncate to the microsecond the store keeps)."""
    if abs(value) < _MIN_SECONDS:
        return None
    for divisor in (1, 1_000, 1_000_000, 1_000_000_000):
        if abs(value) / divisor < _MAX_SECONDS:
            break
    else:
        return None
    if isinstance(value, int):
        micros = value * 1_000_000 // divisor
    else:
        micros = round(value * 1_000_000 / divisor)
    try:
        return iso(_EPOCH + timedelta(microseconds=micros))
    except OverflowError:
        return None


def encode_response(body: dict[str, Any], version: int) -> dict[str, Any]:
    """``body`` in the wire format of ``version`` (v1: unchanged; v2: numeric date-times)."""
    return _numbers_map(body) if version == V2 else body


def decode_request(body: dict[str, Any], version: int) -> dict[str, Any]:
    """A v2 request with numeric date-times turned into RFC 3339 strings (v1: unchanged).

    Filter operands under a date-time key (``{"created_at": {"$gt": 1714…}}``) count too.
    """
    return _strings_map(body) if version == V2 else body


def decode_query(query: Mapping[str, str], version: int) -> Mapping[str, str]:
    """The query string of a v2 request with its JSON ``payload`` decoded like a body."""
    raw = query.get("payload")
    if version != V2 or not raw:
        return query
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError:
        return query  # the handler reports it, in Stream's words
    return {**query, "payload": json.dumps(_strings(payload))}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers_map(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "custom":
            out[key] = item
        elif isinstance(item, str) and key in RESPONSE_KEYS:
            nanos = to_nanoseconds(item)
            out[key] = item if nanos is None else nanos
        else:
            out[key] = _numbers(item)
    return out


def _numbers(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _numbers_map(value)
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return value


def _operand(value: Any) -> Any:
    if _is_number(value):
        return from_number(value) or value
    if isinstance(value, list):
        return [_operand(item) for item in value]
    return value


def _strings_map(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "custom":
            out[key] = item
        elif key not in REQUEST_KEYS:
            out[key] = _strings(item)
        elif isinstance(item, Mapping) and item and all(str(k).startswith("$") for k in item):
            out[key] = {op: _operand(operand) for op, operand in item.items()}
        else:
            out[key] = _operand(item) if _is_number(item) else _strings(item)
    return out


def _strings(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _strings_map(value)
    if isinstance(value, list):
        return [_strings(item) for item in value]
    return value
