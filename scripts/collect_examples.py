"""Gather the tuning sets' labelled requests into ``tool_specs/examples.yaml``.

    python scripts/collect_examples.py [--check]

The search engine learns from these: a request close to ones labelled with an operation
lifts that operation among the engine's own candidates (``stream_mcp/search/_examples.py``).
Only tuning splits are taken, less any request that a held-out set (``heldout``, ``fresh*``)
also holds word for word (short ones recur: "list all permissions"), so those stay a fair
test. ``--check`` exits 1 if the file differs from what would be written.
Run ``scripts/compile_catalog.py`` afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
TARGET = ROOT / "tool_specs" / "examples.yaml"
# file → the splits in it that are for tuning
TUNING = {
    "search_eval.jsonl": ("dev",),
    "search_scratch.jsonl": ("dev2",),
    **{f"search_dev{n}.jsonl": (f"dev{n}",) for n in range(3, 9)},
}
HEADER = (
    "# Requests people typed, by the operation that answers them: the tuning splits of\n"
    "# benchmarks/search_*.jsonl, gathered by scripts/collect_examples.py (do not edit by hand).\n"
    "# Search ranks an operation higher when a request resembles its examples. Held-out sets\n"
    "# are never gathered here.\n"
)


def _rows(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _normal(query: str) -> str:
    return " ".join(query.lower().split())


def held_out(bench: Path = BENCH) -> set[str]:
    """Every held-out request, normalised."""
    rows = [row for path in sorted(bench.glob("search_*.jsonl")) for row in _rows(path)]
    return {
        _normal(row["query"])
        for row in rows
        if row["split"] == "heldout" or row["split"].startswith("fresh")
    }


def collect(bench: Path = BENCH) -> dict[str, list[str]]:
    unseen = held_out(bench)
    examples: dict[str, list[str]] = {}
    for name, splits in TUNING.items():
        for row in _rows(bench / name):
            if row["split"] in splits and _normal(row["query"]) not in unseen:
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
