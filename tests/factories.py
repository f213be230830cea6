"""Small builders for test data that would otherwise be spelled out in every test module."""

from __future__ import annotations

from functools import cache
from typing import Any

from stream_mcp.catalog._build import Catalog, Operation, load_catalog


@cache
def shipped_catalog() -> Catalog:
    """The compiled catalog, parsed once per process: a dozen test modules read it at import
    to build their parameters, and a Catalog is immutable."""
    return load_catalog()


def make_operation(
    operation_id: str = "DoThing", *, method: str = "GET", path: str = "/x", **fields: Any
) -> Operation:
    """An :class:`Operation` with plausible defaults; pass only what the test is about."""
    defaults: dict[str, Any] = {
        "group": "test",
        "summary": operation_id,
        "description": operation_id,
        "user_token": True,
        "read_only": method == "GET",
        "destructive": False,
        "idempotent": method in ("GET", "PUT", "DELETE"),
    }
    return Operation(operation_id=operation_id, method=method, path=path, **{**defaults, **fields})


def isolated_vault_env(monkeypatch: Any, tmp_path: Any, **extra: str) -> dict[str, str]:
    """An environment with a fresh vault path and key, no Stream credentials and no keyring.

    Clears every ``STREAM_*`` variable the developer's shell may carry, so a test never
    reads real credentials; ``extra`` adds settings such as the log format.
    """
    import os

    import keyring
    from keyring.backends import fail

    from stream_mcp.vault import generate_key

    for name in list(os.environ):
        if name.startswith(("STREAM_API_", "STREAM_BASE_URL", "STREAM_MCP_")):
            monkeypatch.delenv(name)
    values = {
        "STREAM_MCP_VAULT_PATH": str(tmp_path / "vault.json"),
        "STREAM_MCP_VAULT_KEY": generate_key(),
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    return values


def unreachable_credentials(profile: str = "test") -> Any:
    """Credentials for a service whose Stream is never called (its URL refuses): for tests
    about what happens around a call (audit, schema checks), not the call itself."""
    from stream_mcp.auth import Credentials, Policy, Signer

    return Credentials(
        profile_name=profile,
        api_key="key",
        signer=Signer("factory-test-secret-0123456789abcdef0123"),
        base_url="http://127.0.0.1:9",
        policy=Policy(default_user="agent-bot", allowed_users=("*",)),
    )
