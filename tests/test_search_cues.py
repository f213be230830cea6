"""The outcome rules' cue words: derived from each pattern, stored in the artifact, and used
to compile and apply a rule only for requests that could match it. A cue set that missed a
match would silently change how a request is read, so each is checked three ways."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stream_mcp.catalog import load_catalog
from stream_mcp.search import _compiled
from stream_mcp.search._cues import derive_cues, required_alternatives
from stream_mcp.search._query import QueryAnalyzer
from stream_mcp.search._vocabulary import OUTCOMES

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
# Tuning and old sets only: the held-out sets are read by the benchmark alone.
CORPUS_FILES = ("search_eval.jsonl", "search_scratch.jsonl", "search_dev3.jsonl")
PATTERNS = [pattern for pattern, _ in OUTCOMES]


def corpus() -> list[str]:
    rows = [
        json.loads(line)
        for name in CORPUS_FILES
        for line in (BENCH / name).read_text().splitlines()
        if line
    ]
    return [row["query"].lower() for row in rows]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bab(?:c|d)?e", ("ab",)),  # an optional part is not required
        (r"x(?:foo|)y", ("x",)),  # nor is a group with an empty branch
        (r"(?:foo|bar)+baz", ("foo", "bar")),  # a repeated group is, once at least
        (r"(?i:hello) world", (" world",)),  # a case-folded part could be written otherwise
        (r"(?i)hello", None),
        (r"[a-z]+", None),
        (r"(?<=ab)c", ("c",)),  # a lookbehind's text is not part of the match
    ],
)
def test_required_text_is_derived_conservatively(
    pattern: str, expected: tuple[str, ...] | None
) -> None:
    assert required_alternatives(pattern) == expected


def test_every_outcome_rule_has_cues_in_the_shipped_artifact() -> None:
    stored = _compiled.decode_cues(load_catalog().precomputed.get("search"))
    assert set(stored) == set(PATTERNS)
    assert stored == {p: tuple(c) for p, c in derive_cues(PATTERNS).items()}
    assert all(len(cue) >= 2 for cues in stored.values() for cue in cues)


def test_cues_from_other_code_are_ignored() -> None:
    section = dict(load_catalog().precomputed["search"])
    assert _compiled.decode_cues({**section, "code": "0" * 64}) == {}
    assert _compiled.decode_cues({**section, "cues": {"x": [1]}}) == {}
    assert _compiled.decode_cues(None) == {}


def test_no_request_matches_a_rule_without_holding_one_of_its_cues() -> None:
    cues = derive_cues(PATTERNS)
    compiled = {pattern: re.compile(pattern) for pattern in cues}
    for query in corpus():
        for pattern, pattern_cues in cues.items():
            if compiled[pattern].search(query):
                assert any(cue in query for cue in pattern_cues), (pattern, query)


def test_reading_with_cues_gives_the_same_plan_as_compiling_every_rule() -> None:
    vocabulary = frozenset({"send", "messag", "channel", "user", "ban", "delet", "member"})
    gated = QueryAnalyzer(
        vocabulary, cues=_compiled.decode_cues(load_catalog().precomputed.get("search"))
    )
    plain = QueryAnalyzer(vocabulary)
    for query in corpus():
        assert gated.plan(query) == plain.plan(query), query
