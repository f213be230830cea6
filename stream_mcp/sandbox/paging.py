"""Cursor pagination (``next``/``prev``) for the Query* operations that use it.

Stream's cursors are opaque strings; the sandbox's encode an offset. A cursor from another
sandbox or a made-up string is an input error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.filters import bounded_int

T = TypeVar("T")


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def offset_of(value: Any, name: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(value).encode()))["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise input_error(f"{name} is not a cursor this sandbox issued", field=name) from None


def page(
    items: Sequence[T],
    options: Mapping[str, Any],
    *,
    default_limit: int,
    max_limit: int,
) -> tuple[list[T], dict[str, str]]:
    """One page of ``items`` per ``limit``/``next``/``prev``, plus the cursors to go on."""
    limit = bounded_int(
        options.get("limit"), name="limit", default=default_limit, minimum=1, maximum=max_limit
    )
    offset = 0
    if options.get("next"):
        offset = offset_of(options["next"], "next")
    elif options.get("prev"):
        offset = offset_of(options["prev"], "prev")
    chunk = list(items[offset : offset + limit])
    cursors: dict[str, str] = {}
    if offset + limit < len(items):
        cursors["next"] = cursor(offset + limit)
    if offset:
        cursors["prev"] = cursor(max(0, offset - limit))
    return chunk, cursors
