"""The MCP layer: tool definitions, confirmation, ``isError`` results and the HTTP transport.

It is thin on purpose: every decision is the service's; this package only speaks MCP.
"""

from stream_mcp.server._server import CALLER_SCOPE_KEY, build_server

__all__ = ["CALLER_SCOPE_KEY", "build_server"]
