"""stream-mcp: the Stream Chat REST API as a small, safe MCP surface for agents."""

__version__ = "0.1.0"
