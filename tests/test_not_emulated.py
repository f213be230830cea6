"""Through MCP, an operation the sandbox lacks says so plainly: not an input error, no retry."""

from __future__ import annotations

from mcp import Client

from stream_mcp.config import Settings
from stream_mcp.runtime import embedded_sandbox, open_service
from stream_mcp.server import build_server

SECRET = "not-emulated-secret-0123456789abcdef"


async def test_not_emulated_names_itself_and_what_the_sandbox_has(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("STREAM_API_KEY", "ne-key")
    monkeypatch.setenv("STREAM_API_SECRET", SECRET)
    settings = Settings(data_dir=tmp_path)
    with embedded_sandbox(settings, ":memory:") as handle:
        async with (
            open_service(settings, handle.credentials) as service,
            Client(build_server(service)) as client,
        ):
            result = await client.call_tool(
                "execute_operation",
                {"operation_id": "GroupedQueryChannels", "arguments": {}},
            )
    payload = result.structured_content or {}
    assert result.is_error and payload["error"] == "not_emulated"
    assert payload["retryable"] is False and "field" not in payload
    assert "real Stream" in payload["hint"]
    assert payload["alternatives"] and all(isinstance(a, str) for a in payload["alternatives"])
