"""Audit rows in PostgreSQL, written behind the calls they record.

``AuditLog.record`` runs in the service's ``finally`` and must stay synchronous and quick, so
the sink only queues a row (bounded); one background task writes the queue in batches. A
database outage therefore never holds a call: the writer logs the failure loudly, keeps the
rows and retries, and a full queue is logged row by row (the structlog line, written first,
still holds every record). On a clean shutdown the queue is flushed, for up to
``FLUSH_TIMEOUT`` seconds; whatever could not be written is counted in an error line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from stream_mcp.db._driver import connect, describe_url
from stream_mcp.db._migrate import migrate
from stream_mcp.observability import get_logger

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import TupleRow

MAX_QUEUED = 10_000
BATCH = 200
WRITE_TIMEOUT = 10.0
FLUSH_TIMEOUT = 5.0
RETRY_MAX = 5.0
COLUMNS = (
    "time",
    "principal",
    "profile",
    "operation",
    "acting_user",
    "auth_mode",
    "status",
    "http_status",
    "stream_code",
    "latency_ms",
    "request_id",
    "call_id",
)
_INSERT = (
    "INSERT INTO audit (time, principal, profile, operation, acting_user, auth_mode, status,"
    " http_status, stream_code, latency_ms, request_id, call_id)"
    " VALUES (%s::timestamptz, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)

log = get_logger("stream_mcp.audit")


class PostgresAuditSink:
    """An :class:`~stream_mcp.observability.audit.AuditSink` writing the ``audit`` table.

    Use :meth:`running`, which owns the writer task and the final flush.
    """

    def __init__(self, url: str, *, max_queued: int = MAX_QUEUED) -> None:
        self.location = describe_url(url)
        self._url = url
        self._send, self._receive = anyio.create_memory_object_stream[dict[str, Any]](max_queued)
        self._pending: list[dict[str, Any]] = []  # taken from the queue, not yet written
        self._failing = False
        self._drained = anyio.Event()
        self.written = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"PostgresAuditSink({self.location!r})"

    @classmethod
    @asynccontextmanager
    async def running(
        cls, url: str, *, migrate_schema: bool = True
    ) -> AsyncIterator[PostgresAuditSink]:
        """The sink with its writer running; on exit, flush (bounded) and report losses."""
        if migrate_schema:
            await migrate(url)
        sink = cls(url)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sink._write_all)
            try:
                yield sink
            finally:
                sink._send.close()
                with anyio.CancelScope(shield=True), anyio.move_on_after(FLUSH_TIMEOUT):
                    await sink._drained.wait()
                tasks.cancel_scope.cancel()
                sink._report_losses()

    @property
    def queued(self) -> int:
        return len(self._pending) + self._receive.statistics().current_buffer_used

    def submit(self, row: Mapping[str, Any]) -> None:
        try:
            self._send.send_nowait({name: row.get(name) for name in COLUMNS})
        except anyio.WouldBlock:
            self.dropped += 1
            log.error(
                "audit_row_dropped",
                reason="queue full (database slow or down)",
                database=self.location,
                dropped=self.dropped,
                operation=row.get("operation"),
                request_id=row.get("request_id"),
            )
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.dropped += 1
            log.error(
                "audit_row_dropped",
                reason="audit sink closed",
                database=self.location,
                operation=row.get("operation"),
                request_id=row.get("request_id"),
            )

    # ------------------------------------------------------------------ the writer

    async def _write_all(self) -> None:
        connection: AsyncConnection[TupleRow] | None = None
        delay = 0.2
        try:
            async for first in self._receive:
                self._pending.append(first)
                while len(self._pending) < BATCH:
                    try:
                        self._pending.append(self._receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                while self._pending:
                    try:
                        connection = connection or await connect(self._url)
                        await self._write(connection, self._pending)
                    except Exception as exc:
                        await _discard(connection)
                        connection = None
                        self._failed(exc)
                        await anyio.sleep(delay)
                        delay = min(delay * 2, RETRY_MAX)
                        continue
                    self.written += len(self._pending)
                    self._pending.clear()
                    delay = 0.2
                    if self._failing:
                        self._failing = False
                        log.warning("audit_writes_resumed", database=self.location)
            self._drained.set()
        finally:
            await _discard(connection)

    async def _write(
        self, connection: AsyncConnection[TupleRow], rows: list[dict[str, Any]]
    ) -> None:
        with anyio.fail_after(WRITE_TIMEOUT):
            async with connection.transaction(), connection.cursor() as cursor:
                await cursor.executemany(
                    _INSERT, [tuple(row[name] for name in COLUMNS) for row in rows]
                )

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            lines = str(exc).strip().splitlines()
            log.error(
                "audit_write_failed",
                database=self.location,
                queued=self.queued,
                error=exc.__class__.__name__,
                reason=lines[0][:200] if lines else "timed out",
                retrying=True,
            )

    def _report_losses(self) -> None:
        lost = self.queued
        if lost:
            log.error(
                "audit_rows_not_stored",
                database=self.location,
                count=lost,
                reason="the database did not accept them before shutdown",
            )


async def _discard(connection: AsyncConnection[TupleRow] | None) -> None:
    if connection is not None:
        try:
            await connection.close()
        except Exception as exc:
            log.debug("audit_connection_close_failed", error=exc.__class__.__name__)
