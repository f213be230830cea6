"""Intent search: maps what an agent asks for to the operations that do it.

``_text`` tokenises, ``_query`` reads a request (verbs, questions, negation, ids, outcomes),
``_spelling`` reads typos as the words meant, ``_vocabulary`` holds the chat-domain synonyms
and phrasings, ``_index`` is the BM25F index, ``_results``
what a search returns, ``_lazy`` the handle that builds the index on first use, and
``_compiled`` stores the index's postings in the compiled catalog artifact.
"""

from stream_mcp.search._compiled import compile_index
from stream_mcp.search._lazy import SearchIndex
from stream_mcp.search._results import MAX_LIMIT, SearchResult

__all__ = ["MAX_LIMIT", "SearchIndex", "SearchResult", "compile_index"]
