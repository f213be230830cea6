"""Catalog benchmark: schema sizes (brief and full) and start-up load time.

    .venv/bin/python benchmarks/bench_catalog.py

Tokens are estimated as bytes/4 of compact JSON. Load time is reported for the compiled
artifact (what the server uses) against building from the YAML sources, in the same run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.catalog._build import SPEC_DIR, load_catalog
from stream_mcp.catalog.schemas import compile_input
from stream_mcp.limits import estimate_tokens


def _best(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    catalog = load_catalog()
    print(f"operations: {len(catalog)}")
    for detail in ("brief", "full"):
        sizes = sorted(
            (estimate_tokens(compile_input(catalog, op, detail).schema), op.operation_id)
            for op in catalog
        )
        values = [s for s, _ in sizes]
        p90 = values[int(0.9 * (len(values) - 1))]
        print(
            f"{detail:>5} schema tokens: median {statistics.median(values):.0f}  p90 {p90}  "
            f"max {values[-1]} ({sizes[-1][1]})  total {sum(values)}"
        )
    artifact = _best(load_catalog, 20)
    yaml_build = _best(lambda: load_catalog(SPEC_DIR), 3)
    compile_all = _best(lambda: [compile_input(catalog, op) for op in catalog], 3)
    print(f"load compiled artifact: {artifact * 1000:.1f} ms")
    print(f"build from YAML:        {yaml_build * 1000:.1f} ms  ({yaml_build / artifact:.0f}x)")
    print(f"compile all brief schemas: {compile_all * 1000:.1f} ms")


if __name__ == "__main__":
    main()
