"""The ``stream-mcp`` command line.

Each group of sub-commands lives in its own module with a ``register(subparsers)`` function
that attaches parsers whose ``func(args) -> int`` does the work. Expected failures
(:class:`~stream_mcp.errors.StreamMCPError`) become a one-line ``error: …`` on stderr and exit
status 2; nothing prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from stream_mcp import __version__
from stream_mcp.errors import StreamMCPError
from stream_mcp.observability import redact_text

COMMAND_MODULES = (
    "stream_mcp.cli.catalog_cmds",
    "stream_mcp.cli.search_cmd",
    "stream_mcp.cli.vault_cmds",
    "stream_mcp.cli.sandbox_cmd",
    "stream_mcp.cli.serve_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stream-mcp",
        description="Stream Chat for AI agents: an MCP server, its catalog, vault and sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"stream-mcp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except StreamMCPError as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: say so in one line, keep details opt-in
        if os.environ.get("STREAM_MCP_DEBUG"):
            raise
        message = redact_text(f"{exc.__class__.__name__}: {exc}")
        print(
            f"error: unexpected {message} (STREAM_MCP_DEBUG=1 shows the traceback)", file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
