"""Numeric date-times (Stream v2) reach agents as RFC 3339 strings; nothing else changes."""

from __future__ import annotations

import json

import pytest

from stream_mcp.execution.timestamps import needs_normalising, normalise, to_rfc3339

INSTANT = "2024-05-01T12:30:00Z"
SECONDS = 1714566600


@pytest.mark.parametrize("scale", [1, 1_000, 1_000_000, 1_000_000_000])
def test_every_unit_becomes_the_same_instant(scale: int) -> None:
    assert to_rfc3339(SECONDS * scale) == INSTANT


def test_fractions_keep_microseconds() -> None:
    assert to_rfc3339(SECONDS * 1_000_000_000 + 123_456_000) == "2024-05-01T12:30:00.123456Z"


def test_only_date_time_keys_with_numbers_change() -> None:
    body = {
        "message": {"created_at": SECONDS * 10**9, "reply_count": 1714566600, "text": "hi"},
        "members": [{"user": {"last_active": SECONDS * 1000}, "banned": False}],
        "duration": "1.2ms",
        "updated_at": "2024-01-01T00:00:00Z",
        "deleted_at": None,
        "limit_at": 25,  # too small to be an instant: a count that happens to end in _at
    }
    assert needs_normalising(json.dumps(body))
    out = normalise(body)
    assert out["message"] == {"created_at": INSTANT, "reply_count": 1714566600, "text": "hi"}
    assert out["members"][0]["user"]["last_active"] == INSTANT
    assert out["updated_at"] == "2024-01-01T00:00:00Z" and out["deleted_at"] is None
    assert out["limit_at"] == 25 and out["duration"] == "1.2ms"


def test_string_timestamps_are_not_walked() -> None:
    assert not needs_normalising('{"created_at": "2024-05-01T12:30:00Z", "count": 1714566600}')
