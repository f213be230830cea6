"""Reading a pydantic-settings class from the environment with one-line errors.

The helper lives in ``stream_mcp.config``; the vault re-exports it for its own settings.
"""

from stream_mcp.config import load_settings

__all__ = ["load_settings"]
