"""The one rule for names in a vault: profiles, HTTP API keys and master key ids."""

from __future__ import annotations

import re

from stream_mcp.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(value: object, field_name: str = "profile") -> str:
    if not isinstance(value, str) or not NAME.match(value):
        shown = repr(value)[:70]
        raise ConfigError(
            f"{field_name}: {shown} is not a valid name (letters, digits, '_', '.', '-'; "
            "at most 64 characters)",
            field=field_name,
        )
    return value
