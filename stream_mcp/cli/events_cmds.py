"""``stream-mcp events``: receive Stream's webhooks into the event store, and read it.

``events serve`` is the intake on its own, for setups where the MCP server runs over stdio
(Claude Desktop, Cursor) and so has no HTTP listener: it writes to the same store file the
stdio servers of that profile read. ``events tail`` prints what the store holds (for the
operator, so no agent scope applies).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio

from stream_mcp.config import Settings, load_settings
from stream_mcp.observability import configure_logging, get_logger

DEFAULT_PORT = 8767  # serve takes 8765 and the sandbox 8766

log = get_logger("stream_mcp.cli")


def register(subparsers: Any) -> None:
    events = subparsers.add_parser(
        "events", help="receive Stream webhooks into the event store, or read it"
    )
    sub = events.add_subparsers(dest="events_command", metavar="SUBCOMMAND", required=True)
    serve = sub.add_parser("serve", help="run the webhook receiver for a profile")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--profile", help="vault profile (default: STREAM_MCP_PROFILE or default)")
    serve.set_defaults(func=run_serve)
    tail = sub.add_parser("tail", help="print stored events as JSON lines")
    tail.add_argument("--profile", help="vault profile (default: STREAM_MCP_PROFILE or default)")
    tail.add_argument("--after", type=int, default=None, help="cursor (default: the last 20)")
    tail.add_argument("--limit", type=int, default=20)
    tail.add_argument("--follow", action="store_true", help="keep printing new events")
    tail.set_defaults(func=run_tail)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(Settings, **({"profile": args.profile} if args.profile else {}))


def run_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    anyio.run(_serve, args, settings)
    return 0


async def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from stream_mcp.events import WebhookIntake, learn_membership
    from stream_mcp.runtime import open_event_store
    from stream_mcp.vault import open_credentials

    credentials = open_credentials(settings, settings.profile)
    store = await open_event_store(settings, credentials.profile_name)

    async def learn(events: Any) -> None:
        await learn_membership(store, events)

    intake = WebhookIntake(credentials, store, listeners=(learn,))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            with anyio.fail_after(2):
                await store.ping()
        except Exception:
            return JSONResponse({"status": "unavailable", "failed": ["event_store"]}, 503)
        return JSONResponse({"status": "ready", "checked": ["event_store"]})

    app = Starlette(
        routes=[
            Route(settings.webhook_path, intake.endpoint, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]
    )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", access_log=False
    )
    log.info(
        "receiving_webhooks",
        url=f"http://{args.host}:{args.port}{settings.webhook_path}",
        profile=credentials.profile_name,
        store=repr(store),
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await store.aclose()


def run_tail(args: argparse.Namespace) -> int:
    settings = _settings(args)
    anyio.run(_tail, args, settings)
    return 0


async def _tail(args: argparse.Namespace, settings: Settings) -> None:
    from stream_mcp.runtime import open_event_store

    # The store is named after the profile; no credentials are needed to read it.
    store = await open_event_store(settings, settings.profile)
    try:
        limit = max(1, min(args.limit, 1000))
        cursor = args.after if args.after is not None else max(0, await store.head() - limit)
        while True:
            for event in await store.read(cursor, limit):
                cursor = event.seq
                sys.stdout.write(json.dumps({"cursor": event.seq, **event.compact()}) + "\n")
            sys.stdout.flush()
            if not args.follow:
                return
            await store.wait(cursor, 30)
    finally:
        await store.aclose()
