"""``stream-mcp search``: find the operation for a task, described in plain words."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stream_mcp.catalog import load_catalog
from stream_mcp.search import MAX_LIMIT, SearchIndex, SearchResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "search",
        help="find operations for a task in plain words",
        description="Rank the catalog's operations for a request such as "
        '"kick bob out of #general". With no query, list the categories.',
    )
    parser.add_argument("query", nargs="*", help="the request; quoting is optional")
    parser.add_argument(
        "--limit", type=int, default=5, help=f"how many hits to show, 1 to {MAX_LIMIT}"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.add_argument(
        "--spec",
        type=Path,
        help="Stream's official OpenAPI file (or a tool_specs directory) instead of the built-in",
    )
    parser.set_defaults(func=run_search)


def run_search(args: argparse.Namespace) -> int:
    index = SearchIndex.from_catalog(load_catalog(args.spec))
    result = index.search(" ".join(args.query), limit=args.limit)
    if args.json:
        print_json(result)
    else:
        print_table(result)
    return 0


def print_json(result: SearchResult) -> None:
    """A ranked array of hits (or of categories, for an empty query); notes go to stderr."""
    rows = result.overview if result.overview is not None else [h.to_dict() for h in result.hits]
    json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    if result.message:
        print(result.message, file=sys.stderr)


def print_table(result: SearchResult) -> None:
    if result.overview is not None:
        print(f"{'category':<15} {'ops':>4}  examples")
        for row in result.overview:
            print(f"{row['group']:<15} {row['count']:>4}  {', '.join(row['examples'])}")
        print('\nSearch with a request, e.g. stream-mcp search "send a message to #general".')
        return
    if result.message:
        print(result.message)
        if not result.hits:
            return
        print()
    width = max(len(h.operation_id) for h in result.hits)
    print(f"{'#':>2}  {'operation':<{width}}  {'auth':<6} {'flags':<5} {'score':>6}  summary")
    for rank, hit in enumerate(result.hits, start=1):
        flags = ("R" if hit.read_only else "-") + ("D" if hit.destructive else "-")
        print(
            f"{rank:>2}  {hit.operation_id:<{width}}  {hit.auth:<6} {flags:<5} "
            f"{hit.score:>6.2f}  {hit.summary}"
        )
    print("\nFlags: R read-only, D destructive. `stream-mcp describe OPERATION` shows its input.")
