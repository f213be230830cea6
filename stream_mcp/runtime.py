"""Assemble the product from settings: catalog, search, credentials, executor, audit.

Also the embedded-sandbox wiring for ``--sandbox`` and ``demo``: the sandbox is started
in-process (it is the only place the product imports it) and a profile is made for it:
default acting user ``agent-bot``, any user may be acted as, server-only operations granted.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from stream_mcp.auth import Credentials, Policy, Signer
from stream_mcp.catalog import Catalog, load_catalog
from stream_mcp.config import Settings
from stream_mcp.errors import SpecError, StreamMCPError
from stream_mcp.execution import Executor, ExecutorConfig, make_budget
from stream_mcp.observability import AuditLog, get_logger
from stream_mcp.search import SearchIndex
from stream_mcp.service import StreamService

if TYPE_CHECKING:
    from stream_mcp.events import EventFeed, EventStore

SANDBOX_PROFILE = "sandbox"
SANDBOX_USER = "agent-bot"

log = get_logger("stream_mcp.runtime")


def load_checked_catalog(settings: Settings) -> Catalog:
    """The catalog; one loaded from a user's ``--spec`` is linted before it is served.

    The built-in catalog is linted by the test suite, so only ``--spec`` loads the linter
    here (and jsonschema with it).
    """
    catalog = load_catalog(settings.spec)
    if settings.spec is None:
        return catalog
    from stream_mcp.catalog.lint import lint_schema
    from stream_mcp.catalog.schemas import compile_input

    for op in catalog:
        problems = lint_schema(compile_input(catalog, op, "full").schema)
        if problems:
            raise SpecError(f"{settings.spec}: {op.operation_id}: {problems[0]}")
    return catalog


@asynccontextmanager
async def open_service(
    settings: Settings, credentials: Credentials, catalog: Catalog | None = None
) -> AsyncIterator[StreamService]:
    """A ready :class:`StreamService`; its HTTP client (and Redis client) are closed on exit.

    The search index is built on the first search, not here: a client lists the tools first.
    With ``STREAM_MCP_DATABASE_URL`` the schema is migrated here (the server refuses to start
    when the database is unreachable or newer) and audit rows are also written there.
    """
    catalog = catalog or load_checked_catalog(settings)
    redactor = credentials.redactor()
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    budget = make_budget(
        limit=settings.budget_per_minute,
        app_share=settings.app_budget_share,
        api_key=credentials.api_key,
        redis_url=redis_url,
    )
    executor = Executor(
        api_key=credentials.api_key,
        base_url=credentials.base_url,
        redactor=redactor,
        config=ExecutorConfig(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_retries=settings.max_retries,
            budget_per_minute=settings.budget_per_minute,
            app_budget_share=settings.app_budget_share,
            response_token_cap=settings.response_token_cap,
        ),
        budget=budget,
    )
    try:
        async with AsyncExitStack() as stack:
            sink = None
            dsn = settings.database_dsn()
            if dsn is not None:
                from stream_mcp.db import PostgresAuditSink, check_schema

                if not settings.db_migrate:
                    await check_schema(dsn)
                sink = await stack.enter_async_context(
                    PostgresAuditSink.running(dsn, migrate_schema=settings.db_migrate)
                )
            yield StreamService(
                catalog=catalog,
                index=SearchIndex.from_catalog(catalog),
                credentials=credentials,
                executor=executor,
                audit=AuditLog(settings.audit_log, redactor=redactor, sink=sink),
            )
    finally:
        try:
            await executor.aclose()
        finally:
            await budget.aclose()


async def open_event_store(
    settings: Settings, profile: str, *, store_path: str | None = None
) -> EventStore:
    """PostgreSQL when ``STREAM_MCP_DATABASE_URL`` is set, else the profile's SQLite file;
    ``store_path`` forces a SQLite file (``:memory:``). The caller closes it."""
    from stream_mcp.events import SQLiteEventStore

    dsn = settings.database_dsn()
    if dsn is not None and store_path is None:
        from stream_mcp.db import check_schema
        from stream_mcp.events import PostgresEventStore  # needs the scale extra

        if not settings.db_migrate:
            await check_schema(dsn)
        return await PostgresEventStore.open(
            dsn, profile=profile, migrate_schema=settings.db_migrate
        )
    return SQLiteEventStore(store_path or str(settings.events_path(profile)))


@asynccontextmanager
async def open_feed(
    settings: Settings, service: StreamService, *, store_path: str | None = None
) -> AsyncIterator[EventFeed | None]:
    """The profile's event feed with its background Sync running, or None when
    ``STREAM_MCP_EVENTS`` is off. The store is PostgreSQL when ``STREAM_MCP_DATABASE_URL`` is
    set, else a SQLite file; ``store_path`` forces a SQLite file (``:memory:``)."""
    if not settings.events:
        yield None
        return
    from stream_mcp.events import EventFeed, FeedConfig, Retention, channel_list

    store = await open_event_store(
        settings, service.credentials.profile_name, store_path=store_path
    )
    config = FeedConfig(
        channels=channel_list(settings.events_channels),
        sync_interval=settings.events_sync_interval,
        retention=Retention(
            max_age_seconds=settings.events_retention_days * 86400,
            max_count=settings.events_retention_count,
        ),
    )
    feed = EventFeed(store, service, config)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(feed.run)
            try:
                yield feed
            finally:
                tasks.cancel_scope.cancel()
    finally:
        await store.aclose()


# --------------------------------------------------------------------------- sandbox


async def point_sandbox_webhooks(service: StreamService, url: str) -> None:
    """Ask the embedded sandbox to deliver its webhooks to ``url`` (the server's own intake),
    as Stream would after UpdateApp; it goes through policy and audit, and a failure is only
    logged."""
    try:
        await service.execute("UpdateApp", {"webhook_url": url})
    except StreamMCPError as exc:
        log.warning("webhook_setup_failed", error=exc.kind, reason=str(exc))


@dataclass(frozen=True)
class SandboxHandle:
    """A running embedded sandbox and the credentials that reach it."""

    base_url: str
    credentials: Credentials

    def __repr__(self) -> str:
        return f"SandboxHandle(base_url={self.base_url!r})"


def sandbox_db_path(settings: Settings, db: str | None) -> str:
    """``:memory:``, an explicit path, or ``sandbox.db`` in the data directory."""
    if db == ":memory:":
        return db
    path = Path(db) if db else settings.data_dir / "sandbox.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


@contextmanager
def embedded_sandbox(
    settings: Settings,
    db: str | None = None,
    *,
    read_only: bool = False,
    drop_webhooks: float = 0.0,
) -> Iterator[SandboxHandle]:
    """Start the sandbox in this process, on a free loopback port, and stop it on exit.

    It uses ``STREAM_API_KEY``/``STREAM_API_SECRET`` when both are set, fresh ones otherwise.
    ``drop_webhooks`` is the share of its webhook deliveries it loses, as Stream may.
    """
    from stream_mcp.sandbox import Sandbox  # imported only when a sandbox is asked for

    api_key = os.environ.get("STREAM_API_KEY") or None
    api_secret = os.environ.get("STREAM_API_SECRET") or None
    if not (api_key and api_secret):
        api_key = api_secret = None
    # agent-bot starts as an admin, so the agent can moderate; no call bypasses the policy.
    sandbox = Sandbox(
        db=sandbox_db_path(settings, db),
        api_key=api_key,
        api_secret=api_secret,
        admins=(SANDBOX_USER,),
        drop_webhooks=drop_webhooks,
    )
    sandbox.start(host="127.0.0.1", port=0)
    try:
        credentials = Credentials(
            profile_name=SANDBOX_PROFILE,
            api_key=sandbox.api_key,
            signer=Signer(sandbox.api_secret),
            base_url=sandbox.base_url,
            policy=Policy(
                default_user=SANDBOX_USER,
                allowed_users=("*",),
                server_auth="server_only",
                read_only=read_only,
            ),
        )
        yield SandboxHandle(base_url=sandbox.base_url, credentials=credentials)
    finally:
        sandbox.stop()
