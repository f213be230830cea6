"""The per-request object every handler receives.

A :class:`Call` bundles who is calling, the parsed inputs (path, query, JSON body and Stream's
JSON-encoded ``payload`` query parameter) and the store and clock, plus the small parsing
helpers handlers share so that bad input is always reported the same way (code 4).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stream_mcp.sandbox.auth import Caller
from stream_mcp.sandbox.clock import Clock, normalize_time
from stream_mcp.sandbox.errors import input_error, not_allowed
from stream_mcp.sandbox.filters import bounded_int
from stream_mcp.sandbox.services import Services
from stream_mcp.sandbox.store import Store

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One authenticated request, as handlers see it.

    ``base_url`` is where this sandbox is reached (for URLs it hands out), ``files`` the parts
    of a multipart upload, and ``services`` the app-wide helpers (rate limiter, credentials).
    """

    operation: str
    caller: Caller
    store: Store
    clock: Clock
    path: dict[str, str]
    query: Mapping[str, str]
    body: dict[str, Any]
    base_url: str = "http://127.0.0.1"
    files: dict[str, Upload] = field(default_factory=dict, repr=False)
    services: Services | None = field(default=None, repr=False)
    _payload: dict[str, Any] | None = field(default=None, repr=False)

    # -- identity --------------------------------------------------------------------------

    @property
    def is_server(self) -> bool:
        return self.caller.is_server

    @property
    def user_id(self) -> str | None:
        """The token's user, or ``None`` under server auth."""
        return self.caller.user_id

    def actor(self, *candidates: Any, required: str | None = None) -> str | None:
        """Resolve the acting user.

        Under a user token the actor is always the token's user; naming anyone else is refused
        (code 17). Under server auth the first non-empty candidate wins, and ``required`` is the
        input error raised (Stream's wording) when none is given.
        """
        ids = [c for c in candidates if isinstance(c, str) and c]
        if self.caller.user_id is not None:
            for candidate in ids:
                if candidate != self.caller.user_id:
                    raise not_allowed(
                        f"user '{self.caller.user_id}' cannot act on behalf of user '{candidate}'"
                    )
            return self.caller.user_id
        if ids:
            return ids[0]
        if required:
            raise input_error(required)
        return None

    # -- inputs ----------------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        """Stream's JSON ``payload`` query parameter, parsed once."""
        if self._payload is None:
            raw = self.query.get("payload")
            if raw is None or raw == "":
                self._payload = {}
            else:
                try:
                    parsed = json.loads(raw)
                except json.JSONDecodeError:
                    raise input_error("payload is not valid JSON", field="payload") from None
                if not isinstance(parsed, dict):
                    raise input_error("payload must be a JSON object", field="payload")
                self._payload = parsed
        return self._payload

    def query_str(self, name: str) -> str | None:
        value = self.query.get(name)
        return value if value else None

    def query_bool(self, name: str, default: bool = False) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise input_error(f"{name} must be true or false", field=name)

    def query_int(
        self, name: str, *, default: int, minimum: int = 0, maximum: int | None = None
    ) -> int:
        return bounded_int(
            self.query.get(name), name=name, default=default, minimum=minimum, maximum=maximum
        )

    def stamp(self) -> str:
        return self.clock.stamp()


def obj(source: Mapping[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    """A nested object field; absent or null → ``{}`` unless required."""
    value = source.get(name)
    if value is None:
        if required:
            raise input_error(f"{name} is a required field", field=name)
        return {}
    if not isinstance(value, dict):
        raise input_error(f"{name} must be an object", field=name)
    return value


def str_list(source: Mapping[str, Any], name: str) -> list[str]:
    """A list of strings field; absent or null → ``[]``."""
    value = source.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise input_error(f"{name} must be a list of strings", field=name)
    return list(value)


def opt_str(source: Mapping[str, Any], name: str) -> str | None:
    value = source.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise input_error(f"{name} must be a string", field=name)
    return value


def opt_bool(source: Mapping[str, Any], name: str) -> bool | None:
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise input_error(f"{name} must be a boolean", field=name)
    return value


def opt_time(source: Mapping[str, Any], name: str) -> str | None:
    """An RFC 3339 timestamp field, normalised to the stored format."""
    value = source.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise input_error(f"{name} must be an RFC 3339 timestamp", field=name)
    try:
        return normalize_time(value)
    except ValueError:
        raise input_error(f"{name} must be an RFC 3339 timestamp", field=name) from None


def user_ref(value: Any) -> str | None:
    """The id inside a ``user`` object (``{"id": ...}``), if any."""
    if isinstance(value, Mapping):
        uid = value.get("id")
        if isinstance(uid, str) and uid:
            return uid
    return None
