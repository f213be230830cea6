"""The shared event store: PostgreSQL, so several replicas serve one feed.

Ordering. ``seq`` comes from an identity, and a sequence value can commit after a higher one:
a reader that moved its cursor past a lower, not-yet-committed seq would miss that event
forever. So every append holds a transaction-level advisory lock (one per profile) from its
first ``nextval`` until its commit. Appends for a profile are serialized, seq order is commit
order, and once a reader sees seq N every event below N is either visible or never will be.
Appends are short (a handful of inserts), so the lock costs little next to the webhook round
trip; de-duplication (unique key, delivery id) happens inside the same transaction.

Waking. An append that stored something sends ``NOTIFY`` in its transaction, delivered at
commit. Each store keeps one connection that LISTENs and wakes this process's waiters; when
that connection is lost, waiters fall back to a re-check every second until it is back, and
even while it is up they re-check every few seconds, so a notification that never arrives
(pgBouncer in transaction mode accepts LISTEN but delivers nothing) delays a wait, it never
strands it.

Failing. Connections come from a small pool that checks each one before use, with a short
connect timeout: when PostgreSQL is down a call fails with :class:`EventStoreError` in about
two seconds instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

import anyio

from stream_mcp.db._driver import CONNECT_TIMEOUT, connect, conninfo, describe_url, failure, require
from stream_mcp.db._migrate import APPEND_LOCK_SPACE, migrate
from stream_mcp.errors import EventStoreError
from stream_mcp.events._model import Event, NewEvent
from stream_mcp.events._store import Appended, Retention
from stream_mcp.observability import get_logger

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import TupleRow
    from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
CHANNEL = "stream_mcp_events"
POOL_SIZE = 8
CALL_TIMEOUT = 10.0  # seconds for any one call, lock waits included
DEGRADED_RECHECK = 1.0  # seconds between re-checks while the LISTEN connection is down
# ... and while it is up, in case a notification never comes: behind pgBouncer in transaction
# mode LISTEN is accepted but nothing is delivered, so waits degrade to this latency, not hang
LISTENING_RECHECK = 5.0
RECONNECT_MAX = 2.0
_COLUMNS = "seq, key, type, cid, created_at, user_id, message_id, source, subjects, payload"

log = get_logger("stream_mcp.events")


class PostgresEventStore:
    """:class:`~stream_mcp.events.EventStore` on PostgreSQL; build it with :meth:`open`."""

    def __init__(
        self,
        url: str,
        *,
        profile: str,
        topic: str,
        pool: AsyncConnectionPool[AsyncConnection[TupleRow]],
        listener: AsyncConnection[TupleRow],
        call_timeout: float,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.location = describe_url(url)
        self.profile = profile
        self._url = url
        self._topic = topic  # "schema/profile": the NOTIFY payload and the append lock's key
        self._pool = pool
        self._timeout = call_timeout
        self._connect_timeout = connect_timeout
        self._changed = anyio.Event()
        self._listening = True
        self._closed = False
        self._pump = asyncio.get_running_loop().create_task(self._listen(listener))

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        profile: str,
        migrate_schema: bool = True,
        call_timeout: float = CALL_TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> PostgresEventStore:
        """Connect (failing fast), bring the schema up to date, and start listening.

        ``connect_timeout`` bounds waiting for a pooled connection (and so how long a call
        takes to fail while PostgreSQL is down) and a ping."""
        pool_module = require("psycopg_pool")
        if migrate_schema:
            await migrate(url)
        pool: AsyncConnectionPool[AsyncConnection[TupleRow]] = pool_module.AsyncConnectionPool(
            conninfo(url),
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            timeout=connect_timeout,
            kwargs={"autocommit": True},
            check=pool_module.AsyncConnectionPool.check_connection,
            name="stream-mcp-events",
        )
        listener: AsyncConnection[TupleRow] | None = None
        try:
            await pool.open(wait=True, timeout=connect_timeout)
            listener = await connect(url)
            await listener.execute(f"LISTEN {CHANNEL}")
            cursor = await listener.execute("SELECT current_schema()")
            row = await cursor.fetchone()
        except BaseException as exc:
            if listener is not None:
                await listener.close()
            await pool.close()
            if isinstance(exc, require().Error):
                raise failure(url, exc, "open the event store") from None
            raise
        topic = f"{row[0] if row else ''}/{profile}"
        return cls(
            url,
            profile=profile,
            topic=topic,
            pool=pool,
            listener=listener,
            call_timeout=call_timeout,
            connect_timeout=connect_timeout,
        )

    def __repr__(self) -> str:
        return f"PostgresEventStore({self.location!r}, profile={self.profile!r})"

    # ------------------------------------------------------------------ plumbing

    async def _run(
        self,
        doing: str,
        work: Callable[[AsyncConnection[TupleRow]], Awaitable[T]],
        *,
        timeout: float | None = None,
    ) -> T:
        if self._closed:
            raise EventStoreError("the event store is closed")
        psycopg = require()
        try:
            with anyio.fail_after(timeout or self._timeout):
                async with self._pool.connection() as connection:
                    return await work(connection)
        except (psycopg.Error, TimeoutError) as exc:
            raise failure(self._url, exc, doing) from None

    def _wake(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def _listen(self, connection: AsyncConnection[TupleRow] | None) -> None:
        """Wake waiters on every NOTIFY for this store's topic; reconnect when the link drops."""
        psycopg = require()
        delay = 0.1
        try:
            while True:
                try:
                    if connection is None:
                        connection = await connect(self._url)
                        await connection.execute(f"LISTEN {CHANNEL}")
                        self._listening = True
                        log.info("event_listener_reconnected", database=self.location)
                        self._wake()  # anything may have happened meanwhile
                        delay = 0.1
                    async for note in connection.notifies():
                        if note.payload == self._topic:
                            self._wake()
                except (psycopg.Error, EventStoreError) as exc:
                    if self._listening:
                        log.warning(
                            "event_listener_lost", database=self.location, error=str(exc)[:200]
                        )
                self._listening = False
                self._wake()  # waiters switch to re-checking
                await _close(connection)
                connection = None
                await anyio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)
        finally:
            await _close(connection)

    # ------------------------------------------------------------------ events

    async def append(
        self, events: Sequence[NewEvent], *, delivery_id: str | None = None
    ) -> Appended:
        if not events and delivery_id is None:
            return Appended((), 0)
        rows = [
            (
                self.profile,
                e.key,
                e.type,
                e.cid,
                e.created_at,
                e.user_id,
                e.message_id,
                e.source,
                list(e.subjects),
                json.dumps(e.payload, separators=(",", ":"), default=str),
            )
            for e in events
        ]

        async def work(db: AsyncConnection[TupleRow]) -> Appended:
            stored: list[Event] = []
            async with db.transaction():
                await db.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    (APPEND_LOCK_SPACE, self._topic),
                )
                if delivery_id is not None:
                    fresh = await db.execute(
                        "INSERT INTO event_deliveries (profile, id) VALUES (%s, %s)"
                        " ON CONFLICT DO NOTHING",
                        (self.profile, delivery_id),
                    )
                    if not fresh.rowcount:
                        return Appended((), len(events))
                if rows:
                    async with db.cursor() as cursor:
                        await cursor.executemany(
                            "INSERT INTO events (profile, key, type, cid, created_at, user_id,"
                            " message_id, source, subjects, payload)"
                            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::text[], %s::json)"
                            " ON CONFLICT (profile, key) DO NOTHING RETURNING seq",
                            rows,
                            returning=True,
                        )
                        for event in events:
                            row = await cursor.fetchone()
                            if row is not None:
                                stored.append(event.at(int(row[0])))
                            cursor.nextset()
                if stored:
                    await db.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self._topic))
            return Appended(tuple(stored), len(events) - len(stored))

        result = await self._run("store events", work)
        if result.stored:
            self._wake()  # this process's waiters need not wait for the NOTIFY
        return result

    async def read(self, after: int, limit: int) -> list[Event]:
        async def work(db: AsyncConnection[TupleRow]) -> list[Event]:
            cursor = await db.execute(
                f"SELECT {_COLUMNS} FROM events WHERE profile = %s AND seq > %s"
                " ORDER BY seq LIMIT %s",
                (self.profile, after, limit),
            )
            return [Event.from_row(row) for row in await cursor.fetchall()]

        return await self._run("read events", work)

    async def latest(self, limit: int) -> list[Event]:
        async def work(db: AsyncConnection[TupleRow]) -> list[Event]:
            cursor = await db.execute(
                f"SELECT {_COLUMNS} FROM events WHERE profile = %s ORDER BY seq DESC LIMIT %s",
                (self.profile, limit),
            )
            return [Event.from_row(row) for row in reversed(await cursor.fetchall())]

        return await self._run("read the newest events", work)

    async def head(self) -> int:
        async def work(db: AsyncConnection[TupleRow]) -> int:
            cursor = await db.execute(
                "SELECT coalesce(max(seq), 0) FROM events WHERE profile = %s", (self.profile,)
            )
            row = await cursor.fetchone()
            return int(row[0]) if row else 0

        return await self._run("read the newest cursor", work)

    async def wait(self, after: int, timeout: float) -> bool:
        deadline = anyio.current_time() + max(0.0, timeout)
        while True:
            changed = self._changed
            if await self.head() > after:
                return True
            left = deadline - anyio.current_time()
            if left <= 0:
                return False
            # Woken by NOTIFY; on the deadline the loop re-checks once more before giving up.
            step = min(left, LISTENING_RECHECK if self._listening else DEGRADED_RECHECK)
            with anyio.move_on_after(step):
                await changed.wait()

    # ------------------------------------------------------------------ membership

    async def members(self, cid: str) -> frozenset[str] | None:
        async def work(db: AsyncConnection[TupleRow]) -> frozenset[str] | None:
            cursor = await db.execute(
                "SELECT c.cid, m.user_id FROM event_channels c LEFT JOIN event_members m"
                " ON m.profile = c.profile AND m.cid = c.cid"
                " WHERE c.profile = %s AND c.cid = %s",
                (self.profile, cid),
            )
            rows = await cursor.fetchall()
            if not rows:
                return None
            return frozenset(str(row[1]) for row in rows if row[1] is not None)

        return await self._run("read channel members", work)

    async def set_members(self, channels: Mapping[str, Iterable[str]]) -> None:
        # sorted: two replicas replacing overlapping channels lock their rows in one order
        wanted = {cid: list(dict.fromkeys(channels[cid])) for cid in sorted(channels)}
        if not wanted:
            return

        async def work(db: AsyncConnection[TupleRow]) -> None:
            async with db.transaction():
                for cid, users in wanted.items():
                    await self._seen(db, cid)  # locks the channel's row: replacements serialize
                    await db.execute(
                        "DELETE FROM event_members WHERE profile = %s AND cid = %s",
                        (self.profile, cid),
                    )
                    if users:
                        await db.execute(
                            "INSERT INTO event_members (profile, cid, user_id)"
                            " SELECT %s, %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
                            (self.profile, cid, users),
                        )

        await self._run("store channel members", work)

    async def change_member(self, cid: str, user: str, *, present: bool) -> None:
        async def work(db: AsyncConnection[TupleRow]) -> None:
            async with db.transaction():
                await self._seen(db, cid)
                if present:
                    await db.execute(
                        "INSERT INTO event_members (profile, cid, user_id) VALUES (%s, %s, %s)"
                        " ON CONFLICT DO NOTHING",
                        (self.profile, cid, user),
                    )
                else:
                    await db.execute(
                        "DELETE FROM event_members"
                        " WHERE profile = %s AND cid = %s AND user_id = %s",
                        (self.profile, cid, user),
                    )

        await self._run("store a channel member", work)

    async def channels_of(self, users: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(users))
        if not wanted:
            return set()

        async def work(db: AsyncConnection[TupleRow]) -> set[str]:
            cursor = await db.execute(
                "SELECT DISTINCT cid FROM event_members"
                " WHERE profile = %s AND user_id = ANY(%s::text[])",
                (self.profile, wanted),
            )
            return {str(row[0]) for row in await cursor.fetchall()}

        return await self._run("read channels", work)

    async def known_channels(self) -> set[str]:
        async def work(db: AsyncConnection[TupleRow]) -> set[str]:
            cursor = await db.execute(
                "SELECT cid FROM event_channels WHERE profile = %s", (self.profile,)
            )
            return {str(row[0]) for row in await cursor.fetchall()}

        return await self._run("read channels", work)

    async def _seen(self, db: AsyncConnection[TupleRow], cid: str) -> None:
        await db.execute(
            "INSERT INTO event_channels (profile, cid) VALUES (%s, %s)"
            " ON CONFLICT (profile, cid) DO UPDATE SET seen_at = now()",
            (self.profile, cid),
        )

    # ------------------------------------------------------------------ marks, upkeep

    async def get_mark(self, name: str) -> str | None:
        async def work(db: AsyncConnection[TupleRow]) -> str | None:
            cursor = await db.execute(
                "SELECT value FROM event_marks WHERE profile = %s AND name = %s",
                (self.profile, name),
            )
            row = await cursor.fetchone()
            return str(row[0]) if row else None

        return await self._run("read a mark", work)

    async def set_mark(self, name: str, value: str) -> None:
        async def work(db: AsyncConnection[TupleRow]) -> None:
            await db.execute(
                "INSERT INTO event_marks (profile, name, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (profile, name) DO UPDATE SET value = excluded.value",
                (self.profile, name, value),
            )

        await self._run("store a mark", work)

    async def prune(self, retention: Retention) -> int:
        async def work(db: AsyncConnection[TupleRow]) -> int:
            async with db.transaction():
                old = await db.execute(
                    "DELETE FROM events WHERE profile = %s"
                    " AND stored_at < now() - make_interval(secs => %s)",
                    (self.profile, retention.max_age_seconds),
                )
                # Keep the newest max_count rows (seq has gaps: count rows, not numbers).
                many = await db.execute(
                    "DELETE FROM events WHERE profile = %s AND seq <= (SELECT seq FROM events"
                    " WHERE profile = %s ORDER BY seq DESC OFFSET %s LIMIT 1)",
                    (self.profile, self.profile, retention.max_count),
                )
                await db.execute(
                    "DELETE FROM event_deliveries WHERE profile = %s"
                    " AND stored_at < now() - make_interval(secs => %s)",
                    (self.profile, retention.max_age_seconds),
                )
                return max(0, old.rowcount) + max(0, many.rowcount)

        return await self._run("prune events", work)

    async def ping(self) -> None:
        async def work(db: AsyncConnection[TupleRow]) -> None:
            await db.execute("SELECT 1")

        await self._run("answer a ping", work, timeout=self._connect_timeout)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._pump
        self._wake()
        with contextlib.suppress(Exception):
            await self._pool.close(timeout=self._connect_timeout)


async def _close(connection: AsyncConnection[TupleRow] | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.close()
