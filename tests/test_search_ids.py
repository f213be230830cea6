"""Ids with a conventional prefix ("cmp-9", "seg-beta", "u-5") read as the kind they name."""

from __future__ import annotations

import pytest

from stream_mcp.search import SearchIndex
from stream_mcp.search._query import QueryAnalyzer, read_ids
from stream_mcp.search._text import split_words
from tests.search_support import top


@pytest.mark.parametrize(
    ("query", "words", "kinds"),
    [
        ("trash cmp-9", ["trash", "campaign", "9"], {"campaign": 1}),
        ("scrap seg-old", ["scrap", "segment"], {"segment": 1}),  # a named id loses its name
        ("ri-9 details", ["review", "item", "9", "details"], {"review item": 1}),
        # after a noun for its kind, an id is that noun's value, not a second mention
        ("poll p-4 as it stands", ["poll", "4", "as", "it", "stands"], {}),
        ("segment seg-beta", ["segment"], {}),
        # ... and so are the ids listed after it
        ("users u-1, u-2 and u-3", ["users", "1", "2", "and", "3"], {}),
        # a user's id is a user named in passing, as a name is: counted, left as it is
        ("u-5's convos", ["u", "5", "s", "convos"], {"user": 1}),
        (
            "seg-beta minus u-2, u-3",
            ["segment", "minus", "u", "2", "u", "3"],
            {"segment": 1, "user": 2},
        ),
        # a short prefix only before a number; nothing inside a channel, type:id or path
        ("u-turn at o-ring", ["u", "turn", "at", "o", "ring"], {}),
        ("#seg-beta and messaging:u-5", ["seg", "beta", "and", "messaging", "u", "5"], {}),
        ("x-9 and cmpx-9", ["x", "9", "and", "cmpx", "9"], {}),
    ],
)
def test_prefixed_ids_read_as_their_kind(
    query: str, words: list[str], kinds: dict[str, int]
) -> None:
    text, counted = read_ids(query)
    assert split_words(text) == words
    assert dict(counted) == kinds


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nuke cmp-12", "DeleteCampaign"),
        ("scrap seg-old", "DeleteSegment"),
        ("drop m-77", "DeleteMessage"),
        ("show me p-3", "GetPoll"),
        ("o-2 should read 'Tacos'", "UpdatePollOption"),
        ("edit th-4", "UpdateThreadPartial"),
        ("delete dr-5", "DeleteDraft"),
        ("restore m-9", "UndeleteMessage"),
        ("remove u-2 and u-3 from seg-beta", "DeleteSegmentTargets"),
    ],
)
def test_an_id_says_what_a_bare_verb_acts_on(index: SearchIndex, query: str, expected: str) -> None:
    assert top(index, query) == expected


def test_user_ids_are_people_as_names_are() -> None:
    # two users named by id ask about users, in the plural, as "bob" and "alice" would
    analyzer = QueryAnalyzer(frozenset({"block", "user"}))
    for query in ("block u-3 for u-4", "block bob for alice"):
        slots = {terms for slot in analyzer.plan(query).slots for terms, _ in slot}
        assert ("=users",) in slots and ("user",) in slots, query
