"""SQLite persistence for the sandbox.

Every entity is a JSON document keyed by a few real columns (its identity plus the columns we
look it up or sort by). Handlers work with plain dicts; the store only knows how to put, get,
delete and select them. Each HTTP request runs inside one transaction, so a failed request
leaves no partial writes behind; work that must follow a successful commit (webhook delivery)
is registered with :meth:`Store.after_commit` and dropped on rollback.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"

log = logging.getLogger("stream_mcp.sandbox")


@dataclass(frozen=True)
class Table:
    """A document table: identity columns, extra indexed columns, all copied from the doc."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[str, ...] = ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.keys + self.columns


USERS = Table("users", ("id",))
CHANNELS = Table("channels", ("cid",), ("type",))
MEMBERS = Table("members", ("cid", "user_id"), ("created_at",))
MESSAGES = Table("messages", ("id",), ("cid", "parent_id", "user_id", "created_at"))
REACTIONS = Table("reactions", ("message_id", "user_id", "type"), ("created_at",))
READS = Table("reads", ("cid", "user_id"))
BANS = Table("bans", ("target_user_id", "channel_cid"), ("created_at",))
MUTES = Table("mutes", ("user_id", "target_id"), ("created_at",))
FLAGS = Table("flags", ("id",), ("target_message_id", "target_user_id", "user_id", "created_at"))
BLOCKLISTS = Table("blocklists", ("key",), ("created_at",))
CAMPAIGNS = Table("campaigns", ("id",), ("created_at",))
TASKS = Table("tasks", ("id",))
META = Table("meta", ("key",))
CHANNEL_TYPES = Table("channel_types", ("name",))
COMMANDS = Table("commands", ("name",))
DEVICES = Table("devices", ("id",), ("user_id",))
BLOCKS = Table("blocks", ("user_id", "blocked_user_id"), ("created_at",))
CHANNEL_MUTES = Table("channel_mutes", ("user_id", "cid"), ("created_at",))
DRAFTS = Table("drafts", ("user_id", "cid", "parent_id"), ("created_at",))
REMINDERS = Table("reminders", ("message_id", "user_id"), ("created_at",))
LOCATIONS = Table("locations", ("message_id",), ("user_id",))
HISTORY = Table("message_history", ("id",), ("message_id",))
THREAD_READS = Table("thread_reads", ("parent_id", "user_id"))
POLLS = Table("polls", ("id",), ("created_at",))
VOTES = Table("poll_votes", ("id",), ("poll_id", "user_id", "created_at"))
FILES = Table("files", ("id",), ("cid",))
IMPORTS = Table("imports", ("id",), ("created_at",))
ROLES = Table("roles", ("name",))
PERMISSIONS = Table("permissions", ("id",))
SEGMENTS = Table("segments", ("id",), ("created_at",))
SEGMENT_TARGETS = Table("segment_targets", ("segment_id", "target_id"))
PREDEFINED_FILTERS = Table("predefined_filters", ("name",))
PUSH_PROVIDERS = Table("push_providers", ("key",))
USER_GROUPS = Table("user_groups", ("id",), ("created_at",))
# v2 moderation: one review item per flagged or checked entity, and the policies (configs).
REVIEW_ITEMS = Table("review_items", ("id",), ("entity_type", "entity_id", "created_at"))
MODERATION_CONFIGS = Table("moderation_configs", ("id",), ("created_at",))
# Recorded events (sandbox/events.py): ``seq`` is the zero-padded recording order.
EVENTS = Table("events", ("id",), ("seq", "cid", "created_at"))

TABLES = (
    USERS,
    CHANNELS,
    MEMBERS,
    MESSAGES,
    REACTIONS,
    READS,
    BANS,
    MUTES,
    FLAGS,
    BLOCKLISTS,
    CAMPAIGNS,
    TASKS,
    META,
    CHANNEL_TYPES,
    COMMANDS,
    DEVICES,
    BLOCKS,
    CHANNEL_MUTES,
    DRAFTS,
    REMINDERS,
    LOCATIONS,
    HISTORY,
    THREAD_READS,
    POLLS,
    VOTES,
    FILES,
    IMPORTS,
    ROLES,
    PERMISSIONS,
    SEGMENTS,
    SEGMENT_TARGETS,
    PREDEFINED_FILTERS,
    PUSH_PROVIDERS,
    USER_GROUPS,
    REVIEW_ITEMS,
    MODERATION_CONFIGS,
    EVENTS,
)


class StoreError(RuntimeError):
    """The database file cannot be used (wrong schema, not a sandbox database)."""


class Store:
    """A single SQLite connection guarded by a lock; one transaction per request."""

    def __init__(self, db: str | Path = ":memory:") -> None:
        self.location = str(db)
        self._lock = threading.RLock()
        self._depth = 0
        self._on_commit: list[Callable[[], None]] = []
        try:
            self._conn = sqlite3.connect(
                self.location, check_same_thread=False, isolation_level=None
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.location} is not a usable sandbox database: {exc}") from exc
        try:
            self._create_schema()
        except (sqlite3.DatabaseError, StoreError) as exc:
            self._conn.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"{self.location} is not a usable sandbox database: {exc}") from exc

    # -- lifecycle -------------------------------------------------------------------------

    def _create_schema(self) -> None:
        with self.transaction():
            for table in TABLES:
                cols = ", ".join(f'"{c}" TEXT' for c in table.all_columns)
                keys = ", ".join(f'"{c}"' for c in table.keys)
                self._conn.execute(
                    f'CREATE TABLE IF NOT EXISTS "{table.name}" '
                    f"({cols}, doc TEXT NOT NULL, PRIMARY KEY ({keys}))"
                )
                for column in table.columns:
                    self._conn.execute(
                        f'CREATE INDEX IF NOT EXISTS "{table.name}_{column}" '
                        f'ON "{table.name}" ("{column}")'
                    )
            version = self.get(META, "schema_version")
            if version is None:
                self.put(META, {"key": "schema_version", "value": SCHEMA_VERSION})
            elif version.get("value") != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.location} holds sandbox schema {version.get('value')!r}, "
                    f"this version needs {SCHEMA_VERSION!r}"
                )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block atomically; nested uses join the outer transaction."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._on_commit.clear()
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
                self._run_on_commit()
            finally:
                self._depth = 0

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction commits (now, outside one).

        Callbacks run in registration order while the store's lock is still held, so work
        they hand on (webhook deliveries) keeps the order in which transactions committed.
        A rolled-back transaction drops its callbacks.
        """
        with self._lock:
            if self._depth:
                self._on_commit.append(callback)
                return
        callback()

    def _run_on_commit(self) -> None:
        callbacks, self._on_commit = self._on_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the data is committed: a failing follower must not undo it
                log.exception("sandbox after-commit callback failed")

    # -- documents -------------------------------------------------------------------------

    def get(self, table: Table, *key: str) -> dict[str, Any] | None:
        where = " AND ".join(f'"{c}" = ?' for c in table.keys)
        with self._lock:
            row = self._conn.execute(
                f'SELECT doc FROM "{table.name}" WHERE {where}', tuple(key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, table: Table, doc: Mapping[str, Any]) -> None:
        """Insert or replace a document; its column values are read from the doc itself."""
        values = [_column_value(doc.get(c)) for c in table.all_columns]
        for column, value in zip(table.keys, values, strict=False):
            if value is None:
                raise ValueError(f"{table.name}.{column} must be set")
        cols = ", ".join(f'"{c}"' for c in (*table.all_columns, "doc"))
        marks = ", ".join("?" for _ in range(len(table.all_columns) + 1))
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in (*table.columns, "doc"))
        keys = ", ".join(f'"{c}"' for c in table.keys)
        sql = (
            f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks}) '
            f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        )
        with self._lock:
            self._conn.execute(sql, (*values, json.dumps(doc, separators=(",", ":"))))

    def delete(self, table: Table, *key: str) -> bool:
        where = " AND ".join(f'"{c}" = ?' for c in table.keys)
        with self._lock:
            cursor = self._conn.execute(f'DELETE FROM "{table.name}" WHERE {where}', tuple(key))
        return cursor.rowcount > 0

    def delete_where(self, table: Table, **where: str | None) -> int:
        clause, params = _where(table, where)
        with self._lock:
            cursor = self._conn.execute(f'DELETE FROM "{table.name}"{clause}', params)
        return cursor.rowcount

    def select(
        self,
        table: Table,
        *,
        order_by: str | None = None,
        descending: bool = False,
        **where: str | None,
    ) -> list[dict[str, Any]]:
        """Documents whose columns equal ``where`` (``None`` matches NULL), optionally sorted."""
        clause, params = _where(table, where)
        order = ""
        if order_by is not None:
            if order_by not in table.all_columns:
                raise ValueError(f"{table.name} cannot be ordered by {order_by}")
            direction = "DESC" if descending else "ASC"
            order = f' ORDER BY "{order_by}" {direction}, rowid {direction}'
        with self._lock:
            rows = self._conn.execute(
                f'SELECT doc FROM "{table.name}"{clause}{order}', params
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def select_after(
        self,
        table: Table,
        *,
        column: str,
        after: str,
        within: tuple[str, Sequence[str]],
        order_by: str,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` documents with ``column > after`` whose ``within[0]`` column is one
        of ``within[1]``, in ``order_by`` order (an indexed range scan, for Sync)."""
        in_column, values = within
        for name in (column, in_column, order_by):
            if name not in table.all_columns:
                raise ValueError(f"{table.name} has no column {name}")
        if not values:
            return []
        marks = ", ".join("?" for _ in values)
        sql = (
            f'SELECT doc FROM "{table.name}" WHERE "{column}" > ? AND "{in_column}" IN ({marks}) '
            f'ORDER BY "{order_by}", rowid LIMIT ?'
        )
        with self._lock:
            rows = self._conn.execute(sql, (after, *values, limit)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def last(self, table: Table, order_by: str) -> dict[str, Any] | None:
        """The document with the greatest ``order_by`` value, if any."""
        if order_by not in table.all_columns:
            raise ValueError(f"{table.name} cannot be ordered by {order_by}")
        with self._lock:
            row = self._conn.execute(
                f'SELECT doc FROM "{table.name}" ORDER BY "{order_by}" DESC LIMIT 1'
            ).fetchone()
        return json.loads(row[0]) if row else None

    def count(self, table: Table, **where: str | None) -> int:
        clause, params = _where(table, where)
        with self._lock:
            row = self._conn.execute(
                f'SELECT COUNT(*) FROM "{table.name}"{clause}', params
            ).fetchone()
        return int(row[0])

    def __repr__(self) -> str:
        return f"Store({self.location!r})"


def _column_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _where(table: Table, where: Mapping[str, str | None]) -> tuple[str, tuple[str, ...]]:
    parts: list[str] = []
    params: list[str] = []
    for column, value in where.items():
        if column not in table.all_columns:
            raise ValueError(f"{table.name} has no column {column}")
        if value is None:
            parts.append(f'"{column}" IS NULL')
        else:
            parts.append(f'"{column}" = ?')
            params.append(value)
    clause = (" WHERE " + " AND ".join(parts)) if parts else ""
    return clause, tuple(params)
