"""Response shaping: JMESPath select, and structural truncation under a token cap."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_mcp.errors import ValidationError
from stream_mcp.execution._shaping import Omission, Shaper, json_size, paging_hint, truncate


def users(n: int, bio: int = 100) -> dict[str, Any]:
    return {"users": [{"id": f"u{i}", "bio": "b" * bio} for i in range(n)], "duration": "1ms"}


# --------------------------------------------------------------------------- select


def test_select_projects() -> None:
    shaper = Shaper()
    data = users(3)
    assert shaper.shape(data, select="users[].id").data == ["u0", "u1", "u2"]
    assert shaper.shape(data, select="users[?id=='u1'] | [0].id").data == "u1"
    assert shaper.shape(data, select="missing").data is None


@pytest.mark.parametrize(
    ("select", "message"),
    [
        ("users[", "select: not a valid JMESPath expression: "),
        ("users[].{id: }", "select: not a valid JMESPath expression: "),
        ("", "select: expected a JMESPath expression, got an empty value"),
        ("   ", "select: expected a JMESPath expression, got an empty value"),
    ],
)
def test_bad_select_is_a_validation_error_naming_select(select: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Shaper().compile(select)
    assert str(caught.value).startswith(message)
    assert caught.value.field == "select"
    assert "\n" not in str(caught.value)


def test_select_reports_position() -> None:
    with pytest.raises(ValidationError, match=r"at column \d+"):
        Shaper().compile("users[?id==]")


def test_select_runtime_errors_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match=r"^select: the expression failed on this response"):
        Shaper().shape({"a": "text"}, select="length(a) > abs(a)")


def test_compiled_expressions_are_reused() -> None:
    shaper = Shaper()
    assert shaper.compile("a.b") is shaper.compile("a.b")


# --------------------------------------------------------------------------- cap


def test_small_responses_pass_through_untouched() -> None:
    data = users(3)
    shaped = Shaper(token_cap=1000).shape(data, raw_size=json_size(data))
    assert shaped.data is data and not shaped.truncated
    assert shaped.meta() == {"truncated": False}


def test_the_longest_array_is_shortened_keeping_its_head() -> None:
    data = {"users": users(300)["users"], "channels": [{"cid": "a"}, {"cid": "b"}]}
    original = copy.deepcopy(data)
    shaped = Shaper(token_cap=1000).shape(data, paging=("limit", "offset"))
    assert shaped.truncated
    assert shaped.size_bytes == json_size(shaped.data) <= 4000
    kept = len(shaped.data["users"])
    assert 1 <= kept < 300
    assert shaped.data["users"] == original["users"][:kept]
    assert shaped.data["channels"] == original["channels"]
    assert shaped.omissions == (Omission("users", "items", kept, 300),)
    meta = shaped.meta()
    assert meta["truncated"] is True
    assert meta["truncation"]["omitted"] == [
        {"path": "users", "kind": "items", "kept": kept, "total": 300}
    ]


def test_nested_arrays_get_paths() -> None:
    data = {"channels": [{"cid": "c1", "messages": [{"text": "m" * 50} for _ in range(400)]}]}
    shaped = Shaper(token_cap=500).shape(data)
    assert shaped.truncated and json_size(shaped.data) <= 2000
    assert shaped.omissions[0].path == "channels[0].messages"
    assert shaped.data["channels"][0]["cid"] == "c1"


def test_a_huge_string_is_shortened_with_a_visible_marker() -> None:
    data = {"message": {"id": "m1", "text": "x" * 50_000}}
    shaped = Shaper(token_cap=1000).shape(data)
    text = shaped.data["message"]["text"]
    assert json_size(shaped.data) <= 4000
    assert text.startswith("xxx") and text.endswith("more characters]")
    assert shaped.data["message"]["id"] == "m1"
    assert shaped.omissions[0].kind == "chars" and shaped.omissions[0].total == 50_000


def test_objects_with_many_keys_are_cut_last() -> None:
    data = {"app": {"config": {f"key_{i:04d}": i for i in range(3000)}}}
    shaped = Shaper(token_cap=500).shape(data)
    assert json_size(shaped.data) <= 2000
    config = shaped.data["app"]["config"]
    assert list(config) == [f"key_{i:04d}" for i in range(len(config))]
    assert shaped.omissions[0] == Omission("app.config", "keys", len(config), 3000)


def test_root_list_is_cut() -> None:
    data = [{"id": i, "pad": "p" * 40} for i in range(1000)]
    shaped = Shaper(token_cap=500).shape(data)
    assert json_size(shaped.data) <= 2000 and shaped.omissions[0].path == "@"
    hint = shaped.hint or ""
    assert "items in the response" in hint


def test_select_then_cap() -> None:
    shaped = Shaper(token_cap=200).shape(users(500), select="users[].id")
    assert shaped.truncated and isinstance(shaped.data, list)
    assert json_size(shaped.data) <= 800 and shaped.data[0] == "u0"


def test_truncate_keeps_what_fits_exactly() -> None:
    data = {"items": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}
    cap = json_size({"items": [1, 2, 3]})
    out, omissions = truncate(copy.deepcopy(data), cap)
    assert out == {"items": [1, 2, 3]}
    assert omissions == [Omission("items", "items", 3, 10)]


# --------------------------------------------------------------------------- hint


def test_hint_names_limit_and_offset() -> None:
    hint = paging_hint(
        {"users": []},
        [Omission("users", "items", 25, 300)],
        paging=("limit", "offset"),
        arguments={"offset": 50},
        token_cap=8000,
    )
    assert hint == (
        "Response cut to fit ~8000 tokens: kept 25 of 300 items in `users`. To see the rest: "
        "ask for fewer items with limit=25, then page with offset=75, "
        "or project fewer fields with select (a JMESPath expression)."
    )


def test_hint_uses_the_next_cursor_when_the_response_has_one() -> None:
    hint = paging_hint(
        {"results": [], "next": "abc=="},
        [Omission("results", "items", 10, 100)],
        paging=("limit", "next"),
        arguments={},
        token_cap=8000,
    )
    assert 'pass next="abc==" for the following page' in hint
    assert "limit=10" in hint


def test_hint_mentions_operation_specific_limits() -> None:
    hint = paging_hint(
        {"messages": []},
        [Omission("messages", "items", 5, 50)],
        paging=("messages_limit",),
        arguments={},
        token_cap=8000,
    )
    assert "messages_limit=5" in hint


def test_hint_without_paging_points_to_select() -> None:
    hint = paging_hint({}, [Omission("app", "keys", 3, 90)], paging=(), arguments={}, token_cap=10)
    assert hint.startswith("Response cut to fit ~10 tokens (long values shortened).")
    assert hint.endswith("or project fewer fields with select (a JMESPath expression).")


# --------------------------------------------------------------------------- properties

JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=120),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=20), st.dictionaries(st.text(max_size=12), inner, max_size=10)
    ),
    max_leaves=80,
)


@given(data=JSON)
def test_truncation_always_gives_valid_json_within_the_cap(data: Any) -> None:
    cap = 512  # small, so that most drawn documents must be cut
    before = json_size(data)
    out, omissions = truncate(copy.deepcopy(data), cap)
    text = json.dumps(out, ensure_ascii=False)
    json.loads(text)
    assert json_size(out) <= cap
    if before <= cap:
        assert out == data and omissions == []
    for omission in omissions:
        assert 0 < omission.kept < omission.total


@pytest.mark.parametrize(
    ("select", "message"),
    [
        ("nope(a)", "unknown function nope()"),
        ("length(a, b)", "length() takes 1 argument(s), got 2"),
        ("not_null()", "not_null() takes 1 or more argument(s), got 0"),
        ("users[].{id: id, n: length(id, id)}", "length() takes 1"),
    ],
)
def test_bad_functions_are_refused_before_anything_runs(select: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Shaper().compile(select)
    assert caught.value.field == "select" and message in str(caught.value)
