"""Shared fixtures: the catalog is immutable, so one instance serves the whole session."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import settings

from stream_mcp.catalog._build import Catalog, load_catalog

# Shared CI machines are noisy: property tests must not fail on a slow example.
settings.register_profile("stream-mcp", deadline=None)
settings.load_profile("stream-mcp")

ROOT = Path(__file__).resolve().parents[1]
SHARED_TSV = ROOT.parent / "shared" / "stream-chat-operations.tsv"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The CLI and servers configure structlog and stdlib logging, which are process-wide."""
    config = structlog.get_config()
    handlers = logging.root.handlers[:]
    level = logging.root.level
    yield
    structlog.configure(**config)
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)
