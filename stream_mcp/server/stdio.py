"""Stdio transport with a guard in front of the SDK's message parser.

The SDK parses each line with pydantic, whose recursion limit turns a deeply nested message
into a parse failure that is dropped without an answer or a log line. This guard measures a
line's nesting before the SDK sees it (in a worker thread for long lines, so the event loop
never scans megabytes) and answers a too-deep request itself: a tool call gets an ``isError``
result naming ``arguments``, any other request a JSON-RPC error, a notification a log line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import TextIOWrapper
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from stream_mcp.limits import MAX_DEPTH
from stream_mcp.observability import get_logger
from stream_mcp.server._unicode import encodable

# The JSON-RPC envelope adds a few levels (request, params, arguments, operation arguments)
# to the arguments' own MAX_DEPTH; the SDK's parser gives up well beyond this.
MAX_WIRE_DEPTH = MAX_DEPTH + 16
SCAN_INLINE_CHARS = 64 * 1024
# A JSON string literal, written unrolled so a megabyte-long string is one fast scan.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_ID = re.compile(r'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')
_METHOD = re.compile(r'"method"\s*:\s*"([^"\\]{1,100})"')
_TOOL = re.compile(
    r'"params"\s*:\s*\{\s*(?:"[^"\\]*"\s*:\s*(?:"(?:[^"\\]|\\.)*"|[^{\[,]*)\s*,\s*)*?"name"\s*:\s*"([^"\\]{1,200})"'
)

log = get_logger("stream_mcp.server")


def nesting_depth(line: str, limit: int = MAX_WIRE_DEPTH) -> int:
    """The deepest bracket nesting in a JSON text, counting no further than ``limit + 1``."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub('""', line))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def _scalars_outside_nesting(line: str) -> str:
    """The text of the top-level object before its first nested value and after its last."""
    body = line.strip()
    first = min((i for i in (body.find("{", 1), body.find("[", 1)) if i > 0), default=len(body))
    last = max(body.rfind("}", 0, len(body) - 1), body.rfind("]", 0, len(body) - 1))
    return body[:first] + " " + (body[last + 1 :] if last > first else "")


def refusal_for(line: str, depth: int) -> types.JSONRPCMessage | None:
    """The answer to a request nested too deeply to parse, or None for a notification."""
    outer = _scalars_outside_nesting(line)
    found = _ID.search(outer)
    if found is None:
        return None
    request_id: Any = json.loads(found.group(1))
    method = _METHOD.search(outer)
    message = f"arguments: nested deeper than {MAX_DEPTH} levels (the message nests {depth}+)"
    if method is not None and method.group(1) == "tools/call" and _TOOL.search(line[:4096]):
        payload = {
            "error": "validation_error",
            "message": message,
            "field": "arguments",
            "hint": "flatten the value; Stream's own objects nest only a few levels",
            "retryable": False,
        }
        result = types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(payload))],
            structured_content=payload,
            is_error=True,
        )
        return types.JSONRPCResponse(
            jsonrpc="2.0",
            id=request_id,
            result=result.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
    return types.JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=types.ErrorData(code=types.INVALID_REQUEST, message=message),
    )


def _without_lone_surrogates(line: str) -> str:
    """The line with lone UTF-16 surrogate escapes (``"\\ud800"``) replaced by U+FFFD.

    JSON allows them, the SDK's parser refuses them and drops the message unanswered; the
    tools then see a replacement character and refuse the value with a clear error.
    """
    if _SURROGATE_ESCAPE.search(line) is None:
        return line
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return line  # the SDK answers what it cannot parse
    return json.dumps(encodable(message), ensure_ascii=False) + "\n"


class _GuardedLines:
    """Lines from stdin; too-deep requests are answered here and never reach the SDK."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._writer: Any = None
        self._ready = anyio.Event()

    def attach(self, write_stream: Any) -> None:
        self._writer = write_stream
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        async for line in self._source:
            if line.count("{") + line.count("[") <= MAX_WIRE_DEPTH:
                depth = 0  # too few brackets to nest that deep: nothing to scan
            elif len(line) > SCAN_INLINE_CHARS:
                depth = await anyio.to_thread.run_sync(nesting_depth, line)
            else:
                depth = nesting_depth(line)
            if depth <= MAX_WIRE_DEPTH:
                yield _without_lone_surrogates(line)
                continue
            answer = refusal_for(line, depth)
            log.warning("message_refused", reason="nesting", depth=depth, answered=bool(answer))
            if answer is not None:
                await self._ready.wait()
                await self._writer.send(SessionMessage(answer))


@asynccontextmanager
async def guarded_stdio_server() -> AsyncIterator[tuple[Any, Any]]:
    """``stdio_server()`` whose input first passes the nesting guard."""
    source = anyio.wrap_file(
        TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="")
    )
    lines = _GuardedLines(source)
    async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
        lines.attach(write_stream)
        yield read_stream, write_stream
