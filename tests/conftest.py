"""Shared fixtures: the catalog is immutable, so one instance serves the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from stream_mcp.catalog import Catalog, load_catalog

# Shared CI machines are noisy: property tests must not fail on a slow example.
settings.register_profile("stream-mcp", deadline=None)
settings.load_profile("stream-mcp")

ROOT = Path(__file__).resolve().parents[1]
SHARED_TSV = ROOT.parent / "shared" / "stream-chat-operations.tsv"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()
