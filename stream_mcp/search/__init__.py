"""Intent search: maps what an agent asks for to the operations that do it.

``_text`` tokenises, ``_query`` reads a request (verbs, questions, negation, ids),
``_vocabulary`` holds the chat-domain synonyms, and ``_index`` is the BM25F index.
"""

from stream_mcp.search._index import MAX_LIMIT, SearchIndex, SearchResult

__all__ = ["MAX_LIMIT", "SearchIndex", "SearchResult"]
