"""Text that can cross the wire: JSON allows lone UTF-16 surrogates, UTF-8 does not."""

from __future__ import annotations

from typing import Any


def encodable(value: Any) -> Any:
    """``value`` with every lone surrogate replaced (new containers only where needed)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encodable(v) for v in value]
    return value
