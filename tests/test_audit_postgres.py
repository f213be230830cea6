"""Audit rows in PostgreSQL: written behind the calls, flushed on shutdown, never blocking."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
import structlog

from stream_mcp.config import Settings
from stream_mcp.db import PostgresAuditSink, migrate
from stream_mcp.db import _audit as audit_module
from stream_mcp.errors import UnknownOperation
from stream_mcp.observability import AuditLog, AuditRecord
from stream_mcp.runtime import open_feed, open_service
from tests.factories import unreachable_credentials
from tests.pg_service import Cluster


def record(n: int, **changes: object) -> AuditRecord:
    fields: dict[str, object] = {
        "principal": "local",
        "profile": "prod",
        "operation": "SendMessage",
        "acting_user": f"user-{n}",
        "auth_mode": "user",
        "status": "ok",
        "http_status": 201,
        "stream_code": None,
        "latency_ms": 12.5 + n,
        "request_id": f"req-{n}",
    }
    fields.update(changes)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def rows(url: str) -> list[dict[str, object]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as db:
        return list(db.execute("SELECT * FROM audit ORDER BY id"))


async def test_records_reach_the_table_with_the_jsonl_fields(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with PostgresAuditSink.running(pg_url) as sink:
        audit = AuditLog(path, sink=sink)
        audit.record(record(1))
        audit.record(record(2, status="stream_api_error", http_status=400, stream_code=4))
    stored = rows(pg_url)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(stored) == 2
    for row, line in zip(stored, lines, strict=True):
        for name, value in line.items():
            if name == "time":
                assert row["time"] == datetime.fromisoformat(value)
            else:
                assert row[name] == value
    assert stored[1]["stream_code"] == 4 and stored[1]["request_id"] == "req-2"


async def test_a_call_through_the_service_is_audited_in_the_database(pg_url: str) -> None:
    credentials = unreachable_credentials()
    settings = Settings(database_url=pg_url, events_sync_interval=0)
    async with open_service(settings, credentials) as service:
        with pytest.raises(UnknownOperation):
            await service.execute("NoSuchOperation", {})
        # The feed is on PostgreSQL too, under the profile's name.
        async with open_feed(settings, service) as feed:
            assert feed is not None
            assert type(feed.store).__name__ == "PostgresEventStore"
            await feed.store.ping()
    (row,) = rows(pg_url)
    assert row["operation"] == "NoSuchOperation" and row["status"] == "unknown_operation"
    assert row["profile"] == "test"


async def test_an_unreachable_database_never_holds_a_call_and_losses_are_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(audit_module, "FLUSH_TIMEOUT", 0.5)
    url = f"postgresql://app:pw-never-logged@127.0.0.1:{port}/db"
    with structlog.testing.capture_logs() as logs:
        async with PostgresAuditSink.running(url, migrate_schema=False) as sink:
            audit = AuditLog(sink=sink)
            started = time.perf_counter()
            for n in range(50):
                audit.record(record(n))
            assert time.perf_counter() - started < 0.5
            await _until(lambda: any(e["event"] == "audit_write_failed" for e in logs))
    lost = [e for e in logs if e["event"] == "audit_rows_not_stored"]
    assert lost and lost[0]["count"] == 50
    assert "pw-never-logged" not in repr(logs)


async def test_a_full_queue_drops_loudly_instead_of_blocking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit_module, "FLUSH_TIMEOUT", 0.2)
    sink = PostgresAuditSink("postgresql://app@127.0.0.1:9/db", max_queued=3)
    with structlog.testing.capture_logs() as logs:
        for n in range(5):
            sink.submit({"operation": f"op{n}", "request_id": f"r{n}"})
    assert sink.dropped == 2
    assert [e["request_id"] for e in logs if e["event"] == "audit_row_dropped"] == ["r3", "r4"]


async def test_rows_queued_during_an_outage_are_written_when_it_ends(
    private_cluster: Cluster,
) -> None:
    url = private_cluster.url()
    await migrate(url)
    async with PostgresAuditSink.running(url) as sink:
        audit = AuditLog(sink=sink)
        audit.record(record(0))
        await _until(lambda: sink.written == 1)
        private_cluster.stop()
        for n in range(1, 4):
            audit.record(record(n))
        await _until(lambda: sink._failing)
        private_cluster.start()
        await _until(lambda: sink.written == 4, timeout=20)
    assert [r["request_id"] for r in rows(url)] == ["req-0", "req-1", "req-2", "req-3"]


async def _until(check: object, timeout: float = 10.0) -> None:
    import anyio

    assert callable(check)
    with anyio.fail_after(timeout):
        while not check():
            await anyio.sleep(0.05)
