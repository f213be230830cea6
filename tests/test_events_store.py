"""The embedded event store: order, de-duplication, membership, retention, restarts."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from stream_mcp.errors import EventStoreError
from stream_mcp.events import Retention, SQLiteEventStore, normalise


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


async def test_events_get_increasing_cursors_and_duplicates_are_refused(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.db")
    first = await store.append([normalise(message_new(f"m{i}"), "webhook") for i in range(3)])
    assert [e.seq for e in first.stored] == [1, 2, 3]
    # The same message seen again through Sync, with a numeric (v2) timestamp: one event.
    again = message_new("m1", created_at=1796205600123456000)
    second = await store.append([normalise(again, "sync")])
    assert second.stored == () and second.duplicates == 1
    assert [e.message_id for e in await store.read(0, 10)] == ["m0", "m1", "m2"]
    assert await store.head() == 3
    await store.aclose()


async def test_a_repeated_delivery_id_stores_nothing(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.db")
    event = normalise(message_new("m1"), "webhook")
    assert len((await store.append([event], delivery_id="d-1")).stored) == 1
    other = normalise(message_new("m2"), "webhook")
    assert (await store.append([other], delivery_id="d-1")).stored == ()
    assert await store.head() == 1
    await store.aclose()


async def test_edits_and_reactions_are_told_apart_by_time_and_subject() -> None:
    store = SQLiteEventStore(":memory:")
    edit = {"type": "message.updated", "cid": "messaging:a", "message": {"id": "m"}}
    events = [
        normalise(
            {**edit, "message": {"id": "m", "updated_at": "2026-01-01T00:00:01Z"}}, "webhook"
        ),
        normalise(
            {**edit, "message": {"id": "m", "updated_at": "2026-01-01T00:00:02Z"}}, "webhook"
        ),
        normalise(
            {
                "type": "reaction.new",
                "cid": "messaging:a",
                "created_at": "2026-01-01T00:00:03Z",
                "message": {"id": "m"},
                "reaction": {"type": "like", "user_id": "bob"},
            },
            "webhook",
        ),
        normalise(
            {
                "type": "reaction.new",
                "cid": "messaging:a",
                "created_at": "2026-01-01T00:00:03Z",
                "message": {"id": "m"},
                "reaction": {"type": "like", "user_id": "carol"},
            },
            "webhook",
        ),
    ]
    assert len((await store.append(events)).stored) == 4
    await store.aclose()


async def test_events_and_cursor_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    store = SQLiteEventStore(path)
    await store.append([normalise(message_new(f"m{i}"), "webhook") for i in range(5)])
    await store.set_members("messaging:general", ["alice", "bob"])
    await store.set_mark("sync_at", "2026-12-02T10:00:00+00:00")
    await store.aclose()
    reopened = SQLiteEventStore(path)
    assert await reopened.head() == 5
    assert [e.message_id for e in await reopened.read(3, 10)] == ["m3", "m4"]
    assert await reopened.members("messaging:general") == {"alice", "bob"}
    assert await reopened.get_mark("sync_at") == "2026-12-02T10:00:00+00:00"
    # A new event after the restart continues the cursor, never reuses one.
    more = await reopened.append([normalise(message_new("m9"), "webhook")])
    assert more.stored[0].seq == 6
    await reopened.aclose()


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


async def test_retention_drops_the_oldest_beyond_the_count() -> None:
    store = SQLiteEventStore(":memory:")
    await store.append([normalise(message_new(f"m{i}"), "webhook") for i in range(150)])
    gone = await store.prune(Retention(max_age_seconds=3600, max_count=100))
    assert gone == 50
    assert (await store.read(0, 1))[0].seq == 51
    assert await store.prune(Retention(max_age_seconds=0, max_count=100)) == 100
    await store.aclose()


async def test_membership_is_learned_and_queried() -> None:
    store = SQLiteEventStore(":memory:")
    assert await store.members("messaging:x") is None
    await store.change_member("messaging:x", "alice", present=True)
    await store.change_member("messaging:y", "bob", present=True)
    assert await store.channels_of(["alice"]) == {"messaging:x"}
    await store.change_member("messaging:x", "alice", present=False)
    assert await store.members("messaging:x") == frozenset()
    assert await store.known_channels() == {"messaging:x", "messaging:y"}
    await store.aclose()


async def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "e.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(EventStoreError, match="newer stream-mcp"):
        SQLiteEventStore(path)


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
