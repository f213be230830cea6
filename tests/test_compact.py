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
    assert "frozen" not in out["channel"]  # an absent flag reads as false
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


def test_false_flags_and_zero_counts_are_left_out_but_zero_values_stay() -> None:
    body = {"message": {"id": "m1", "pinned": False, "silent": True, "reply_count": 0}}
    body["message"] |= {"score": 0, "reaction_counts": {"like": 0}}
    assert compact(body) == {
        "message": {"id": "m1", "silent": True, "score": 0, "reaction_counts": {"like": 0}}
    }
    assert compact({"banned": False, "total": 0}) == {"banned": False, "total": 0}  # top level


def test_a_channel_names_its_type_config_instead_of_repeating_it() -> None:
    config = {"name": "messaging", "reactions": True, "commands": [{"name": "giphy"}]}
    body = {"channel": {"cid": "messaging:c1", "config": config}}
    assert compact(body) == {"channel": {"cid": "messaging:c1", "config": {"name": "messaging"}}}
    type_body = {"channel_type": {"name": "messaging", "config": config}}  # no cid: kept
    assert compact(type_body)["channel_type"]["config"]["commands"] == [{"name": "giphy"}]


def test_fields_that_repeat_another_field_are_left_out() -> None:
    message = {
        "id": "m1",
        "text": "fish & chips",
        "html": "<p>fish &amp; chips</p>\n",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "reaction_groups": {"like": {"count": 2, "sum_scores": 3}},
        "reaction_counts": {"like": 2},
        "reaction_scores": {"like": 3},
    }
    event = {"cid": "messaging:c1", "channel_type": "messaging", "channel_id": "c1"}
    out = compact({"message": message, "event": event})
    assert set(out["message"]) == {"id", "text", "created_at", "reaction_groups"}
    assert out["event"] == {"cid": "messaging:c1"}


def test_fields_that_differ_from_their_twin_are_kept() -> None:
    message = {
        "id": "m1",
        "text": "**bold**",
        "html": "<p><strong>bold</strong></p>\n",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "reaction_groups": {"like": {"count": 2, "sum_scores": 3}},
        "reaction_counts": {"like": 1},
        "reaction_scores": {"like": 3, "love": 1},
    }
    event = {"cid": "messaging:c1", "channel_type": "team", "channel_id": "c1"}
    out = compact({"message": message, "event": event})
    assert out["message"] == message
    assert out["event"] == event
