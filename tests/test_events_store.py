"""The embedded event store's own behaviour: ``:memory:``, polling for other processes, schema
versions. The contract every store keeps is in test_event_store_contract.py."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from stream_mcp.errors import EventStoreError
from stream_mcp.events import SQLiteEventStore, normalise


def message_new(mid: str, cid: str = "messaging:general", user: str = "alice", **extra):
    return {
        "type": "message.new",
        "cid": cid,
        "channel_type": cid.split(":")[0],
        "channel_id": cid.split(":")[1],
        "created_at": "2026-12-02T10:00:00.123456Z",
        "user": {"id": user},
        "message": {"id": mid, "text": f"hello {mid}", "user": {"id": user}},
        **extra,
    }


async def test_wait_wakes_on_a_write_in_this_process_and_times_out_otherwise() -> None:
    store = SQLiteEventStore(":memory:")
    assert await store.wait(0, 0.05) is False
    woke: list[float] = []

    async def waiter() -> None:
        started = time.perf_counter()
        assert await store.wait(0, 5)
        woke.append(time.perf_counter() - started)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(waiter)
        await anyio.sleep(0.05)
        await store.append([normalise(message_new("m1"), "webhook")])
    assert woke and woke[0] < 1.0
    await store.aclose()


async def test_wait_sees_writes_from_another_connection(tmp_path: Path) -> None:
    reader = SQLiteEventStore(tmp_path / "e.db", poll_interval=0.02)
    writer = SQLiteEventStore(tmp_path / "e.db")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(writer.append, [normalise(message_new("m1"), "webhook")])
        assert await reader.wait(0, 5)
    await reader.aclose()
    await writer.aclose()


async def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "e.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(EventStoreError, match="newer stream-mcp"):
        SQLiteEventStore(path)


async def test_stores_opened_side_by_side_on_one_new_file_all_open(tmp_path: Path) -> None:
    """Servers starting together on one data directory: switching the new file to WAL
    while another connection holds it used to fail at once ("database is locked")."""
    import threading

    for trial in range(30):
        path = tmp_path / f"t{trial}" / "events.db"
        start = threading.Barrier(6)
        opened: list[SQLiteEventStore] = []
        failures: list[Exception] = []

        def open_store(path: Path, start: threading.Barrier, opened: list, failures: list) -> None:
            start.wait()
            try:
                opened.append(SQLiteEventStore(path))
            except EventStoreError as exc:
                failures.append(exc)

        args = (path, start, opened, failures)
        threads = [threading.Thread(target=open_store, args=args) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for store in opened:
            await store.aclose()
        assert not failures, failures[0]


def test_compact_view_keeps_what_an_agent_needs() -> None:
    from stream_mcp.events import Event

    new = normalise(
        message_new(
            "m1", message={"id": "m1", "text": "hi", "parent_id": "p", "user": {"id": "bob"}}
        ),
        "webhook",
    )
    event = Event(seq=7, **{f: getattr(new, f) for f in new.__dataclass_fields__})
    assert event.compact() == {
        "type": "message.new",
        "cid": "messaging:general",
        "created_at": "2026-12-02T10:00:00.123456Z",
        "user_id": "alice",
        "message": {"id": "m1", "text": "hi", "parent_id": "p", "user_id": "bob"},
        "source": "webhook",
    }
    assert event.full()["cursor"] == "7"


async def test_the_store_file_is_private(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "private" / "e.db")
    await store.append([normalise(message_new("m1"), "webhook")])
    for name in ("e.db", "e.db-wal"):
        mode = (tmp_path / "private" / name).stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{name} is readable by others: {oct(mode)}"
    await store.aclose()
