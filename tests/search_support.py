"""What the search rule tests share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stream_mcp.search import SearchIndex

ROOT = Path(__file__).resolve().parents[1]


def top(index: SearchIndex, query: str) -> str:
    """The operation ranked first for ``query``."""
    return index.search(query).hits[0].operation_id


def outputs_across_hash_seeds(code: str, seeds: tuple[str, ...] = ("1", "2", "3")) -> set[str]:
    """What ``code`` prints in fresh processes that hash strings differently: one output
    if nothing it prints depends on a set's or dict's order of strings."""
    return {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for seed in seeds
    }
