"""Corrections learned from the labelled requests: which words tell close operations apart.

The example votes (``_examples``) lift the operations whose requests a new one resembles,
but siblings' requests resemble each other: "which reactions on m-5 came from u-9?" is near
requests for both GetReactions and QueryReactions. What tells them apart is a few words
("came from", "only", a plural id list), and those are learnt here: an averaged perceptron
over the requests' stems and stem pairs, one weight per (term, operation), trained to put each
labelled request's operation first among the engine's own candidates, after its votes.

Training needs the engine's candidates for every request, so it runs when the catalog is
compiled (``scripts/compile_catalog.py``), never at search time; a catalog without a current
compiled section searches without corrections. The votes a request meets in training come
from the other requests only (requests are dealt into folds, ``_training.FOLDS``, by a
checksum of their text, and each fold is voted on by the rest), or the learner would trust
votes that at search time are weaker. Weights are kept as integers (thousandths) and summed
as integers, so the compiled form ranks exactly as the trained one, in every process.

The constants were chosen by leaving out, in turn, each of the eight blind sets already
scored (1,723 requests), training on all the other labelled requests (some 6,900), and
scoring the left-out set: top-1 went from 0.907 (rules and votes) to 0.922, top-5 from 0.987
to 0.985. Left free, the learner did better there (0.929) but swung plain requests on words
that say little ("ops" in "messaging:ops", a writer's favourite names): hence no weights for
ids and values, for rare terms, or for an operation's own name, and corrections that only
settle near calls (``GATE``) and move a candidate at most ``CAP``. Of the tests that pin
down the rules' phrasings, run on the whole engine, the corrections take back three the votes
had got wrong ("mark the channel as read" is MarkRead again) and lose two others ("flag a
message" goes to QueryMessageFlags, a near call the votes had right).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import accumulate, pairwise
from typing import Any

from stream_mcp.search._examples import example_terms

SCALE = 1000  # weights are stored as integer thousandths
CAP = 100  # the most a candidate moves, in thousandths of the top score: near calls only
GATE = 0.2  # a top candidate this far (as a share of its score) ahead of the next is kept

# (operation, score) pairs, best first
Candidates = Sequence[tuple[int, float]]
# ids and values ("u-4", "m-12", "seg_9", "messaging:ops"): they name one request's things,
# and a weight learnt for them is a weight learnt for its writer's habits
_VALUE = re.compile(r"\S*[\d:_]\S*")


def learned_terms(text: str) -> set[str]:
    """The terms the corrections weigh: the votes' terms of ``text`` without its ids and
    values."""
    return set(example_terms(_VALUE.sub(" ", text)))


class Corrections:
    """Per term, an integer weight (thousandths) for some operations. Immutable; a plain
    class, as a dataclass would add a millisecond to every first search's imports."""

    __slots__ = ("docs", "positions", "starts", "weights")

    def __init__(
        self,
        positions: Mapping[str, int],  # term -> its slice of ``docs`` and ``weights``
        starts: Sequence[int],
        docs: Sequence[int],
        weights: Sequence[int],
    ) -> None:
        self.positions = positions
        self.starts = starts
        self.docs = docs
        self.weights = weights

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Corrections):
            return NotImplemented
        return self.table() == other.table()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Corrections: {len(self.docs)} weights over {len(self.positions)} terms>"

    def table(self) -> dict[str, dict[int, int]]:
        """term → {operation: weight}: what :meth:`from_table` takes."""
        return {
            term: {self.docs[k]: self.weights[k] for k in range(self.starts[i], self.starts[i + 1])}
            for term, i in self.positions.items()
        }

    @classmethod
    def from_table(cls, table: Mapping[str, Mapping[int, int]]) -> Corrections:
        terms = sorted(t for t in table if table[t])
        return cls.packed(
            terms,
            [len(table[t]) for t in terms],
            [doc for t in terms for doc in sorted(table[t])],
            [table[t][doc] for t in terms for doc in sorted(table[t])],
        )

    @classmethod
    def packed(
        cls, terms: list[str], counts: Sequence[int], docs: Sequence[int], weights: Sequence[int]
    ) -> Corrections:
        positions = dict(zip(terms, range(len(terms)), strict=True))
        return cls(positions, [0, *accumulate(counts)], docs, weights)

    def __len__(self) -> int:
        return len(self.docs)

    def adjust(self, query: str, candidates: Candidates) -> list[tuple[int, float]]:
        """``candidates`` reordered by their scores plus the learnt weights of the query's
        terms, in units of the top candidate's score."""
        if len(candidates) < 2 or candidates[1][1] <= (1 - GATE) * candidates[0][1]:
            return list(candidates)
        wanted = {doc for doc, _ in candidates}
        sums = dict.fromkeys(wanted, 0)
        for term in learned_terms(query):
            i = self.positions.get(term)
            if i is None:
                continue
            for k in range(self.starts[i], self.starts[i + 1]):
                doc = self.docs[k]
                if doc in wanted:
                    sums[doc] += self.weights[k]
        if not any(sums.values()):
            return list(candidates)
        unit = candidates[0][1] / SCALE
        moved = [(doc, score + unit * max(-CAP, min(CAP, sums[doc]))) for doc, score in candidates]
        return sorted(moved, key=lambda kv: (-kv[1], kv[0]))

    def to_json(self, trained_on: str) -> dict[str, Any]:
        from stream_mcp.search._compiled import pack

        return {
            "trained_on": trained_on,
            "terms": sorted(self.positions, key=self.positions.__getitem__),
            "counts": pack("H", [b - a for a, b in pairwise(self.starts)]),
            "docs": pack("H", self.docs),
            "weights": pack("h", self.weights),
        }

    @classmethod
    def from_json(cls, data: Any, count: int) -> Corrections | None:
        """What :meth:`to_json` wrote, or ``None`` if it is malformed or names an operation
        past ``count``."""
        from stream_mcp.search._compiled import unpack, unpack_array

        try:
            terms = data["terms"]
            counts, docs = unpack("H", data["counts"]), unpack_array("H", data["docs"])
            weights = unpack_array("h", data["weights"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (
            isinstance(terms, list)
            and len(terms) == len(counts)
            and sum(counts) == len(docs) == len(weights)
            and max(docs, default=0) < count
        ):
            return None
        try:
            return cls.packed(terms, counts, docs, weights)
        except TypeError:  # a term that is no string (a list cannot even be a key)
            return None
