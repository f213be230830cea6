"""The search index handle: free to make, built on its first search, immutable after.

A server lists its tools long before anyone searches, so start-up must not build the index;
nor even import the text analysis behind it. For the built-in catalog the first search decodes
the postings precomputed in the compiled artifact (see ``_compiled``); any other catalog, such
as one read with ``--spec``, has them computed then.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from stream_mcp.search import _compiled
from stream_mcp.search._compiled import Postings

if TYPE_CHECKING:
    from stream_mcp.catalog import Catalog
    from stream_mcp.search._index import _Engine
    from stream_mcp.search._query import QueryPlan
    from stream_mcp.search._results import SearchResult


class SearchIndex:
    """BM25F index over a catalog's operations, built on first use; then immutable.

    The first search builds it under a lock, so concurrent first searches build it once.
    Safe to share. ``postings``, if given, are used instead of the catalog's. ``examples``
    False leaves out what the catalog's example requests teach (their votes, ``_examples``,
    and the corrections learnt from them, ``_learned``), to
    measure the rules alone.
    """

    def __init__(
        self, catalog: Catalog, postings: Postings | None = None, *, examples: bool = True
    ) -> None:
        self._catalog = catalog
        self._postings = postings
        self._examples = examples
        self._engine: _Engine | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> SearchIndex:
        return cls(catalog)

    @property
    def is_built(self) -> bool:
        return self._engine is not None

    def build(self) -> None:
        """Build now if not yet built: a server does this in a thread once it is up, so
        that the first search neither waits for the build nor holds up its event loop."""
        self._built()

    def _built(self) -> _Engine:
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = _build(self._catalog, self._postings, self._examples)
                engine = self._engine
        return engine

    def search(self, query: str, limit: int = 5) -> SearchResult:
        """Rank operations for a natural-language request."""
        return self._built().search(query, limit)

    def is_strong(self, plan: QueryPlan, doc: int) -> bool:
        return self._built().is_strong(plan, doc)

    def scores(self, plan: QueryPlan) -> dict[int, float]:
        return self._built().scores(plan)

    def overview(self) -> list[dict[str, Any]]:
        return self._built().overview()


def _build(catalog: Catalog, postings: Postings | None, examples: bool) -> _Engine:
    from stream_mcp.search._examples import ExampleVotes
    from stream_mcp.search._index import _Engine, build_postings

    decoded = _compiled.decode_section(catalog.operations, catalog.precomputed.get("search"))
    if decoded is None:
        built = ExampleVotes.build(op.examples for op in catalog) if examples else None
        return _Engine(catalog, postings or build_postings(catalog), examples=built)
    votes = learned = None
    if examples:  # the corrections are trained at compile time only: they take seconds
        votes = decoded.examples or ExampleVotes.build(op.examples for op in catalog)
        learned = decoded.learned
    return _Engine(
        catalog, postings or decoded.postings, decoded.cues, decoded.facts, votes, learned
    )
