"""Embedding: run the sandbox in-process, on a loopback socket served by uvicorn in a thread.

>>> with Sandbox() as sb:                       # doctest: +SKIP
...     StreamChat(api_key=sb.api_key, api_secret=sb.api_secret, base_url=sb.base_url)

The socket is bound before the server thread starts, so ``port=0`` yields a known free port
and :meth:`Sandbox.start` returns only once requests are being served. The sandbox owns its
webhook delivery thread and stops it with the server, as soon as it is asked: see
:class:`_PromptServer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from stream_mcp.sandbox.app import build_app
from stream_mcp.sandbox.auth import Credentials
from stream_mcp.sandbox.clock import Clock
from stream_mcp.sandbox.ratelimit import RateLimits
from stream_mcp.sandbox.store import Store
from stream_mcp.sandbox.webhooks import WebhookCounters, Webhooks

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
TICK_SECONDS = 0.1  # how often uvicorn's housekeeping (the Date header) runs
DRAIN_POLL_SECONDS = 0.005


class _PromptServer(uvicorn.Server):
    """uvicorn's server, but one that stops when told instead of on its next tick.

    uvicorn checks ``should_exit`` every tenth of a second, then always waits another tenth
    after asking open connections to close: about 0.2 s for every stop, paid by each
    ``serve --sandbox`` exit and by every test that starts a sandbox. Here :meth:`stop_soon`
    wakes the loop at once, and shutdown waits only as long as responses are still being
    written, checking every few milliseconds, up to ``timeout_graceful_shutdown`` (unset:
    :data:`STOP_TIMEOUT_SECONDS`); whatever is still running then is cancelled. The sandbox
    serves with ``lifespan="off"``, so there is no lifespan shutdown event to send.
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    def stop_soon(self) -> None:
        """Ask the server to stop, from any thread."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        tick = 0
        while not await self.on_tick(tick):
            tick = (tick + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for listener in self.servers:
            listener.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after
        loop = asyncio.get_running_loop()
        grace = self.config.timeout_graceful_shutdown
        deadline = loop.time() + (STOP_TIMEOUT_SECONDS if grace is None else grace)
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        for task in list(state.tasks):
            task.cancel()
        for listener in self.servers:
            await listener.wait_closed()


class Sandbox:
    """A local Stream-compatible backend: SQLite state plus an ASGI app, optionally served."""

    def __init__(
        self,
        db: str | Path = ":memory:",
        api_key: str | None = None,
        api_secret: str | None = None,
        rate_limits: RateLimits | None = None,
        admins: tuple[str, ...] = (),
        *,
        drop_webhooks: float = 0.0,
        webhook_seed: int | None = None,
    ) -> None:
        """``rate_limits`` sets how many calls a minute are allowed (Stream's by default);
        ``admins`` are users created with the admin role when they first appear;
        ``drop_webhooks`` is the share (0 to 1) of webhook deliveries thrown away at random,
        reproducibly with ``webhook_seed``, to rehearse lost webhooks."""
        self._credentials = Credentials.generate(api_key, api_secret)
        self._webhooks = Webhooks(self._credentials, drop_rate=drop_webhooks, seed=webhook_seed)
        self._store = Store(db)
        self.rate_limits = rate_limits or RateLimits()
        self.app: Starlette = build_app(
            self._store,
            self._credentials,
            Clock(),
            self.rate_limits,
            frozenset(admins),
            webhooks=self._webhooks,
        )
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._closed = False

    @property
    def api_key(self) -> str:
        return self._credentials.api_key

    @property
    def api_secret(self) -> str:
        return self._credentials.api_secret

    @property
    def db(self) -> str:
        return self._store.location

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the sandbox is not serving: call start() first")
        return self._base_url

    @property
    def webhooks(self) -> WebhookCounters:
        """Webhook deliveries so far: delivered, dropped (``drop_webhooks``) and failed."""
        return self._webhooks.counters

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook delivery was attempted; False on timeout."""
        return self._webhooks.wait_idle(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        """Serve on ``host:port`` in a background thread; return once it is listening."""
        if self._closed:
            raise RuntimeError("this sandbox was stopped; create a new one")
        if self._thread is not None:
            raise RuntimeError("the sandbox is already serving")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets of that
        # protocol, and without it every response waits ~40 ms on delayed ACKs.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
        )
        server = _PromptServer(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="stream-mcp-sandbox", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the sandbox did not start on {host}:{bound_port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        url_host = f"[{host}]" if family == socket.AF_INET6 else host
        self._base_url = f"http://{url_host}:{bound_port}"
        return self

    def stop(self) -> None:
        """Stop serving (if serving), stop webhook delivery (abandoning what is still queued)
        and close the database. Idempotent."""
        if self._server is not None and self._thread is not None:
            self._server.stop_soon()
            self._thread.join(STOP_TIMEOUT_SECONDS + 1)
        self._webhooks.close()
        self._server = None
        self._thread = None
        self._base_url = None
        if not self._closed:
            self._store.close()
            self._closed = True

    def __enter__(self) -> Sandbox:
        if self._thread is None:
            try:
                self.start()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Sandbox(api_key={self.api_key!r}, base_url={self._base_url!r})"
