"""The embedded event store: one SQLite file in WAL mode, shared by every local process.

A stdio server and ``stream-mcp events serve`` (the webhook receiver) open the same file, so
the receiver writes and the servers read. Calls run in a worker thread under one lock (SQLite
work must never hold the event loop). A writer in this process wakes its readers at once;
writes from other processes are noticed by a cheap ``max(seq)`` check every
``poll_interval`` seconds while someone waits.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from stream_mcp.errors import EventStoreError
from stream_mcp.events._model import Event, NewEvent
from stream_mcp.events._store import Appended, Retention

T = TypeVar("T")
SCHEMA_VERSION = 1
POLL_INTERVAL = 0.1

OPEN_TIMEOUT = 5.0


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch ``db`` to WAL, waiting up to ``OPEN_TIMEOUT`` for other connections.

    SQLite answers the switch with "database is locked" at once, without its busy handler,
    while another connection holds the file: servers that start side by side on one data
    directory (one event store per profile) failed to start one time in a few dozen."""
    deadline = time.monotonic() + OPEN_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    cid TEXT,
    created_at TEXT NOT NULL,
    user_id TEXT,
    message_id TEXT,
    source TEXT NOT NULL,
    subjects TEXT NOT NULL,
    payload TEXT NOT NULL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_stored_at ON events (stored_at);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, stored_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS channels (cid TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (cid TEXT NOT NULL, user_id TEXT NOT NULL,
                                    PRIMARY KEY (cid, user_id));
CREATE INDEX IF NOT EXISTS members_user ON members (user_id);
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SQLiteEventStore:
    """:class:`~stream_mcp.events.EventStore` on a SQLite file (or ``:memory:``)."""

    def __init__(self, path: Path | str, *, poll_interval: float = POLL_INTERVAL) -> None:
        self.location = str(path)
        if self.location != ":memory:":
            path = Path(self.location)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Chat content lives here: readable by this user only (SQLite gives its -wal and
            # -shm files the same mode).
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        try:
            self._db = sqlite3.connect(
                self.location, check_same_thread=False, isolation_level=None, timeout=OPEN_TIMEOUT
            )
            _use_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise EventStoreError(
                    f"event store {self.location} was written by a newer stream-mcp "
                    f"(schema {version}); upgrade to read it"
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise EventStoreError(f"cannot open the event store {self.location}: {exc}") from None
        self._lock = threading.Lock()
        self._poll = poll_interval
        self._changed = anyio.Event()
        self._closed = False
        self._queue: list[_Pending] = []
        self._head_at: tuple[float, int] | None = None  # (when, head) for parked waiters
        self._flushing = False

    def __repr__(self) -> str:
        return f"SQLiteEventStore({self.location!r})"

    # ------------------------------------------------------------------ plumbing

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                if self._closed:
                    raise EventStoreError("the event store is closed")
                try:
                    return work(self._db)
                except sqlite3.Error as exc:
                    raise EventStoreError(f"event store error: {exc}") from None

        return await anyio.to_thread.run_sync(locked)

    def _wake(self) -> None:
        self._head_at = None
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    # ------------------------------------------------------------------ events

    async def append(
        self, events: Sequence[NewEvent], *, delivery_id: str | None = None
    ) -> Appended:
        """Group commit: appends that arrive while a write is under way wait for it and go
        together in the next transaction, so a burst of webhooks costs one thread hop and
        one commit per batch instead of per event."""
        item = _Pending(tuple(events), delivery_id)
        self._queue.append(item)
        if not self._flushing:
            self._flushing = True
            try:
                # Shielded: a cancelled webhook request must not strand the batch it leads.
                with anyio.CancelScope(shield=True):
                    await self._flush()
            finally:
                self._flushing = False
        await item.done.wait()
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            now = time.time()
            try:
                results = await self._run(functools.partial(_write, batch=batch, now=now))
            except EventStoreError as exc:
                for item in batch:
                    item.error = exc
            else:
                for item, result in zip(batch, results, strict=True):
                    item.result = result
                if any(result.stored for result in results):
                    self._wake()
            finally:
                for item in batch:
                    if item.result is None and item.error is None:
                        item.error = EventStoreError("the event store write was interrupted")
                    item.done.set()

    async def read(self, after: int, limit: int) -> list[Event]:
        def work(db: sqlite3.Connection) -> list[Event]:
            rows = db.execute(
                "SELECT seq, key, type, cid, created_at, user_id, message_id, source, subjects,"
                " payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
            return [Event.from_row(row) for row in rows]

        return await self._run(work)

    async def latest(self, limit: int) -> list[Event]:
        def work(db: sqlite3.Connection) -> list[Event]:
            rows = db.execute(
                "SELECT seq, key, type, cid, created_at, user_id, message_id, source, subjects,"
                " payload FROM events ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [Event.from_row(row) for row in reversed(rows)]

        return await self._run(work)

    async def head(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            row = db.execute("SELECT max(seq) FROM events").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

        return await self._run(work)

    async def wait(self, after: int, timeout: float) -> bool:
        deadline = anyio.current_time() + max(0.0, timeout)
        while True:
            changed = self._changed
            if await self._polled_head() > after:
                return True
            left = deadline - anyio.current_time()
            if left <= 0:
                return False
            with anyio.move_on_after(min(left, self._poll)):
                await changed.wait()

    async def _polled_head(self) -> int:
        """``head()``, shared by every waiter for half a poll interval: a thousand parked
        long-polls cost one query per interval, not a thousand. A write in this process
        resets it at once."""
        now = anyio.current_time()
        if self._head_at is None or now - self._head_at[0] >= self._poll / 2:
            self._head_at = (now, await self.head())
        return self._head_at[1]

    # ------------------------------------------------------------------ membership

    async def members(self, cid: str) -> frozenset[str] | None:
        def work(db: sqlite3.Connection) -> frozenset[str] | None:
            if db.execute("SELECT 1 FROM channels WHERE cid = ?", (cid,)).fetchone() is None:
                return None
            rows = db.execute("SELECT user_id FROM members WHERE cid = ?", (cid,)).fetchall()
            return frozenset(row[0] for row in rows)

        return await self._run(work)

    async def set_members(self, channels: Mapping[str, Iterable[str]]) -> None:
        wanted = {cid: list(dict.fromkeys(users)) for cid, users in channels.items()}
        if not wanted:
            return

        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                for cid, users in wanted.items():
                    _seen(db, cid)
                    db.execute("DELETE FROM members WHERE cid = ?", (cid,))
                    db.executemany(
                        "INSERT OR IGNORE INTO members (cid, user_id) VALUES (?, ?)",
                        [(cid, user) for user in users],
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(work)

    async def change_member(self, cid: str, user: str, *, present: bool) -> None:
        def work(db: sqlite3.Connection) -> None:
            _seen(db, cid)
            if present:
                db.execute(
                    "INSERT OR IGNORE INTO members (cid, user_id) VALUES (?, ?)", (cid, user)
                )
            else:
                db.execute("DELETE FROM members WHERE cid = ? AND user_id = ?", (cid, user))

        await self._run(work)

    async def channels_of(self, users: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(users))

        def work(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT DISTINCT cid FROM members WHERE user_id IN ({marks})", chunk
                ).fetchall()
                found.update(row[0] for row in rows)
            return found

        return await self._run(work)

    async def known_channels(self) -> set[str]:
        def work(db: sqlite3.Connection) -> set[str]:
            return {row[0] for row in db.execute("SELECT cid FROM channels").fetchall()}

        return await self._run(work)

    # ------------------------------------------------------------------ marks, upkeep

    async def get_mark(self, name: str) -> str | None:
        def work(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM marks WHERE name = ?", (name,)).fetchone()
            return str(row[0]) if row else None

        return await self._run(work)

    async def set_mark(self, name: str, value: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO marks (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

        await self._run(work)

    async def prune(self, retention: Retention) -> int:
        horizon = time.time() - retention.max_age_seconds

        def work(db: sqlite3.Connection) -> int:
            gone = db.execute("DELETE FROM events WHERE stored_at < ?", (horizon,)).rowcount
            row = db.execute("SELECT max(seq) FROM events").fetchone()
            if row and row[0] is not None:
                gone += db.execute(
                    "DELETE FROM events WHERE seq <= ?", (int(row[0]) - retention.max_count,)
                ).rowcount
            db.execute("DELETE FROM deliveries WHERE stored_at < ?", (horizon,))
            return gone

        return await self._run(work)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()


@dataclass(eq=False)
class _Pending:
    """One append waiting for the group commit."""

    events: tuple[NewEvent, ...]
    delivery_id: str | None
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Appended | None = None
    error: EventStoreError | None = None


def _write(db: sqlite3.Connection, *, batch: list[_Pending], now: float) -> list[Appended]:
    """One transaction for a batch of appends; each gets its own answer."""
    results: list[Appended] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for item in batch:
            if item.delivery_id is not None:
                fresh = db.execute(
                    "INSERT OR IGNORE INTO deliveries (id, stored_at) VALUES (?, ?)",
                    (item.delivery_id, now),
                ).rowcount
                if not fresh:
                    results.append(Appended((), len(item.events)))
                    continue
            stored: list[Event] = []
            for event in item.events:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO events (key, type, cid, created_at, user_id,"
                    " message_id, source, subjects, payload, stored_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.key,
                        event.type,
                        event.cid,
                        event.created_at,
                        event.user_id,
                        event.message_id,
                        event.source,
                        json.dumps(list(event.subjects)),
                        json.dumps(event.payload, separators=(",", ":"), default=str),
                        now,
                    ),
                )
                if cursor.rowcount:
                    stored.append(event.at(int(cursor.lastrowid or 0)))
            results.append(Appended(tuple(stored), len(item.events) - len(stored)))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return results


def _seen(db: sqlite3.Connection, cid: str) -> None:
    db.execute(
        "INSERT INTO channels (cid, seen_at) VALUES (?, ?)"
        " ON CONFLICT (cid) DO UPDATE SET seen_at = excluded.seen_at",
        (cid, time.time()),
    )
