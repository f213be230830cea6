"""Small builders for test data that would otherwise be spelled out in every test module."""

from __future__ import annotations

from typing import Any

from stream_mcp.catalog import Operation


def make_operation(
    operation_id: str = "DoThing", *, method: str = "GET", path: str = "/x", **fields: Any
) -> Operation:
    """An :class:`Operation` with plausible defaults; pass only what the test is about."""
    defaults: dict[str, Any] = {
        "group": "test",
        "summary": operation_id,
        "description": operation_id,
        "user_token": True,
        "read_only": method == "GET",
        "destructive": False,
        "idempotent": method in ("GET", "PUT", "DELETE"),
    }
    return Operation(operation_id=operation_id, method=method, path=path, **{**defaults, **fields})
