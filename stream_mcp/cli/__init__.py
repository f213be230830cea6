"""The ``stream-mcp`` command line.

Each group of sub-commands lives in its own module with a ``register(subparsers)`` function
that attaches parsers whose ``func(args) -> int`` does the work. Only the module of the command
being run is imported: :data:`COMMANDS` names every command with its one-line help, which is
all the top-level ``--help`` shows, so ``stream-mcp ops`` never pays for the server's imports.
Expected failures (:class:`~stream_mcp.errors.StreamMCPError`) become a one-line ``error: …``
on stderr and exit status 2; nothing prints a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

from stream_mcp import __version__
from stream_mcp.errors import StreamMCPError


class Command(NamedTuple):
    """A sub-command, the module whose ``register`` defines it, and its line in ``--help``."""

    name: str
    module: str
    help: str


# In ``--help`` order; a module's commands are adjacent. tests/test_startup.py checks that each
# help line is the one its module registers.
COMMANDS: tuple[Command, ...] = (
    Command("ops", "stream_mcp.cli.catalog_cmds", "list every operation in the catalog"),
    Command("describe", "stream_mcp.cli.catalog_cmds", "show one operation and its input schema"),
    Command("search", "stream_mcp.cli.search_cmd", "find operations for a task in plain words"),
    Command("vault", "stream_mcp.cli.vault_cmds", "manage the encrypted credential vault"),
    Command(
        "token",
        "stream_mcp.cli.vault_cmds",
        "print a user token for a frontend, under the profile's policy",
    ),
    Command(
        "sandbox",
        "stream_mcp.cli.sandbox_cmd",
        "run a local Stream-compatible Chat backend (SQLite, loopback)",
    ),
    Command("serve", "stream_mcp.cli.serve_cmds", "run the MCP server (stdio or streamable HTTP)"),
    Command("demo", "stream_mcp.cli.serve_cmds", "walk a scenario on the embedded sandbox"),
    Command("config", "stream_mcp.cli.serve_cmds", "print an mcpServers snippet for a client"),
    Command(
        "events",
        "stream_mcp.cli.events_cmds",
        "receive Stream webhooks into the event store, or read it",
    ),
    Command(
        "db",
        "stream_mcp.cli.db_cmds",
        "migrate or inspect the PostgreSQL schema",
    ),
)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv``: the first word that is not an option.

    The top-level options (``-h``, ``--version``) take no value, so this is what argparse
    will pick too.
    """
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the real sub-parsers only for ``command``'s module.

    Every other command gets a bare stand-in carrying its help line: enough to list it and to
    reject a misspelt name, without importing its module.
    """
    parser = argparse.ArgumentParser(
        prog="stream-mcp",
        description="Stream Chat for AI agents: an MCP server, its catalog, vault and sandbox.",
    )
    parser.add_argument("--version", action="version", version=f"stream-mcp {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((c.module for c in COMMANDS if c.name == command), None)
    for i, cmd in enumerate(COMMANDS):
        if cmd.module != wanted:
            subparsers.add_parser(cmd.name, help=cmd.help)
        elif i == 0 or COMMANDS[i - 1].module != wanted:
            importlib.import_module(cmd.module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(chosen_command(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except StreamMCPError as exc:
        print(f"error: {_redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: say so in one line, keep details opt-in
        if os.environ.get("STREAM_MCP_DEBUG"):
            raise
        message = _redact(f"{exc.__class__.__name__}: {exc}")
        print(
            f"error: unexpected {message} (STREAM_MCP_DEBUG=1 shows the traceback)", file=sys.stderr
        )
        return 1


def _redact(text: str) -> str:
    """Imported here: observability loads structlog, which only an error message needs."""
    from stream_mcp.observability import redact_text

    return redact_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
