"""Shapes of request that say which kind of operation is wanted, whatever the words inside:
asking whether something works is a test, not a read."""

from __future__ import annotations

import pytest

from stream_mcp.catalog._build import SPEC_DIR, load_catalog
from stream_mcp.search import SearchIndex
from stream_mcp.search._query import QueryAnalyzer


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.from_catalog(load_catalog(SPEC_DIR))


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer(frozenset({"bucket", "export", "push", "storag", "job"}))


def top(index: SearchIndex, query: str) -> str:
    return index.search(query).hits[0].operation_id


# ------------------------------------------------------------------ whether it works


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("will Stream really be able to write into the archive bucket?", "CheckExternalStorage"),
        ("is the export bucket reachable?", "CheckExternalStorage"),
        ("verify the importer bucket settings", "ValidateImporterExternalStorage"),
        ("can the importer really read from our bucket?", "ValidateImporterExternalStorage"),
    ],
)
def test_asking_whether_it_works_is_a_test(index: SearchIndex, query: str, expected: str) -> None:
    # a test changes nothing, like a read; but reading the settings does not say they work
    assert top(index, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "can the push setup actually reach phones?",
        "does our queue config work?",
        "is the bucket reachable?",
    ],
)
def test_a_question_whether_it_works_asks_for_a_test(analyzer: QueryAnalyzer, query: str) -> None:
    assert analyzer.plan(query).actions == {"test"}


@pytest.mark.parametrize(
    "query",
    [
        "can you show the export bucket?",  # a polite request to read
        "did the nightly export job actually run?",  # what happened, not whether it works
        "how did policy test run 5 go?",  # "test" names the run
    ],
)
def test_other_questions_are_no_tests(analyzer: QueryAnalyzer, query: str) -> None:
    assert "test" not in analyzer.plan(query).actions
