"""Compile ``tool_specs/`` into ``stream_mcp/catalog/_catalog.json`` (run after editing a spec)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.catalog._build import ARTIFACT, compile_artifact

if __name__ == "__main__":
    catalog = compile_artifact()
    print(f"compiled {len(catalog)} operations into {ARTIFACT}")
