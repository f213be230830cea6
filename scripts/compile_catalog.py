"""Compile ``tool_specs/`` into ``stream_mcp/catalog/_catalog.json`` (run after editing a spec).

The artifact also carries the search index's postings, so run it after editing
``stream_mcp/search/`` too; ``tests/test_startup.py`` fails while the artifact is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.catalog._build import ARTIFACT, compile_artifact
from stream_mcp.search import compile_index

if __name__ == "__main__":
    catalog = compile_artifact(sections={"search": compile_index})
    print(f"compiled {len(catalog)} operations and their search index into {ARTIFACT}")
