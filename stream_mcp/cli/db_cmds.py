"""``stream-mcp db``: the PostgreSQL schema behind ``STREAM_MCP_DATABASE_URL``.

The server migrates on start, so ``db migrate`` is for doing it ahead of a rollout (or with
a more privileged role than the server's); several replicas may run it at once. ``db
status`` exits 1 while migrations are pending, so a deploy script can wait on it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import anyio

from stream_mcp.config import Settings, load_settings
from stream_mcp.errors import ConfigError


def register(subparsers: Any) -> None:
    db = subparsers.add_parser(
        "db",
        help="migrate or inspect the PostgreSQL schema",
        description="The PostgreSQL schema shared by every replica: event store and audit.",
    )
    db.set_defaults(func=lambda _args: _usage(db))
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    migrate = actions.add_parser("migrate", help="apply pending migrations (safe to run twice)")
    migrate.set_defaults(func=run_migrate)
    status = actions.add_parser("status", help="show the schema version; exit 1 when behind")
    status.set_defaults(func=run_status)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _dsn() -> str:
    dsn = load_settings(Settings).database_dsn()
    if dsn is None:
        raise ConfigError(
            "STREAM_MCP_DATABASE_URL is not set",
            field="STREAM_MCP_DATABASE_URL",
            hint="set it to a postgresql:// URL; without it the embedded SQLite store is used",
        )
    return dsn


def run_migrate(args: argparse.Namespace) -> int:
    from stream_mcp.db import describe_url, migrate

    dsn = _dsn()
    applied = anyio.run(migrate, dsn)
    where = describe_url(dsn)
    if not applied:
        print(f"{where}: schema is current")
    for step in applied:
        print(f"{where}: applied {step.version:04d}_{step.name}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from stream_mcp.db import describe_url, schema_status

    dsn = _dsn()
    status = anyio.run(schema_status, dsn)
    print(f"database: {describe_url(dsn)}")
    print(f"schema version: {status.current} (this stream-mcp knows {status.latest})")
    if status.ahead:
        print("the database is newer than this stream-mcp: upgrade it")
        return 1
    for step in status.pending:
        print(f"pending: {step.version:04d}_{step.name}")
    if status.pending:
        print("run: stream-mcp db migrate")
        return 1
    return 0
