"""``stream-mcp ops`` and ``stream-mcp describe``: read the catalog from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from stream_mcp.catalog import Catalog, Operation, load_catalog
from stream_mcp.catalog.schemas import DETAILS, compile_input
from stream_mcp.errors import ValidationError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ops = subparsers.add_parser("ops", help="list every operation in the catalog")
    ops.add_argument("--json", action="store_true", help="print a JSON array")
    _spec_option(ops)
    ops.set_defaults(func=run_ops)

    describe = subparsers.add_parser("describe", help="show one operation and its input schema")
    describe.add_argument("operation_id", nargs="?", help="e.g. SendMessage")
    describe.add_argument("--all", action="store_true", help="describe every operation")
    describe.add_argument("--detail", choices=DETAILS, default="brief")
    describe.add_argument("--json", action="store_true", help="print JSON")
    _spec_option(describe)
    describe.set_defaults(func=run_describe)


def _spec_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        type=Path,
        help="Stream's official OpenAPI file (or a tool_specs directory) instead of the built-in",
    )


def run_ops(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.spec)
    rows = [op.summary_row() for op in catalog]
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for row in rows:
        flags = "".join(
            (
                "R" if row["read_only"] else "-",
                "D" if row["destructive"] else "-",
                "I" if row["idempotent"] else "-",
                "U" if row["user_token"] else "S",
            )
        )
        print(f"{row['operation_id']:<36} {flags}  {row['method']:<6} {row['path']}")
    print(f"\n{len(rows)} operations. Flags: Read-only, Destructive, Idempotent, User/Server auth.")
    return 0


def describe(catalog: Catalog, op: Operation, detail: str) -> dict[str, Any]:
    tool_input = compile_input(catalog, op, detail)  # type: ignore[arg-type]
    return {
        **op.summary_row(),
        "description": op.description,
        "actors": list(op.actors),
        "intents": list(op.intents),
        "detail": detail,
        "input_schema": tool_input.schema,
    }


def run_describe(args: argparse.Namespace) -> int:
    if args.all == bool(args.operation_id):
        raise ValidationError(
            "describe: give exactly one of OPERATION_ID or --all", field="operation_id"
        )
    catalog = load_catalog(args.spec)
    ops = list(catalog) if args.all else [catalog.get(args.operation_id)]
    described = [describe(catalog, op, args.detail) for op in ops]
    if args.json:
        json.dump(described if args.all else described[0], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for item in described:
        auth = "user token" if item["user_token"] else "server-side auth only"
        print(f"{item['operation_id']}  {item['method']} {item['path']}  ({auth})")
        print(f"  {item['summary']}")
        print(f"  {item['description']}")
        print("  input_schema:")
        print("    " + json.dumps(item["input_schema"], indent=2).replace("\n", "\n    "))
    return 0
