"""The event store's contract, run against every implementation: SQLite and PostgreSQL.

Each test gets a fresh store (a new SQLite file, or a new PostgreSQL schema) and may open
more instances on the same backing, as a restart or another replica would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from stream_mcp.errors import EventStoreError
from stream_mcp.events import EventStore, Retention, SQLiteEventStore, normalise
from tests.test_events_store import message_new

Opener = Callable[[], Awaitable[EventStore]]


@pytest.fixture(params=["sqlite", "postgres"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens another instance of the test's store; every instance is closed afterwards."""
    opened: list[EventStore] = []
    if request.param == "sqlite":
        path = tmp_path / "events.db"

        async def opener() -> EventStore:
            opened.append(SQLiteEventStore(path, poll_interval=0.02))
            return opened[-1]

    else:
        url = request.getfixturevalue("pg_url")
        from stream_mcp.events import PostgresEventStore

        async def opener() -> EventStore:
            opened.append(await PostgresEventStore.open(url, profile="default"))
            return opened[-1]

    yield opener
    for store in opened:
        await store.aclose()


def events(*ids: str) -> list:
    return [normalise(message_new(i), "webhook") for i in ids]


async def test_it_is_an_event_store(open_store: Opener) -> None:
    assert isinstance(await open_store(), EventStore)


async def test_events_get_increasing_cursors_and_duplicates_are_refused(
    open_store: Opener,
) -> None:
    store = await open_store()
    first = await store.append(events("m0", "m1", "m2"))
    assert [e.seq for e in first.stored] == [1, 2, 3]
    # The same message seen again through Sync, with a numeric (v2) timestamp: one event.
    again = message_new("m1", created_at=1796205600123456000)
    second = await store.append([normalise(again, "sync")])
    assert second.stored == () and second.duplicates == 1
    assert [e.message_id for e in await store.read(0, 10)] == ["m0", "m1", "m2"]
    assert [e.message_id for e in await store.read(1, 1)] == ["m1"]
    assert await store.head() == 3


async def test_latest_gives_the_newest_events_oldest_first(open_store: Opener) -> None:
    store = await open_store()
    assert await store.latest(5) == []
    await store.append(events(*(f"m{i}" for i in range(7))))
    assert [e.message_id for e in await store.latest(3)] == ["m4", "m5", "m6"]
    assert len(await store.latest(100)) == 7


async def test_a_batch_keeps_its_first_copy_and_counts_the_rest(open_store: Opener) -> None:
    store = await open_store()
    result = await store.append(events("a", "b", "a", "c", "b"))
    assert [e.message_id for e in result.stored] == ["a", "b", "c"]
    assert result.duplicates == 2
    assert [e.seq for e in await store.read(0, 10)] == [e.seq for e in result.stored]
    assert await store.append([]) == type(result)((), 0)


async def test_stored_events_read_back_whole(open_store: Opener) -> None:
    store = await open_store()
    payload = {
        "type": "member.added",
        "cid": "messaging:x",
        "created_at": "2026-01-01T00:00:00Z",
        "user": {"id": "alice"},
        "member": {"user_id": "bob", "role": "member"},
        "nested": {"list": [1, 2.5, None, "ü"], "flag": True},
    }
    stored = (await store.append([normalise(payload, "sync")])).stored[0]
    (read,) = await store.read(0, 1)
    assert read == stored
    assert read.payload == payload and read.subjects == ("bob",) and read.source == "sync"


async def test_a_repeated_delivery_id_stores_nothing(open_store: Opener) -> None:
    store = await open_store()
    assert len((await store.append(events("m1"), delivery_id="d-1")).stored) == 1
    refused = await store.append(events("m2", "m3"), delivery_id="d-1")
    assert refused.stored == () and refused.duplicates == 2
    assert await store.head() == 1


async def test_edits_and_reactions_are_told_apart_by_time_and_subject(open_store: Opener) -> None:
    store = await open_store()
    edit = {"type": "message.updated", "cid": "messaging:a", "message": {"id": "m"}}
    reaction = {
        "type": "reaction.new",
        "cid": "messaging:a",
        "created_at": "2026-01-01T00:00:03Z",
        "message": {"id": "m"},
    }
    batch = [
        normalise({**edit, "message": {"id": "m", "updated_at": "2026-01-01T00:00:01Z"}}, "sync"),
        normalise({**edit, "message": {"id": "m", "updated_at": "2026-01-01T00:00:02Z"}}, "sync"),
        normalise({**reaction, "reaction": {"type": "like", "user_id": "bob"}}, "webhook"),
        normalise({**reaction, "reaction": {"type": "like", "user_id": "carol"}}, "webhook"),
    ]
    assert len((await store.append(batch)).stored) == 4


async def test_events_and_cursor_survive_a_restart(open_store: Opener) -> None:
    store = await open_store()
    await store.append(events(*(f"m{i}" for i in range(5))))
    await store.set_members({"messaging:general": ["alice", "bob"]})
    await store.set_mark("sync_at", "2026-12-02T10:00:00+00:00")
    await store.aclose()
    reopened = await open_store()
    assert await reopened.head() == 5
    assert [e.message_id for e in await reopened.read(3, 10)] == ["m3", "m4"]
    assert await reopened.members("messaging:general") == {"alice", "bob"}
    assert await reopened.get_mark("sync_at") == "2026-12-02T10:00:00+00:00"
    # A new event after the restart continues the cursor, never reuses one.
    more = await reopened.append(events("m9"))
    assert more.stored[0].seq == 6


async def test_wait_wakes_on_a_write_and_times_out_otherwise(open_store: Opener) -> None:
    store = await open_store()
    started = time.perf_counter()
    assert await store.wait(0, 0.1) is False
    assert time.perf_counter() - started >= 0.09
    woke: list[float] = []

    async def waiter() -> None:
        began = time.perf_counter()
        assert await store.wait(0, 5)
        woke.append(time.perf_counter() - began)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(waiter)
        await anyio.sleep(0.05)
        await store.append(events("m1"))
    assert woke and woke[0] < 1.0
    assert await store.wait(0, 0) is True  # already there: no waiting at all
    assert await store.wait(1, 0) is False


async def test_wait_sees_writes_from_another_instance(open_store: Opener) -> None:
    reader, writer = await open_store(), await open_store()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(writer.append, events("m1"))
        assert await reader.wait(0, 5)
    assert [e.message_id for e in await reader.read(0, 10)] == ["m1"]


async def test_retention_drops_the_oldest_beyond_the_count(open_store: Opener) -> None:
    store = await open_store()
    await store.append(events(*(f"m{i}" for i in range(150))))
    gone = await store.prune(Retention(max_age_seconds=3600, max_count=100))
    assert gone == 50
    assert (await store.read(0, 1))[0].seq == 51
    assert await store.prune(Retention(max_age_seconds=3600, max_count=100)) == 0
    await anyio.sleep(0.01)
    assert await store.prune(Retention(max_age_seconds=0, max_count=100)) == 100
    assert await store.read(0, 10) == []


async def test_membership_is_learned_and_queried(open_store: Opener) -> None:
    store = await open_store()
    assert await store.members("messaging:x") is None
    await store.change_member("messaging:x", "alice", present=True)
    await store.change_member("messaging:x", "alice", present=True)
    await store.change_member("messaging:y", "bob", present=True)
    assert await store.channels_of(["alice"]) == {"messaging:x"}
    assert await store.channels_of(["alice", "bob", "nobody"]) == {"messaging:x", "messaging:y"}
    assert await store.channels_of([]) == set()
    await store.change_member("messaging:x", "alice", present=False)
    assert await store.members("messaging:x") == frozenset()
    assert await store.known_channels() == {"messaging:x", "messaging:y"}


async def test_set_members_replaces_what_was_known(open_store: Opener) -> None:
    store = await open_store()
    await store.set_members({"messaging:z": ["a", "b", "a"]})
    assert await store.members("messaging:z") == {"a", "b"}
    await store.set_members({"messaging:z": ["c"]})
    assert await store.members("messaging:z") == {"c"}
    await store.set_members({"messaging:z": []})
    assert await store.members("messaging:z") == frozenset()
    assert "messaging:z" in await store.known_channels()
    # several channels at once, in one write; channels not named keep what was known
    await store.set_members({"messaging:y": ["d"], "messaging:x": ["e", "f"]})
    assert await store.members("messaging:x") == {"e", "f"}
    assert await store.members("messaging:y") == {"d"}
    assert await store.members("messaging:z") == frozenset()
    await store.set_members({})
    assert await store.known_channels() == {"messaging:x", "messaging:y", "messaging:z"}


async def test_marks_are_shared_by_every_instance(open_store: Opener) -> None:
    one, two = await open_store(), await open_store()
    assert await one.get_mark("sync_at") is None
    await one.set_mark("sync_at", "a")
    await two.set_mark("sync_at", "b")
    assert await one.get_mark("sync_at") == "b"


async def test_a_closed_store_refuses_calls_with_a_clear_error(open_store: Opener) -> None:
    store = await open_store()
    await store.ping()
    await store.aclose()
    await store.aclose()  # closing twice is harmless
    with pytest.raises(EventStoreError, match="closed"):
        await store.head()
