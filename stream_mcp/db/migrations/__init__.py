"""Numbered SQL steps, applied in order by ``stream_mcp.db._migrate``; never edit a shipped one."""
