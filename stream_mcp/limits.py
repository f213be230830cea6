"""Caps on everything an agent sends, so no input can exhaust the server.

Each cap is checked before any real work, with a walk that stops as soon as a cap is passed,
so a 10 MB string or a 1,000-level object costs no more to refuse than a small one. A
refusal is a :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stream_mcp.errors import ValidationError

MAX_ARGUMENT_BYTES = 256 * 1024  # an operation's arguments, as compact JSON
MAX_UPLOAD_ARGUMENT_BYTES = 48 * 1024 * 1024  # a multipart upload's arguments (base64 file)
MAX_DEPTH = 32  # nesting of an operation's arguments
MAX_QUERY_CHARS = 1000  # a search request
MAX_SELECT_CHARS = 1000  # a JMESPath expression
MAX_SELECT_DEPTH = 32  # nesting of brackets and parentheses in a JMESPath expression
MAX_PATH_PARAM_CHARS = 255  # a path parameter where Stream's spec gives no tighter bound
BYTES_PER_TOKEN = 4  # the one token estimate: compact UTF-8 JSON bytes / 4


def estimate_tokens(value: Any) -> int:
    """Tokens an LLM reads for ``value`` sent as compact JSON (UTF-8 bytes / 4, rounded up)."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class Measure:
    """What a walk of a JSON value found: its approximate size in bytes and its depth."""

    size: int
    depth: int


def measure(value: Any, *, field: str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Measure:
    """Size and depth of ``value``; raise as soon as either exceeds its cap.

    The size is the compact JSON length, counted without encoding anything (strings by
    character, numbers by a fixed width), so it is a close estimate, never an undercount
    of structure. The walk is iterative: depth cannot exhaust the Python stack.
    """
    size = 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise ValidationError(
                    f"{field}: nested deeper than {max_depth} levels",
                    field=field,
                    hint="flatten the value; Stream's own objects nest only a few levels",
                )
            deepest = max(deepest, depth)
            size += 2 + max(len(item) - 1, 0)
            if isinstance(item, dict):
                for key, sub in item.items():
                    size += len(key) + 3 if isinstance(key, str) else 8
                    stack.append((sub, depth + 1))
            else:
                stack.extend((sub, depth + 1) for sub in item)
        elif isinstance(item, str):
            size += len(item) + 2
        else:
            size += 8
        if size > max_bytes:
            raise ValidationError(
                f"{field}: larger than {max_bytes // 1024} KB",
                field=field,
                hint="send less per call: page through with limit/offset or split the batch",
            )
    return Measure(size, deepest)


def check_text(value: Any, *, field: str, max_chars: int) -> str:
    """``value`` if it is a string of at most ``max_chars`` characters."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected a string", field=field)
    if len(value) > max_chars:
        raise ValidationError(
            f"{field}: {len(value)} characters, more than the {max_chars} allowed", field=field
        )
    return value


def check_select(select: str) -> str:
    """A JMESPath expression of bounded length and nesting, before it is parsed."""
    check_text(select, field="select", max_chars=MAX_SELECT_CHARS)
    depth = deepest = 0
    quote: str | None = None
    escaped = False
    for char in select:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_SELECT_DEPTH:
        raise ValidationError(
            f"select: nested deeper than {MAX_SELECT_DEPTH} levels of brackets",
            field="select",
            hint='project a few paths, e.g. select="messages[].{id: id, text: text}"',
        )
    return select
