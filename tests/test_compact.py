"""Compact results: empties dropped inside records, each user in full once, paths unchanged."""

from __future__ import annotations

import json

from stream_mcp.execution._compact import compact

ALICE = {"id": "alice", "name": "Alice", "role": "user", "image": None, "teams": []}


def test_repeated_users_are_shown_once_then_by_id() -> None:
    body = {
        "channel": {"cid": "messaging:c1", "created_by": dict(ALICE), "frozen": False},
        "messages": [
            {"id": "m1", "text": "hi", "user": dict(ALICE), "attachments": [], "parent_id": None},
            {"id": "m2", "text": "yo", "user": dict(ALICE), "reaction_counts": {}},
        ],
        "members": [{"user_id": "alice", "user": dict(ALICE)}],
        "read": [],
    }
    out = compact(body)
    assert out["channel"]["created_by"] == {"id": "alice", "name": "Alice", "role": "user"}
    assert out["channel"]["frozen"] is False  # false is a value, not an empty
    assert out["messages"][0] == {"id": "m1", "text": "hi", "user": {"id": "alice"}}
    assert out["messages"][1] == {"id": "m2", "text": "yo", "user": {"id": "alice"}}
    assert out["members"] == [{"user_id": "alice", "user": {"id": "alice"}}]
    assert out["read"] == []  # an answer's own keys stay, so an empty result says so
    assert len(json.dumps(out)) < 0.6 * len(json.dumps(body))


def test_the_same_paths_reach_the_same_values() -> None:
    body = {"bans": [{"user": dict(ALICE), "banned_by": {**ALICE, "id": "mod"}, "reason": ""}]}
    out = compact(body)
    assert out["bans"][0]["user"]["id"] == "alice" and out["bans"][0]["banned_by"]["id"] == "mod"
    assert "reason" not in out["bans"][0]


def test_input_is_not_modified() -> None:
    body = {"message": {"user": dict(ALICE), "empty": None}}
    before = json.dumps(body, sort_keys=True)
    compact(body)
    assert json.dumps(body, sort_keys=True) == before


def test_numeric_date_times_become_rfc3339_in_the_same_walk() -> None:
    body = {"message": {"id": "m1", "created_at": 1714566600 * 10**9, "reply_count": 3}}
    assert compact(body, timestamps=True) == {
        "message": {"id": "m1", "created_at": "2024-05-01T12:30:00Z", "reply_count": 3}
    }
    assert compact(body)["message"]["created_at"] == 1714566600 * 10**9


def test_streams_own_timing_is_left_out() -> None:
    assert compact({"duration": "1.2ms", "users": []}) == {"users": []}
