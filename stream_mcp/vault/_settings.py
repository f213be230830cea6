"""Reading a pydantic-settings class from the environment with one-line errors."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from pydantic_settings import BaseSettings

from stream_mcp.errors import ConfigError

S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **values: Any) -> S:
    """Build a settings class from the environment, turning bad values into a one-line error
    that names the environment variable (and never echoes the value)."""
    try:
        return cls(**values)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else cls.__name__
        info = cls.model_fields.get(name)
        alias = info.validation_alias if info is not None else None
        prefix = cls.model_config.get("env_prefix") or ""
        var = alias if isinstance(alias, str) else (prefix + name).upper()
        raise ConfigError(f"{var}: {first['msg']}", field=var) from None
