"""``stream-mcp serve``, ``demo`` and ``config``: run the MCP server and connect clients."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from stream_mcp.config import Settings, load_settings
from stream_mcp.errors import ConfigError
from stream_mcp.observability import configure_logging, get_logger

if TYPE_CHECKING:
    from stream_mcp.server.http import KeyVerifier
    from stream_mcp.server.oauth import OAuthResource
    from stream_mcp.service import StreamService

log = get_logger("stream_mcp.cli")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser("serve", help="run the MCP server (stdio or streamable HTTP)")
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--profile", help="vault profile (default: STREAM_MCP_PROFILE or default)")
    serve.add_argument("--mode", choices=("discovery", "static"), default="discovery")
    serve.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="static mode: operations to expose (repeatable)",
    )
    serve.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="static mode: operations to hide (repeatable)",
    )
    serve.add_argument("--sandbox", action="store_true", help="serve against an embedded sandbox")
    serve.add_argument(
        "--sandbox-db",
        metavar="PATH|:memory:",
        help="sandbox database (default: sandbox.db in the data directory)",
    )
    serve.add_argument(
        "--read-only", action="store_true", help="refuse every operation that changes data"
    )
    serve.add_argument("--spec", type=Path, help="Stream's official OpenAPI file to serve")
    serve.add_argument(
        "--stateless",
        action="store_true",
        help="http: no MCP sessions, so replicas need no sticky routing",
    )
    serve.add_argument(
        "--sandbox-drop-webhooks",
        type=float,
        metavar="SHARE",
        help="embedded sandbox: drop this share (0-1) of its webhook deliveries, as Stream may",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="http: extra Host header to accept (DNS-rebinding protection)",
    )
    serve.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="http: extra Origin header to accept",
    )
    serve.set_defaults(func=run_serve)

    demo = subparsers.add_parser("demo", help="walk a scenario on the embedded sandbox")
    demo.set_defaults(func=run_demo_cmd)

    config = subparsers.add_parser("config", help="print an mcpServers snippet for a client")
    config.add_argument("client", choices=("claude", "cursor"))
    config.add_argument("--profile", help="vault profile to serve")
    config.add_argument("--sandbox", action="store_true", help="configure the sandbox instead")
    config.set_defaults(func=run_config)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "profile", None):
        overrides["profile"] = args.profile
    if getattr(args, "spec", None):
        overrides["spec"] = args.spec
    return load_settings(Settings, **overrides)


@asynccontextmanager
async def _service(args: argparse.Namespace, settings: Settings) -> AsyncIterator[StreamService]:
    from stream_mcp.runtime import embedded_sandbox, open_service
    from stream_mcp.vault import open_credentials

    async with AsyncExitStack() as stack:
        if args.sandbox:
            drop = getattr(args, "sandbox_drop_webhooks", None) or 0.0
            if not 0.0 <= drop <= 1.0:
                raise ConfigError(
                    "--sandbox-drop-webhooks: give a share between 0 and 1",
                    field="sandbox_drop_webhooks",
                )
            handle = stack.enter_context(
                embedded_sandbox(
                    settings, args.sandbox_db, read_only=args.read_only, drop_webhooks=drop
                )
            )
            service = await stack.enter_async_context(open_service(settings, handle.credentials))
        else:
            credentials = open_credentials(settings, settings.profile)
            if args.read_only:
                credentials = credentials.with_policy(
                    credentials.policy.model_copy(update={"read_only": True})
                )
            service = await stack.enter_async_context(open_service(settings, credentials))
        yield service


def run_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(
        fmt="json" if args.transport == "stdio" else settings.log_format, level=settings.log_level
    )
    if args.mode == "discovery" and (args.include or args.exclude):
        raise ConfigError("--include/--exclude apply to --mode static", field="mode")
    if args.transport == "stdio":
        anyio.run(_serve_stdio, args, settings)
    else:
        anyio.run(_serve_http, args, settings)
    return 0


def _feed_store(args: argparse.Namespace) -> str | None:
    """An in-memory sandbox keeps its events in memory too."""
    return ":memory:" if args.sandbox and args.sandbox_db == ":memory:" else None


async def _serve_stdio(args: argparse.Namespace, settings: Settings) -> None:
    from stream_mcp.runtime import open_feed
    from stream_mcp.server import build_server
    from stream_mcp.server.stdio import guarded_stdio_server

    async with (
        _service(args, settings) as service,
        open_feed(settings, service, store_path=_feed_store(args)) as feed,
    ):
        server = build_server(
            service,
            mode=args.mode,
            include=args.include or ("*",),
            exclude=args.exclude,
            confirm_timeout=settings.confirm_timeout,
            feed=feed,
        )
        log.info(
            "serving", transport="stdio", profile=service.credentials.profile_name, mode=args.mode
        )
        async with guarded_stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


async def _serve_http(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from stream_mcp.runtime import open_feed, point_sandbox_webhooks
    from stream_mcp.server import build_server
    from stream_mcp.server.http import (
        Drain,
        add_health_routes,
        add_webhook_route,
        build_http_app,
    )

    oauth = _oauth(settings)
    verify = _api_keys(settings, oauth_configured=oauth is not None)
    async with (
        _service(args, settings) as service,
        open_feed(settings, service, store_path=_feed_store(args)) as feed,
    ):
        server = build_server(
            service,
            mode=args.mode,
            include=args.include or ("*",),
            exclude=args.exclude,
            confirm_timeout=settings.confirm_timeout,
            feed=feed,
        )
        drain = Drain()
        app = build_http_app(
            server,
            drain=drain,
            stateless=settings.http_stateless or args.stateless,
            verify=verify,
            profile=service.credentials.profile_name,
            mode=args.mode,
            host=args.host,
            port=args.port,
            extra_hosts=tuple(args.allowed_host),
            extra_origins=tuple(args.allowed_origin),
            oauth=oauth,
        )
        if feed is not None:
            add_webhook_route(app, service, feed, settings.webhook_path)
            if args.sandbox:
                # The embedded sandbox delivers its webhooks here, as Stream would.
                await point_sandbox_webhooks(
                    service, f"http://127.0.0.1:{args.port}{settings.webhook_path}"
                )
        checks: dict[str, Any] = dict(service.readiness())
        if feed is not None:
            checks["event_store"] = feed.store.ping
        add_health_routes(app, checks)
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
        )
        log.info(
            "serving",
            transport="http",
            url=f"http://{args.host}:{args.port}/mcp",
            profile=service.credentials.profile_name,
            mode=args.mode,
            oauth_issuer=oauth.config.issuer if oauth is not None else None,
            api_keys=verify is not None,
        )
        await graceful_server(config, feed, drain).serve()


SHUTDOWN_GRACE = 30  # seconds in-flight calls get to finish after SIGTERM


def _graceful_server_class() -> type[Any]:
    import asyncio
    import contextlib
    import signal
    import threading
    from collections.abc import Iterator

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """A graceful SIGTERM/SIGINT: new MCP calls get 503, long-polls answer within a
        second with what they have, in-flight calls finish (up to SHUTDOWN_GRACE), and only
        then does uvicorn stop (it ends every SSE stream at once when it does); the stores
        close as the contexts exit, and the process exits 0. A second signal stops at once."""

        def __init__(self, config: uvicorn.Config, feed: Any, drain: Any) -> None:
            super().__init__(config)
            self._feed = feed
            self._drain = drain
            self._finishing: asyncio.Task[None] | None = None

        def handle_exit(self, sig: int, frame: Any) -> None:
            if self._drain.closing:
                super().handle_exit(sig, frame)
                return
            self._drain.closing = True
            if self._feed is not None:
                self._feed.stop_waiting()
            log.info("shutting_down", signal=sig, in_flight=self._drain.active)
            loop = asyncio.get_event_loop()
            loop.call_soon_threadsafe(self._finish_later, sig, frame)

        def _finish_later(self, sig: int, frame: Any) -> None:
            self._finishing = asyncio.ensure_future(self._finish(sig, frame))

        async def _finish(self, sig: int, frame: Any) -> None:
            drained = await self._drain.idle(SHUTDOWN_GRACE)
            if not drained:
                log.warning("shutdown_grace_expired", in_flight=self._drain.active)
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn's own version re-raises the signal after serving, which would kill the
            # process before the stores close; this one only restores the old handlers.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            signals = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return GracefulServer


def graceful_server(config: Any, feed: Any, drain: Any) -> Any:
    """A uvicorn server with a graceful shutdown (uvicorn is imported only here)."""
    return _graceful_server_class()(config, feed, drain)


def _oauth(settings: Settings) -> OAuthResource | None:
    from stream_mcp.server.oauth import OAuthConfig, OAuthResource

    config = OAuthConfig.from_settings(settings)
    return OAuthResource(config) if config is not None else None


def _api_keys(settings: Settings, *, oauth_configured: bool) -> KeyVerifier | None:
    """The vault's API-key check; with OAuth configured, a vault without keys means none."""
    from stream_mcp.errors import VaultNotFound
    from stream_mcp.vault import api_key_verifier

    try:
        return api_key_verifier(settings)
    except (VaultNotFound, ConfigError) as exc:
        if not oauth_configured or not (isinstance(exc, VaultNotFound) or exc.field == "api_keys"):
            raise
        log.info("api_keys_off", reason=str(exc))
        return None


def run_demo_cmd(args: argparse.Namespace) -> int:
    from stream_mcp.cli.demo import run_demo

    return run_demo()


def _default_profile(settings: Settings) -> str:
    """The profile a snippet should serve when none was named: the vault's only profile, or
    the configured one with a warning that names the choices."""
    from stream_mcp.vault import KeySource, VaultFile

    chosen = settings.profile
    try:
        # Listing names opens nothing: no master key is asked for.
        profiles = VaultFile(settings.vault_path, KeySource.from_environment()).list_profiles()
    except ConfigError:
        print(
            f"note: no readable vault at {settings.vault_path}; using {chosen!r}", file=sys.stderr
        )
        return chosen
    if len(profiles) == 1 and chosen not in profiles:
        return profiles[0]
    if chosen not in profiles:
        known = ", ".join(profiles) or "none yet"
        print(
            f"warning: the vault has no profile {chosen!r} (profiles: {known}); pass --profile",
            file=sys.stderr,
        )
    return chosen


def run_config(args: argparse.Namespace) -> int:
    """A ready ``mcpServers`` entry: absolute command path, and the env it needs."""
    command = shutil.which("stream-mcp") or str(Path(sys.argv[0]).resolve())
    server_args = ["serve"]
    env: dict[str, str] = {}
    if args.sandbox:
        server_args.append("--sandbox")
    else:
        settings = load_settings(Settings)
        env["STREAM_MCP_PROFILE"] = args.profile or _default_profile(settings)
        env["STREAM_MCP_VAULT_PATH"] = str(settings.vault_path)
        if os.environ.get("STREAM_MCP_VAULT_KEY"):
            # Never print the key itself: the snippet ends up in files and screenshots.
            env["STREAM_MCP_VAULT_KEY"] = "<paste your STREAM_MCP_VAULT_KEY here>"
            print("note: put your vault key in the snippet's env", file=sys.stderr)
        else:
            print("note: the server will read the vault key from the OS keyring", file=sys.stderr)
    entry: dict[str, Any] = {"command": command, "args": server_args}
    if env:
        entry["env"] = env
    if args.client == "cursor":
        entry["type"] = "stdio"
    json.dump({"mcpServers": {"stream-chat": entry}}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
