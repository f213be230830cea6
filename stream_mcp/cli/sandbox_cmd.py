"""``stream-mcp sandbox``: run the local Stream-compatible backend until interrupted.

The app key and secret come from ``STREAM_API_KEY`` / ``STREAM_API_SECRET`` when both are set;
otherwise they are generated, and the secret is printed once, to this terminal only (it is
never logged). The first lines on stdout are ``KEY=value`` pairs a script can read.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from stream_mcp.errors import ConfigError
from stream_mcp.observability import Redactor

DEFAULT_PORT = 8766  # serve --transport http takes 8765: both can run side by side


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Stream-compatible Chat backend (SQLite, loopback)",
        description=(
            "Serve a local emulation of the Stream Chat REST API for offline runs and tests. "
            "Credentials come from STREAM_API_KEY/STREAM_API_SECRET, or are generated and "
            "printed once."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on; 0 picks a free one (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--db",
        default=":memory:",
        help="SQLite file that keeps the data between runs, or :memory: (default)",
    )
    parser.add_argument(
        "--drop-webhooks",
        type=float,
        default=0.0,
        metavar="P",
        help="throw away this share (0 to 1) of webhook deliveries at random, as Stream may "
        "lose some (default: 0)",
    )
    parser.add_argument(
        "--webhook-seed",
        type=int,
        default=None,
        help="seed for --drop-webhooks, to drop the same deliveries on every run",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="level for per-request logs on stderr (INFO shows each)",
    )
    parser.set_defaults(func=run)


class _RedactingFilter(logging.Filter):
    """Keeps the app secret and any token out of the sandbox's log lines."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.text(record.getMessage())
        record.args = None
        return True


def _configure_logging(level: str, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter(redactor))
    logger = logging.getLogger("stream_mcp.sandbox")
    logger.handlers[:] = [handler]
    logger.propagate = False
    numeric = logging.getLevelName(level.upper())
    logger.setLevel(numeric if isinstance(numeric, int) else logging.WARNING)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from stream_mcp.sandbox import Sandbox
    from stream_mcp.sandbox.auth import Credentials
    from stream_mcp.sandbox.store import StoreError

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port", field="port")
    if not 0.0 <= args.drop_webhooks <= 1.0:  # also refuses nan
        raise ConfigError(
            f"--drop-webhooks {args.drop_webhooks} must be between 0 and 1", field="drop_webhooks"
        )
    from_env = Credentials.from_env()
    db = args.db if args.db == ":memory:" else Path(args.db).expanduser()
    try:
        sandbox = Sandbox(
            db=db,
            api_key=from_env.api_key if from_env else None,
            api_secret=from_env.api_secret if from_env else None,
            drop_webhooks=args.drop_webhooks,
            webhook_seed=args.webhook_seed,
        )
    except StoreError as exc:
        raise ConfigError(str(exc), field="db") from None
    _configure_logging(args.log_level, Redactor([sandbox.api_secret]))
    try:
        sandbox.start(host=args.host, port=args.port)
    except (OSError, RuntimeError) as exc:
        sandbox.stop()
        raise ConfigError(f"cannot serve on {args.host}:{args.port}: {exc}") from None

    out = sys.stdout
    print(f"STREAM_BASE_URL={sandbox.base_url}", file=out)
    print(f"STREAM_API_KEY={sandbox.api_key}", file=out)
    if from_env:
        print("# STREAM_API_SECRET is taken from the environment", file=out)
    else:
        # Printed once, to this terminal only: the sandbox never writes it anywhere else.
        print(f"STREAM_API_SECRET={sandbox.api_secret}", file=out)
    dropping = f"; dropping {args.drop_webhooks:.0%} of webhooks" if args.drop_webhooks else ""
    print(
        f"# stream-mcp sandbox serving {sandbox.base_url} (db: {sandbox.db}{dropping}); "
        "Ctrl+C stops it",
        file=out,
    )
    out.flush()
    if not _is_loopback(args.host):
        print(
            f"warning: the sandbox is reachable beyond this machine on {args.host}", file=sys.stderr
        )

    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stopping.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping.wait(0.5):
            if not sandbox.running:
                print("error: the sandbox server stopped unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
    return 0
