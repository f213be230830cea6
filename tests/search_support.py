"""What the search rule tests share."""

from __future__ import annotations

from stream_mcp.search import SearchIndex


def top(index: SearchIndex, query: str) -> str:
    """The operation ranked first for ``query``."""
    return index.search(query).hits[0].operation_id
