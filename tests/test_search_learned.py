"""Corrections learnt from the labelled requests: they reorder the engine's candidates by the
words that tell siblings apart, are trained at compile time only, and rank alike everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stream_mcp.catalog import load_catalog
from stream_mcp.search import SearchIndex
from stream_mcp.search._learned import CAP, GATE, Corrections
from stream_mcp.search._training import MIN_REQUESTS, labelled, samples, train
from tests.search_support import outputs_across_hash_seeds

DEV10 = Path(__file__).resolve().parents[1] / "benchmarks" / "search_dev10.jsonl"

WORDS = ["amber", "birch", "cedar", "dune", "ember", "fjord", "grove", "heath"]


def test_corrections_settle_near_calls_only_and_bring_in_nothing() -> None:
    corrections = Corrections.from_table({"only": {1: 300, 2: 900}, "reaction": {0: -100}})
    candidates = [(0, 10.0), (1, 9.0)]
    moved = corrections.adjust("only reactions please", [(0, 10.0), (1, 9.1)])
    # 0 loses a tenth of the top score; 1 would gain three tenths but moves at most CAP;
    # 2 is no candidate and stays out
    assert CAP == 100
    assert moved == [(1, pytest.approx(10.1)), (0, pytest.approx(9.0))]
    assert corrections.adjust("nothing it knows", candidates) == candidates
    assert corrections.adjust("only", []) == []
    # a top candidate more than GATE ahead of the next is no near call: nothing moves
    clear = [(0, 10.0), (1, (1 - GATE) * 10.0 - 0.01)]
    assert corrections.adjust("only reactions please", clear) == clear


def test_the_compiled_form_is_the_trained_one_and_a_malformed_one_is_refused() -> None:
    corrections = Corrections.from_table({"b": {3: -7, 0: 12}, "a": {2: 5}})
    packed = json.loads(json.dumps(corrections.to_json(trained_on="digest")))
    decoded = Corrections.from_json(packed, 4)
    assert decoded == corrections and decoded.table() == {"a": {2: 5}, "b": {0: 12, 3: -7}}
    assert Corrections.from_json(packed, 3) is None  # names an operation past the catalog
    assert Corrections.from_json({**packed, "weights": "not base64!"}, 4) is None
    assert Corrections.from_json({**packed, "terms": ["a"]}, 4) is None
    assert Corrections.from_json({**packed, "terms": [["a"], "b"]}, 4) is None
    assert Corrections.from_json(None, 4) is None


def _siblings() -> list[list[str]]:
    """Two operations whose requests share every word but the ones that tell them apart."""
    return [
        [f"list the reactions on the {word} message" for word in WORDS],
        [f"list only the reactions that {word} left on the message" for word in WORDS],
    ]


def test_training_learns_the_words_that_separate_siblings() -> None:
    """The rules here always rank the first sibling ahead; the learner finds what marks the
    second ("only", "left") and never leans on a word too few requests hold."""
    examples = _siblings()
    examples[1].append("list only the reactions zanzibar left on it")  # one writer's odd word

    def rules(text: str) -> list[tuple[int, float]]:
        return [(0, 10.0), (1, 9.5)]

    data = samples(examples, rules)
    assert len(data) == len(labelled(examples)) == 2 * len(WORDS) + 1
    corrections = train(data)
    assert [doc for doc, _ in corrections.adjust("only what kim left", rules(""))] == [1, 0]
    assert [doc for doc, _ in corrections.adjust("the reactions on it", rules(""))] == [0, 1]
    assert "zanzibar" not in corrections.positions and MIN_REQUESTS > 1
    assert train(samples(examples, rules)) == corrections  # the same inputs, the same weights
    # an operation's own name gets no weight for it: were "only" in its id, it would learn
    # from "left" alone
    named = train(data, [frozenset(), frozenset({"only"})]).table()
    assert 1 not in named.get("only", {}) and named["left"][1] > 0


def test_training_ignores_ids_and_values() -> None:
    """Every edit request names m-42 in team:ops, often enough to be learnt were it a word:
    the learner weighs what the requests say ("edit"), never the ids and values they name."""
    examples = [
        [f"show the message in {word}" for word in WORDS],
        [f"edit message m-42 in team:ops for {word}" for word in WORDS],
    ]
    corrections = train(samples(examples, lambda text: [(0, 10.0), (1, 5.0)]))
    assert "edit" in corrections.positions
    assert not any(
        c.isdigit() or "ops" in term or "team" in term
        for term in corrections.positions
        for c in term
    )


def test_the_shipped_catalog_searches_with_its_corrections() -> None:
    """The artifact carries them (compiled with the examples they were trained on, which
    tests/test_startup.py checks), and search uses them: they take back close calls the
    votes had got wrong, such as reading "should no longer exist" about a custom permission
    as changing it. Which close calls they settle moves each time they are trained on more
    requests (after round eleven's examples, one phrasing an earlier version pinned is right
    by the votes alone, and another is wrong either way), so beside two phrasings it counts:
    on a labelled set they learnt from (every sixth request of dev10), they put the labelled
    operation first more often than the votes alone do (round eleven: 317 of 327 against
    311; on all of dev10, 1,889 of 1,958 against 1,836)."""
    index = SearchIndex(load_catalog())
    engine = index._built()
    assert engine._learned is not None and len(engine._learned) > 1000
    votes_alone = SearchIndex(load_catalog())._built()
    votes_alone._learned = None
    for query, right in (
        ("Custom permission old-upload-rule should no longer exist.", "DeletePermission"),
        ("get rid of chanel type 'beta_rooms'", "DeleteChannelType"),
    ):
        assert index.search(query).hits[0].operation_id == right
        assert votes_alone.search(query).hits[0].operation_id != right
    rows = [json.loads(line) for line in DEV10.read_text().splitlines() if line.strip()][::6]
    positions = {op_id: i for i, op_id in enumerate(load_catalog().operations)}
    corrected = voted = 0
    for row in rows:
        query, right = row["query"], {positions[op_id] for op_id in row["expected"]}
        reranked = engine._examples.rerank(query, engine.candidates(query))
        if reranked:
            voted += reranked[0][0] in right
            corrected += engine._learned.adjust(query, reranked)[0][0] in right
    assert corrected >= voted + 0.01 * len(rows)


def test_search_ranks_alike_in_every_process() -> None:
    """Votes sum in one order and corrections as integers, whatever the string hashing."""
    code = (
        "from stream_mcp.catalog import load_catalog\n"
        "from stream_mcp.search import SearchIndex\n"
        "i = SearchIndex(load_catalog())\n"
        "for q in ('only the love reactions u-2 left on m-5', 'lock out u-1 and u-2',\n"
        "          'schedule a reminder about m-4 for tomorrow', 'is u-9 in seg-3?'):\n"
        "    print([(h.operation_id, round(h.score, 9)) for h in i.search(q).hits])\n"
    )
    outputs = outputs_across_hash_seeds(code)
    assert len(outputs) == 1, outputs
