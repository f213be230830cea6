"""Example requests: never from a held-out set, voting only among the rules' candidates."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from stream_mcp.catalog import Catalog, load_catalog
from stream_mcp.catalog._build import SPEC_DIR
from stream_mcp.catalog._spec import SpecError
from stream_mcp.search import SearchIndex
from stream_mcp.search._examples import COMMON_FLOOR, NEAREST, WEIGHT, ExampleVotes
from tests.search_support import outputs_across_hash_seeds

ROOT = Path(__file__).resolve().parents[1]


def _collector():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("collect", ROOT / "scripts/collect_examples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(SPEC_DIR)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_the_examples_are_the_benchmark_sets_but_never_a_held_out_request(catalog: Catalog) -> None:
    collect = _collector()
    assert (SPEC_DIR / "examples.yaml").read_text() == collect.render(collect.collect())
    shipped = {_normal(e) for op in catalog for e in op.examples}
    assert len(shipped) > 3000
    kept_back = collect.held_out_splits()
    assert kept_back and all(split.startswith("fresh") for split in kept_back)
    held_out = [
        json.loads(line)
        for path in sorted((ROOT / "benchmarks").glob("search_*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    held_out = [r for r in held_out if r["split"] in kept_back]
    assert len(held_out) >= 160
    leaked = [r["query"] for r in held_out if _normal(r["query"]) in shipped]
    assert not leaked


def test_the_nearest_requests_vote_for_their_operations() -> None:
    votes = ExampleVotes.build(
        [
            ["silence a user in one chat", "stop someone talking in a room"],
            ["throw someone out of the whole app", "ban a user everywhere"],
            ["mute or ban a user", *[f"unrelated filler number {n}" for n in range(NEAREST)]],
        ]
    )
    cast = votes.votes("silence this user in the room")
    assert max(cast, key=cast.__getitem__) == 0
    assert votes.votes("ban the user from the app")[1] > votes.votes("ban the user")[2] / 2
    assert votes.votes("nothing in common whatsoever") == {}
    # a request labelled with two operations votes for both
    both = ExampleVotes.build([["show one poll"], ["show one poll"]]).votes("show the poll")
    assert set(both) == {0, 1} and both[0] == both[1]


def test_votes_reorder_candidates_and_bring_in_none() -> None:
    votes = ExampleVotes.build([["alpha request"], ["beta request"], ["gamma request"]])
    candidates = [(0, 10.0), (1, 9.0)]
    lifted = votes.rerank("beta request please", candidates)
    assert [doc for doc, _ in lifted] == [1, 0]
    assert lifted[0][1] <= 9.0 + WEIGHT * 10.0 + 1e-9
    # gamma is the nearest request, but not a candidate: it stays out
    assert {doc for doc, _ in votes.rerank("gamma request", candidates)} == {0, 1}
    assert votes.rerank("no shared words", candidates) == candidates
    assert votes.rerank("beta request", []) == []


def test_a_common_term_adds_only_to_requests_a_rarer_term_found() -> None:
    """A term in a large share of the requests ("message") never makes a request near on
    its own when the query has a rarer term; alone in a query, it counts in full."""
    chatter = [f"message number {i} about topic{i}" for i in range(COMMON_FLOOR + 50)]
    votes = ExampleVotes.build([chatter, ["archive the message thread"], ["archive a channel"]])
    found = votes.votes("archive the message")
    assert set(found) == {1, 2} and found[1] > found[2]  # no chatter request is near
    assert set(votes.votes("message")) == {0, 1}


def test_common_terms_give_the_same_best_voted_operation_as_adding_every_term() -> None:
    """Against a reference that adds every term's postings in full, over every 25th
    benchmark request, with the shipped examples."""
    import heapq

    from stream_mcp.search._examples import example_terms

    engine = SearchIndex(load_catalog())._built()
    votes = engine._examples
    assert votes is not None

    def reference(query: str) -> dict[int, float]:
        scores: dict[int, float] = {}
        for term in sorted(set(example_terms(query))):
            for request, weight in votes._weighed(term).items():
                scores[request] = scores.get(request, 0.0) + weight
        out: dict[int, float] = {}
        for request in heapq.nlargest(NEAREST, scores, key=scores.__getitem__):
            for doc in votes.owners[request]:
                out[doc] = out.get(doc, 0.0) + scores[request]
        return out

    rows = [
        json.loads(line)
        for path in sorted((ROOT / "benchmarks").glob("search_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ][::25]
    assert len(rows) > 400
    for row in rows:
        got, want = votes.votes(row["query"]), reference(row["query"])
        assert bool(got) == bool(want), row["query"]
        if want:
            assert max(got, key=got.__getitem__) == max(want, key=want.__getitem__), row["query"]


def test_the_compiled_form_votes_exactly_as_the_built_one(catalog: Catalog) -> None:
    built = ExampleVotes.build(op.examples for op in catalog)
    decoded = ExampleVotes.from_json(json.loads(json.dumps(built.to_json())), len(catalog))
    assert decoded is not None
    for query in ("kick bob out of #general", "who reacted to m-1?", "rotate the apns cert"):
        assert decoded.votes(query) == built.votes(query)
    packed = built.to_json()
    assert ExampleVotes.from_json(packed, 3) is None  # names operations past the catalog
    assert ExampleVotes.from_json({**packed, "owners": "not base64!"}, len(catalog)) is None
    assert ExampleVotes.from_json({**packed, "terms": packed["terms"][1:]}, len(catalog)) is None
    unhashable = [["a"], *packed["terms"][1:]]
    assert ExampleVotes.from_json({**packed, "terms": unhashable}, len(catalog)) is None
    assert ExampleVotes.from_json(None, len(catalog)) is None
    # A request past the last one is caught when its term is first read: that term is then
    # unknown, and the others still vote (checking all 180,000 up front cost 4 ms a start).
    from stream_mcp.search._compiled import pack, unpack

    requests = unpack("H", packed["requests"])
    first = len(unpack("H", packed["lengths"]))  # past the end
    bad = ExampleVotes.from_json(
        {**packed, "requests": pack("H", [first, *requests[1:]])}, len(catalog)
    )
    assert bad is not None
    term = packed["terms"][0]
    assert built.votes(term) != {} and bad.votes(term) == {}
    assert bad.votes("who reacted to m-1?") == built.votes("who reacted to m-1?") != {}


def test_unknown_words_leave_no_trace(catalog: Catalog) -> None:
    """A request's weights are kept per known term; words no example uses are not, so a
    stream of made-up words cannot grow the index."""
    votes = ExampleVotes.build(op.examples for op in catalog)
    votes.votes(" ".join(f"zq{n}x" for n in range(500)))
    assert votes._weights == {}
    votes.votes("ban bob")
    assert 0 < len(votes._weights) <= 3


def test_an_example_settles_a_close_call_between_the_rules_candidates(catalog: Catalog) -> None:
    """Through the real index: a request the rules rank second wins once an example like it is
    labelled with it; the same example on an operation the request does not match reorders
    nothing and may only take the last place (see the next test)."""
    query = "put the squad chat on ice for the night"
    rules = SearchIndex(catalog, examples=False).search(query, limit=20).hits
    second = rules[1].operation_id
    unrelated = next(op for op in catalog if op.operation_id not in {h.operation_id for h in rules})

    def with_example(op_id: str) -> SearchIndex:
        ops = {
            k: dataclasses.replace(op, examples=(query,) if k == op_id else ())
            for k, op in catalog.operations.items()
        }
        return SearchIndex(dataclasses.replace(catalog, operations=ops))

    assert with_example(second).search(query).hits[0].operation_id == second
    moved = with_example(unrelated.operation_id).search(query, limit=20).hits
    assert [h.operation_id for h in moved[:-1]] == [h.operation_id for h in rules][: len(moved) - 1]
    assert moved[-1].operation_id == unrelated.operation_id


def test_an_operation_the_rules_miss_is_suggested_last_when_requests_like_this_name_it(
    catalog: Catalog,
) -> None:
    """Through the real index: the rules' first hit stays first; the operation requests like
    this one were labelled with takes the last place, at the score of the hit it displaced;
    with room to spare it is added, and a list of one is left alone."""
    query = "put the squad chat on ice for the night"
    rules = SearchIndex(catalog, examples=False).search(query, limit=5).hits
    shown = {h.operation_id for h in rules}
    unrelated = [op.operation_id for op in catalog if op.operation_id not in shown][:2]
    ops = {
        k: dataclasses.replace(
            op,
            examples=(query,)
            if k == unrelated[0]
            else (query + " please",)
            if k == unrelated[1]
            else (),
        )
        for k, op in catalog.operations.items()
    }
    index = SearchIndex(dataclasses.replace(catalog, operations=ops))
    hits = index.search(query, limit=5).hits
    assert [h.operation_id for h in hits] == [
        *(h.operation_id for h in rules[:3]),
        unrelated[0],
        unrelated[1],
    ]
    assert [h.score for h in hits[3:]] == [h.score for h in rules[3:]]
    assert [h.operation_id for h in index.search(query, limit=1).hits] == [rules[0].operation_id]
    assert [h.operation_id for h in index.search(query, limit=2).hits] == [
        rules[0].operation_id,
        unrelated[0],
    ]


def test_suggestions_keep_the_first_hit_and_fill_what_room_there_is() -> None:
    top, second, third = (1, 9.0), (2, 5.0), (3, 4.0)
    votes = {7: 30.0, 8: 20.0, 9: 10.0, 2: 25.0}
    assert ExampleVotes.suggest([top, second, third], votes, 3) == [top, second, (7, 4.0)]
    assert ExampleVotes.suggest([top, second, third], votes, 5) == [top, second, third, (7, 4.0)]
    assert ExampleVotes.suggest([top], {7: 1.0, 8: 2.0}, 5) == [top, (8, 9.0), (7, 9.0)]
    assert ExampleVotes.suggest([top], votes, 1) == [top]
    assert ExampleVotes.suggest([], votes, 5) == []
    assert ExampleVotes.suggest([top, second], {}, 5) == [top, second]
    assert ExampleVotes.suggest([top, second], {1: 3.0, 2: 1.0}, 5) == [top, second]


def test_a_malformed_examples_file_names_the_operation_and_field(tmp_path: Path) -> None:
    specs = tmp_path / "tool_specs"
    shutil.copytree(SPEC_DIR, specs)
    (specs / "examples.yaml").write_text("SendMessage:\n- 42\n")
    with pytest.raises(SpecError, match=r"examples.yaml: SendMessage.examples: expected a list"):
        load_catalog(specs)


def test_votes_are_the_same_in_every_process() -> None:
    """Summed in one order whatever the string hashing, so two servers rank a request alike
    even at a near tie."""
    code = (
        "from stream_mcp.catalog import load_catalog\n"
        "from stream_mcp.search._examples import ExampleVotes\n"
        "c = load_catalog(None)\n"
        "v = ExampleVotes.from_json(c.precomputed['search']['examples'], len(c))\n"
        "print(repr(v.votes('ban bob from general and mute the spammy channel for a day')))\n"
    )
    outputs = outputs_across_hash_seeds(code)
    assert len(outputs) == 1 and outputs.pop().startswith("{")
