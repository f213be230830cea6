"""PostgreSQL (``STREAM_MCP_DATABASE_URL``): the schema, its migrations, the audit table.

Several replicas share one database: the event store (``events.PostgresEventStore``) and the
audit trail live there. Importing this package does not import psycopg; using it does, and
without the ``scale`` extra that is a one-line :class:`~stream_mcp.errors.ConfigError`.
"""

from stream_mcp.db._audit import PostgresAuditSink
from stream_mcp.db._driver import describe_url
from stream_mcp.db._migrate import (
    Migration,
    SchemaStatus,
    check_schema,
    migrate,
    migrations,
    schema_status,
)

__all__ = [
    "Migration",
    "PostgresAuditSink",
    "SchemaStatus",
    "check_schema",
    "describe_url",
    "migrate",
    "migrations",
    "schema_status",
]
