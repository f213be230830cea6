"""The PostgreSQL schema: migrations from empty, re-runs, racing replicas, newer databases."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from stream_mcp.cli import main
from stream_mcp.db import Migration, migrate, migrations, schema_status
from stream_mcp.errors import EventStoreError


def _tables(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    return {row[0] for row in rows}


def _ledger(url: str) -> list[tuple[int, str]]:
    import psycopg

    with psycopg.connect(url) as db:
        return [(r[0], r[1]) for r in db.execute("SELECT version, name FROM schema_migrations")]


def test_the_packaged_steps_are_numbered_from_one() -> None:
    steps = migrations()
    assert [m.version for m in steps] == list(range(1, len(steps) + 1))
    assert [m.name for m in steps[:2]] == ["events", "audit"]


async def test_an_empty_database_is_migrated_and_a_rerun_does_nothing(pg_url: str) -> None:
    before = await schema_status(pg_url)
    assert before.current == 0 and len(before.pending) == len(migrations())
    applied = await migrate(pg_url)
    assert [m.version for m in applied] == [m.version for m in migrations()]
    assert {"events", "event_deliveries", "event_members", "audit", "schema_migrations"} <= (
        _tables(pg_url)
    )
    assert await migrate(pg_url) == ()
    after = await schema_status(pg_url)
    assert after.current == after.latest and after.pending == ()
    assert sorted(_ledger(pg_url)) == [(m.version, m.name) for m in migrations()]


async def test_replicas_migrating_at_once_apply_each_step_once(pg_url: str) -> None:
    results: list[tuple[Migration, ...]] = []

    async def runner() -> None:
        results.append(await migrate(pg_url))

    async with anyio.create_task_group() as tasks:
        for _ in range(5):
            tasks.start_soon(runner)
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, len(migrations())]
    assert len(_ledger(pg_url)) == len(migrations())


async def test_a_database_newer_than_the_code_is_refused(pg_url: str) -> None:
    import psycopg

    from stream_mcp.events import PostgresEventStore

    await migrate(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    assert (await schema_status(pg_url)).ahead
    with pytest.raises(EventStoreError, match="schema is at version 99, newer than this"):
        await migrate(pg_url)
    with pytest.raises(EventStoreError, match="upgrade stream-mcp"):
        await PostgresEventStore.open(pg_url, profile="default")


async def test_a_failing_step_leaves_the_schema_as_it_was(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stream_mcp.db import _migrate

    await migrate(pg_url)
    broken = Migration(len(migrations()) + 1, "broken", "CREATE TABLE half (x int); SELEC 1;")
    monkeypatch.setattr(_migrate, "migrations", lambda: (*migrations(), broken))
    with pytest.raises(EventStoreError, match="cannot migrate the schema"):
        await migrate(pg_url)
    assert "half" not in _tables(pg_url)
    assert len(_ledger(pg_url)) == broken.version - 1


def test_the_db_commands_migrate_and_report(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from psycopg.conninfo import conninfo_to_dict

    monkeypatch.setenv("STREAM_MCP_DATABASE_URL", pg_url)
    assert main(["db", "status"]) == 1
    out = capsys.readouterr().out
    assert "schema version: 0" in out and "pending: 0001_events" in out
    assert main(["db", "migrate"]) == 0
    out = capsys.readouterr().out
    assert "applied 0001_events" in out and "applied 0002_audit" in out
    assert main(["db", "migrate"]) == 0
    assert "schema is current" in capsys.readouterr().out
    assert main(["db", "status"]) == 0
    captured = capsys.readouterr()
    password = conninfo_to_dict(pg_url).get("password")
    assert not password or password not in captured.out + captured.err


def test_the_db_commands_need_the_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STREAM_MCP_DATABASE_URL", raising=False)
    assert main(["db", "migrate"]) == 2
    assert "STREAM_MCP_DATABASE_URL is not set" in capsys.readouterr().err


async def test_with_migrate_on_start_off_a_stale_schema_is_refused_until_migrated(
    pg_url: str, tmp_path: Path
) -> None:
    """STREAM_MCP_DB_MIGRATE=false: the event store and the audit trail check the schema,
    they never migrate it."""
    from stream_mcp.config import Settings
    from stream_mcp.runtime import open_event_store, open_service
    from tests.factories import unreachable_credentials

    credentials = unreachable_credentials()
    settings = Settings(data_dir=tmp_path, database_url=pg_url, db_migrate=False)
    with pytest.raises(EventStoreError, match="run `stream-mcp db migrate`") as refused:
        await open_event_store(settings, "default")
    assert "STREAM_MCP_DB_MIGRATE" in (refused.value.hint or "")
    with pytest.raises(EventStoreError, match="schema is at version 0"):
        async with open_service(settings, credentials):
            pass
    assert (await schema_status(pg_url)).current == 0  # nothing was applied behind our back
    await migrate(pg_url)
    store = await open_event_store(settings, "default")
    await store.aclose()
    async with open_service(settings, credentials) as service:
        assert service.catalog is not None
