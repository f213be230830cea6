"""psycopg, imported only when ``STREAM_MCP_DATABASE_URL`` is set, and the database's name.

The embedded defaults (SQLite, the JSONL audit file) need no driver, so a plain install must
not pay for one: the ``scale`` extra brings psycopg and its pool. A URL carries a password, so
anything we print or log names the database with :func:`describe_url`, never the URL itself.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from stream_mcp.errors import ConfigError, EventStoreError

if TYPE_CHECKING:
    from psycopg import AsyncConnection

CONNECT_TIMEOUT = 2.0  # seconds: a database that is down must be noticed quickly
EXTRA_HINT = "install the PostgreSQL support: pip install 'stream-mcp[scale]'"


def require(module: str = "psycopg") -> ModuleType:
    """Import ``psycopg`` or ``psycopg_pool``, or say which extra brings them."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"STREAM_MCP_DATABASE_URL is set but {module} is not installed",
            field="STREAM_MCP_DATABASE_URL",
            hint=EXTRA_HINT,
        ) from None


def _parts(url: str) -> dict[str, str]:
    """The URL's fields. libpq's parse errors quote the text, password included: never shown."""
    module = require("psycopg.conninfo")
    try:
        return {k: str(v) for k, v in module.conninfo_to_dict(url).items() if v is not None}
    except Exception:
        raise ConfigError(
            "STREAM_MCP_DATABASE_URL is not a valid PostgreSQL URL",
            field="STREAM_MCP_DATABASE_URL",
            hint="postgresql://USER:PASSWORD@HOST:PORT/DBNAME",
        ) from None


def describe_url(url: str) -> str:
    """``user@host:port/dbname``: enough to tell databases apart, without the password."""
    try:
        parts = _parts(url)
    except ConfigError:
        return "(unparsable database URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def conninfo(url: str, **overrides: str) -> str:
    """The URL with our connection defaults (a short connect timeout, an application name)."""
    module = require("psycopg.conninfo")
    given = _parts(url)
    values: dict[str, str] = {
        "connect_timeout": str(int(CONNECT_TIMEOUT)),
        "application_name": "stream-mcp",
        **overrides,
    }
    for name in given:
        values.pop(name, None)  # what the operator wrote wins
    return str(module.make_conninfo(url, **values))


def failure(url: str, exc: BaseException, doing: str) -> EventStoreError:
    """One line saying which database failed and how; psycopg's messages hold no password."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if exc.__class__.__name__ in ("PoolTimeout", "TimeoutError"):
        reason = "no connection within the timeout (is PostgreSQL running?)"
    try:
        password = _parts(url).get("password")
    except ConfigError:
        password = None
    if password:
        reason = reason.replace(password, "***")  # libpq never quotes it; be sure anyway
    return EventStoreError(
        f"PostgreSQL {describe_url(url)}: cannot {doing}: {reason}",
        hint="check that the database is up and STREAM_MCP_DATABASE_URL is right",
    )


async def connect(url: str, *, autocommit: bool = True) -> AsyncConnection:
    """One connection, failing within about :data:`CONNECT_TIMEOUT` seconds."""
    psycopg = require()
    dsn = conninfo(url)
    try:
        connection: AsyncConnection = await psycopg.AsyncConnection.connect(
            dsn, autocommit=autocommit
        )
    except psycopg.Error as exc:
        raise failure(url, exc, "connect") from None
    return connection
