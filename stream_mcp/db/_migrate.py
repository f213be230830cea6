"""Schema migrations: numbered SQL files in ``migrations/``, applied in order, exactly once.

Every replica may start at the same moment, so the runner takes a transaction-level advisory
lock first: the others wait, then find nothing left to do. Each run is one transaction
(PostgreSQL's DDL is transactional), so a failed step leaves the schema as it was. The
``schema_migrations`` table records what ran; a database newer than this code is refused,
since older code could misread tables it does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from stream_mcp.db._driver import connect, describe_url, failure, require
from stream_mcp.errors import EventStoreError

if TYPE_CHECKING:
    from psycopg import AsyncConnection

# pg_advisory_xact_lock(int4, int4) keys: the first names stream-mcp, the second the purpose.
LOCK_SPACE = 0x534D4350 & 0x7FFFFFFF  # "SMCP"
MIGRATION_LOCK = 1
APPEND_LOCK_SPACE = LOCK_SPACE + 1  # with hashtext(profile): see events/_postgres.py
_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands against the migrations this code carries."""

    current: int  # the newest applied version, 0 for an empty database
    latest: int  # the newest version this code knows
    pending: tuple[Migration, ...]

    @property
    def ahead(self) -> bool:
        return self.current > self.latest


def migrations() -> tuple[Migration, ...]:
    """The packaged steps, in order; their numbers must run 1, 2, 3… without gaps."""
    found: list[Migration] = []
    for entry in resources.files("stream_mcp.db.migrations").iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise EventStoreError("the packaged migrations are not numbered 1..N (broken install)")
    return tuple(found)


async def schema_status(url: str) -> SchemaStatus:
    """Read-only: what :func:`migrate` would do."""
    psycopg = require()
    connection = await connect(url)
    try:
        return await _status(connection)
    except psycopg.Error as exc:
        raise failure(url, exc, "read the schema version") from None
    finally:
        await connection.close()


async def migrate(url: str) -> tuple[Migration, ...]:
    """Apply the pending steps; return them (empty when the schema was current)."""
    psycopg = require()
    connection = await connect(url)
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_SPACE, MIGRATION_LOCK)
            )
            await connection.execute(_LEDGER)
            status = await _status(connection)
            _refuse_newer(url, status)
            for step in status.pending:
                await connection.execute(step.sql.encode())
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (step.version, step.name),
                )
        return status.pending
    except psycopg.Error as exc:
        raise failure(url, exc, "migrate the schema") from None
    finally:
        await connection.close()


async def _status(connection: AsyncConnection) -> SchemaStatus:
    known = migrations()
    cursor = await connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cursor.fetchone()
    applied: set[int] = set()
    if row and row[0]:
        cursor = await connection.execute("SELECT version FROM schema_migrations")
        applied = {int(r[0]) for r in await cursor.fetchall()}
    return SchemaStatus(
        current=max(applied, default=0),
        latest=known[-1].version if known else 0,
        pending=tuple(m for m in known if m.version not in applied),
    )


async def check_schema(url: str) -> None:
    """Where migrations are run by hand (``STREAM_MCP_DB_MIGRATE=false``, ``stream-mcp db
    migrate`` in a release step): refuse to start on a schema this code does not match."""
    status = await schema_status(url)
    _refuse_newer(url, status)
    if status.pending:
        raise EventStoreError(
            f"PostgreSQL {describe_url(url)}: the schema is at version {status.current}, this "
            f"stream-mcp needs {status.latest}; run `stream-mcp db migrate`",
            hint="STREAM_MCP_DB_MIGRATE=false leaves migrations to you; unset it to migrate "
            "on start",
            retryable=False,
        )


def _refuse_newer(url: str, status: SchemaStatus) -> None:
    if status.ahead:
        raise EventStoreError(
            f"PostgreSQL {describe_url(url)}: the schema is at version {status.current}, newer "
            f"than this stream-mcp knows ({status.latest}); upgrade stream-mcp",
            hint="every replica must run the same (or a newer) stream-mcp version",
            retryable=False,
        )
