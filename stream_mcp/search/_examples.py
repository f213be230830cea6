"""Requests people typed, as evidence for the operations they were labelled with.

The engine's rules read a request's verb, object and shape; they generalise, but every round
of requests written blind showed phrasings no rule foresaw. Labelled requests
(``tool_specs/examples.yaml``, gathered from the benchmark sets no longer held out) carry
that knowledge directly: a new request that resembles some of them is evidence for their
operations. Resemblance is BM25 over the requests' stems and adjacent pairs of stems; the
``NEAREST`` closest requests vote for their operations with their scores.

The votes only reorder the engine's own candidates, and add at most ``WEIGHT`` of the top
candidate's score, so they settle close calls (siblings, outcome phrasing) but cannot bring
in an operation the request does not match, except in the last places (``SUGGESTED``). The
constants were chosen on the seven blind
sets the rules were never tuned on (``heldout``, fresh2 to fresh7: 1,503 requests), each
scored with the examples of all the other sets: top-1 went from 0.856 to 0.895 and top-5 from
0.977 to 0.987 with ``NEAREST`` 10 and ``WEIGHT`` 0.3. 5-20 and 0.3-0.4 did within half a
point; 0.3 overrides fewer of the phrasings the rules' tests pin down (7 of some 700, against
11 at 0.4). Normalising requests further (ids and names read as their kinds) did no better.

Where the rules miss the operation altogether, requests people wrote for it still find it: the
``SUGGESTED`` best-voted operations not among the hits take the last places of the list,
never the first (:meth:`ExampleVotes.suggest`). Left out in turn, each of the 17 blind sets
no longer held out in round ten (6,883 requests), scored with the votes of all the others:
top-5 went from 0.985 to 0.991 and top-1 was unchanged (one best-voted operation: 0.989).

A handful of terms are in a large share of the requests ("u" of u-17 in a quarter of them,
"message" in a fifth): they weigh little, but a request holding one of them adds up
thousands of postings, half of all a search adds. Those held by more than ``COMMON`` of the
requests only add to requests a rarer term of the query found (unless it has none): a
request that shares nothing but "message" with the query is never among the nearest ten
anyway. In round eleven, each of the 25 blind sets no longer held out (9,739 requests) left
out in turn and scored with the votes of the others ranked exactly as with every term in
full, and the votes took 43% less time (at a hundredth: 8 fewer right first). Leaving those
terms out altogether instead was as fast but moved short requests: "message reactions" lost
its "message", "drop a channel" its "channel".
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from typing import Any, overload

from stream_mcp.search._text import STOPWORDS, bigrams, split_words, stem

NEAREST = 10  # requests that vote
WEIGHT = 0.3  # the most the votes add, as a share of the top candidate's score
CANDIDATES = 20  # the engine's candidates the votes may reorder
SUGGESTED = 2  # the best-voted operations that may take the last places of a list of hits
# Terms held by more than this share of the requests (and by at least COMMON_FLOOR of them),
# such as "u" (of u-17), "message", "channel", "user", only add to the scores of requests a
# rarer term of the query found: they cost the most to add up (see the module doc).
COMMON, COMMON_FLOOR = 0.05, 100
_K1, _B = 1.2, 0.75  # BM25's usual constants


def example_terms(text: str) -> list[str]:
    """Stems of the request's words (function words aside) and of each adjacent pair."""
    words = [stem(w) for w in split_words(text) if w not in STOPWORDS]
    return words + bigrams(words)


@dataclass(frozen=True)
class ExampleVotes:
    """An inverted index over labelled requests, and the operations (by position in the
    catalog) each request is labelled with.

    It keeps only which requests hold each term (once per occurrence) and each request's
    length, and weighs them at query time: that is exact in both the built and the compiled
    form, and a fraction of the size of stored weights."""

    positions: Mapping[str, int]  # term -> its slice of ``requests``
    starts: Sequence[int]  # offsets into ``requests``, one more than there are terms
    requests: Sequence[int]  # per term, the requests holding it
    lengths: Sequence[int]  # per request, its number of terms
    owners: Sequence[Sequence[int]]  # per request, the operations it is labelled with
    average: float  # the mean of ``lengths``
    # term -> {request: weight}, filled as searches meet terms (a term's weight never changes)
    _weights: dict[str, dict[int, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def build(cls, examples: Iterable[Sequence[str]]) -> ExampleVotes:
        """``examples[doc]`` are the requests labelled with operation ``doc``; a request
        labelled with several operations is one document owned by each."""
        owners: dict[str, list[int]] = {}
        for doc, texts in enumerate(examples):
            for text in texts:
                owners.setdefault(" ".join(text.lower().split()), []).append(doc)
        holding: dict[str, list[int]] = {}
        lengths = []
        for request, text in enumerate(owners):
            terms = example_terms(text)
            lengths.append(len(terms))
            for term in terms:
                holding.setdefault(term, []).append(request)
        return cls.packed(
            list(holding),
            [len(r) for r in holding.values()],
            [r for rs in holding.values() for r in rs],
            lengths,
            [tuple(docs) for docs in owners.values()],
        )

    @classmethod
    def packed(
        cls,
        terms: list[str],
        counts: Sequence[int],
        requests: Sequence[int],
        lengths: Sequence[int],
        owners: Sequence[Sequence[int]],
    ) -> ExampleVotes:
        return cls(
            dict(zip(terms, range(len(terms)), strict=True)),
            [0, *accumulate(counts)],
            requests,
            lengths,
            owners,
            sum(lengths) / len(lengths) if lengths else 1.0,
        )

    def votes(self, query: str) -> dict[int, float]:
        """Operation → the summed BM25 scores of the ``NEAREST`` requests most like
        ``query`` that are labelled with it."""
        # Terms in one order, so that sums (and ties) come out alike in every process; the
        # commonest first, as a copy, so that its hundreds of requests are not added one by one;
        # the few common terms (``COMMON``) last, and only to requests already found.
        found = [self._weighed(term) for term in sorted(set(example_terms(query)))]
        found = sorted(filter(None, found), key=len, reverse=True)
        common = max(COMMON * len(self.lengths), COMMON_FLOOR)
        rare = [weights for weights in found if len(weights) <= common]
        frequent = found[: len(found) - len(rare)]  # the longest come first
        if not rare:  # only common terms: each counts in full
            rare, frequent = frequent, []
        if not rare:
            return {}
        scores = dict(rare[0])
        for weights in rare[1:]:
            for request, weight in weights.items():
                scores[request] = scores.get(request, 0.0) + weight
        for weights in frequent:  # walk the shorter side
            if len(scores) < len(weights):
                for request in scores:
                    extra = weights.get(request)
                    if extra is not None:
                        scores[request] += extra
            else:
                for request, weight in weights.items():
                    if request in scores:
                        scores[request] += weight
        out: dict[int, float] = {}
        for request in heapq.nlargest(NEAREST, scores, key=scores.__getitem__):
            for doc in self.owners[request]:
                out[doc] = out.get(doc, 0.0) + scores[request]
        return out

    def _weighed(self, term: str) -> dict[int, float]:
        """Each request holding ``term`` → the term's BM25 weight in it."""
        weights = self._weights.get(term)
        i = self.positions.get(term)
        if weights is None and i is not None:  # unknown terms are not kept: a query has many
            holding = Counter(self.requests[self.starts[i] : self.starts[i + 1]])
            total = len(self.lengths)
            if holding and max(holding) >= total:  # a malformed artifact: checked as read
                holding.clear()
            idf = math.log(1 + (total - len(holding) + 0.5) / (len(holding) + 0.5))
            weights = {
                request: idf
                * tf
                * (_K1 + 1)
                / (tf + _K1 * (1 - _B + _B * self.lengths[request] / self.average))
                for request, tf in holding.items()
            }
            self._weights[term] = weights
        return weights or {}

    def rerank(
        self,
        query: str,
        candidates: Sequence[tuple[int, float]],
        votes: Mapping[int, float] | None = None,
    ) -> list[tuple[int, float]]:
        """``candidates`` (operation, score), best first, with each one's share of the
        votes added: at most ``WEIGHT`` of the best score, to the best-voted operation.
        ``votes`` are :meth:`votes` of ``query``, when the caller has them already."""
        if not candidates:
            return []
        if votes is None:
            votes = self.votes(query)
        if not votes:
            return list(candidates)
        scale = WEIGHT * candidates[0][1] / max(votes.values())
        lifted = [(doc, score + scale * votes.get(doc, 0.0)) for doc, score in candidates]
        return sorted(lifted, key=lambda kv: (-kv[1], kv[0]))

    @staticmethod
    def suggest(
        hits: Sequence[tuple[int, float]], votes: Mapping[int, float], limit: int
    ) -> list[tuple[int, float]]:
        """``hits`` (at most ``limit``, best first) with the ``SUGGESTED`` best-voted
        operations they lack in the last places, each at the score of the hit it displaces
        (or of the last hit kept). The first hit always stays; no hits, no suggestions."""
        if not hits or not votes:
            return list(hits)
        shown = {doc for doc, _ in hits}
        best_voted = sorted(votes, key=lambda doc: (-votes[doc], doc))[:SUGGESTED]
        missing = [doc for doc in best_voted if doc not in shown][: max(0, limit - 1)]
        if not missing:
            return list(hits)
        kept = list(hits[: limit - len(missing)])
        floor = [hits[i][1] if i < len(hits) else kept[-1][1] for i in range(len(kept), limit)]
        return kept + list(zip(missing, floor, strict=False))

    def to_json(self) -> dict[str, Any]:
        """The compiled artifact's form: packed arrays, as for the index's postings."""
        from stream_mcp.search._compiled import pack

        return {
            "terms": sorted(self.positions, key=self.positions.__getitem__),
            "counts": pack("H", [b - a for a, b in pairwise(self.starts)]),
            "requests": pack("H", self.requests),
            "lengths": pack("H", self.lengths),
            "owned": pack("H", [len(docs) for docs in self.owners]),
            "owners": pack("H", [doc for docs in self.owners for doc in docs]),
        }

    @classmethod
    def from_json(cls, data: Any, count: int) -> ExampleVotes | None:
        """What :meth:`to_json` wrote, or ``None`` if it is malformed or names an operation
        past ``count``."""
        from stream_mcp.search._compiled import unpack, unpack_array

        try:
            terms = data["terms"]
            counts, requests = unpack("H", data["counts"]), unpack_array("H", data["requests"])
            lengths = unpack("H", data["lengths"])
            owned, flat = unpack("H", data["owned"]), unpack("H", data["owners"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (
            isinstance(terms, list)
            and len(terms) == len(counts)
            and sum(counts) == len(requests)
            and len(owned) == len(lengths)
            and sum(owned) == len(flat)
            and max(flat, default=0) < count  # unsigned: never below 0
        ):  # each term's requests are checked when a search first reads them (_weighed)
            return None
        try:
            return cls.packed(terms, counts, requests, lengths, _Slices(flat, owned))
        except TypeError:  # a term that is no string (a list cannot even be a key)
            return None


class _Slices(Sequence[Sequence[int]]):
    """Consecutive runs of ``flat``, of the given lengths, cut when asked for: a search reads
    the owners of ten requests, not of four thousand."""

    __slots__ = ("_flat", "_starts")

    def __init__(self, flat: Sequence[int], lengths: Iterable[int]) -> None:
        self._flat = flat
        self._starts = [0, *accumulate(lengths)]

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, index: int) -> Sequence[int]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Sequence[int]]: ...
    def __getitem__(self, index: int | slice) -> Sequence[int] | Sequence[Sequence[int]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        return self._flat[self._starts[index] : self._starts[index + 1]]
