"""Compact results: empties dropped inside records, each user in full once, paths unchanged."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

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


# --------------------------------------------------------------------------- one walk, same answer

_KEYS = [
    "id",
    "user",
    "users",
    "read_by",
    "created_by",
    "target_user",
    "created_at",
    "updated_at",
    "last_active",
    "text",
    "html",
    "cid",
    "channel_type",
    "channel_id",
    "config",
    "name",
    "reaction_groups",
    "reaction_counts",
    "reaction_scores",
    "count",
    "sum_scores",
    "reply_count",
    "duration",
    "flag",
    "messages",
    "members",
    1,
]
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["", "hi", "<p>hi</p>", "messaging:c1", "messaging", "c1", "alice", "bob"]),
    st.sampled_from([0, 1, 0.0, 2.5, 1_700_000_000, 1_700_000_000_123, 1.7e9, -5]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(_KEYS), inner, max_size=6),
    ),
    max_leaves=30,
)


def _reference(value, key, seen, depth, times):
    """The walk as first written (a call per value); the current one must agree with it."""
    from stream_mcp.execution import _compact as module
    from stream_mcp.execution.timestamps import is_datetime_key, to_rfc3339

    def says_nothing(name, kept):
        if kept is False or empty(kept):
            return True
        return kept == 0 and type(kept) is int and name.endswith("_count")

    def empty(kept):
        return kept is None or kept == [] or kept == {} or kept == ""

    if (
        times
        and key is not None
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and is_datetime_key(key)
    ):
        return to_rfc3339(value) or value
    if isinstance(value, dict):
        if key is not None and module._is_user(key, value):
            if value["id"] in seen:
                return {"id": value["id"]}
            seen.add(value["id"])
        out = {}
        for name, item in value.items():
            if depth == 0 and name == "duration":
                continue
            if isinstance(item, dict | list):
                if name == "config" and isinstance(item, dict) and "cid" in value:
                    kept = {"name": item["name"]} if "name" in item else {}
                else:
                    kept = _reference(item, str(name), seen, depth + 1, times)
            elif times and type(item) in (int, float) and is_datetime_key(str(name)):
                kept = to_rfc3339(item) or item
            else:
                kept = item
            if depth == 0 or not says_nothing(str(name), kept):
                out[name] = kept
        if depth > 0:
            module._drop_derived(value, out)
        return out
    if isinstance(value, list):
        items = [_reference(i, module._item_key(key), seen, depth + 1, times) for i in value]
        return [i for i in items if not empty(i)]
    return value


@given(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6), st.booleans())
@example({"reply_count": 0, "flag": False, "messages": [{"reply_count": 0, "id": ""}]}, False)
@example({"created_at": 1_700_000_000, "user": {"created_at": 1.7e9, "flag": None}}, True)
def test_compact_agrees_with_the_reference_walk(body, timestamps) -> None:
    import copy

    before = copy.deepcopy(body)
    got = compact(body, timestamps=timestamps)
    assert json.dumps(got, sort_keys=False) == json.dumps(
        _reference(body, None, set(), 0, timestamps), sort_keys=False
    )
    assert body == before  # new containers; the input is untouched
