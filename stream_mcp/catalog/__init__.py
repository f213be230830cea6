"""The catalog: every Stream operation with its wire facts and curated agent metadata.

Built from ``tool_specs/`` (compiled ahead of time into ``_catalog.json``, which also carries
what later layers precompute from it, such as the search postings) or from Stream's official
OpenAPI file. ``schemas`` compiles an operation into a tool input schema, and
``lint`` checks compiled schemas against what MCP clients accept.
"""

from stream_mcp.catalog._build import Catalog, Operation, Param, load_catalog

__all__ = ["Catalog", "Operation", "Param", "load_catalog"]
