"""Gather the labelled requests of the search benchmarks into ``tool_specs/examples.yaml``.

    python scripts/collect_examples.py [--check]

The search engine learns from these: a request close to ones labelled with an operation
lifts that operation among the engine's own candidates (``stream_mcp/search/_examples.py``).
Every set in ``benchmarks/search_*.jsonl`` is taken but those still held out
(``bench_search.HELD_OUT``: the newest blind set, not yet scored after its round), less any
request a held-out set also holds word for word (short ones recur: "list all permissions"),
so that they stay a fair test. Once a held-out set has been scored after its round, it joins
the examples and a new blind set takes its place. ``--check`` exits 1 if the file differs
from what would be written. Run ``scripts/compile_catalog.py`` afterwards.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
TARGET = ROOT / "tool_specs" / "examples.yaml"
HEADER = (
    "# Requests people typed, by the operation that answers them: benchmarks/search_*.jsonl\n"
    "# but the sets still held out, gathered by scripts/collect_examples.py (do not edit by\n"
    "# hand). Search ranks an operation higher when a request resembles its examples.\n"
)


def held_out_splits() -> tuple[str, ...]:
    """The benchmark's list: it decides which sets are still a fair test."""
    spec = importlib.util.spec_from_file_location("bench_search", BENCH / "bench_search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return tuple(module.HELD_OUT)


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _normal(query: str) -> str:
    return " ".join(query.lower().split())


def collect(bench: Path = BENCH, held_out: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    kept_back = held_out_splits() if held_out is None else held_out
    rows = [row for path in sorted(bench.glob("search_*.jsonl")) for row in _rows(path)]
    unseen = {_normal(row["query"]) for row in rows if row["split"] in kept_back}
    examples: dict[str, list[str]] = {}
    for row in rows:
        if row["split"] not in kept_back and _normal(row["query"]) not in unseen:
            for op_id in row["expected"]:
                examples.setdefault(op_id, []).append(" ".join(row["query"].split()))
    return {op: sorted(set(requests)) for op, requests in sorted(examples.items())}


def render(examples: dict[str, list[str]]) -> str:
    lines = [HEADER.rstrip("\n")]
    for op_id, requests in examples.items():
        lines.append(f"{op_id}:")
        lines.extend(f"- {json.dumps(request, ensure_ascii=False)}" for request in requests)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render(collect())
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET} is stale: run scripts/collect_examples.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    examples = collect()
    print(f"{TARGET}: {sum(map(len, examples.values()))} requests for {len(examples)} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
