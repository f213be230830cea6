"""stream-mcp against FastMCP's OpenAPI bridge on Stream's official spec, in one run.

    pip install -e '.[bench]'          # adds fastmcp
    python benchmarks/bench_vs_fastmcp.py --spec path/to/chat-openapi.json

Compares (1) what a client must load: FastMCP's tool list built from the spec versus our
four discovery tools and our per-operation schemas; and (2) search: FastMCP's BM25 search
transform versus our intent search, on our evaluation set (dev and held-out splits), with
accuracy, per-query latency and the size of what one search returns. Tokens are bytes/4
of compact JSON for both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_mcp.catalog._build import load_catalog
from stream_mcp.catalog.schemas import compile_input
from stream_mcp.limits import estimate_tokens
from stream_mcp.search._index import SearchIndex
from stream_mcp.server._server import discovery_tokens

BENCH = Path(__file__).resolve().parent


def _describe(values: list[int]) -> str:
    values = sorted(values)
    p90 = values[int(0.9 * (len(values) - 1))]
    return (
        f"median {statistics.median(values):.0f}  p90 {p90}  max {values[-1]}  total {sum(values)}"
    )


def _eval_rows() -> list[dict[str, Any]]:
    rows = []
    for name in ("search_eval.jsonl", "search_scratch.jsonl"):
        path = BENCH / name
        if path.exists():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def _score(ranked: list[list[str]], rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    top1 = top5 = mrr = 0.0
    for got, row in zip(ranked, rows, strict=True):
        expected = set(row["expected"])
        rank = next((i for i, op in enumerate(got[:5], 1) if op in expected), None)
        top1 += rank == 1
        top5 += rank is not None
        mrr += 1 / rank if rank else 0.0
    n = len(rows)
    return top1 / n, top5 / n, mrr / n


async def main(spec: Path) -> None:
    import httpx2
    from fastmcp import FastMCP
    from fastmcp.server.transforms.search import BM25SearchTransform
    from fastmcp.server.transforms.search.base import serialize_tools_for_output_json

    document = json.loads(spec.read_text())
    bridge = FastMCP.from_openapi(
        openapi_spec=document, client=httpx2.AsyncClient(base_url="http://127.0.0.1:9")
    )
    tools = list(await bridge.list_tools())
    wire = [
        t.to_mcp_tool().model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools
    ]
    by_name = {t.name.lower().replace("_", ""): t.name for t in tools}

    catalog = load_catalog()
    print(f"spec: {spec} ({len(tools)} FastMCP tools, {len(catalog)} stream-mcp operations)")
    print("\n== what a client loads (tokens)")
    theirs = [estimate_tokens(w) for w in wire]
    print(f"FastMCP tool list, one tool per operation: {_describe(theirs)}")
    print(
        f"stream-mcp discovery tool list (4 tools):  total {discovery_tokens()}  "
        f"({sum(theirs) / discovery_tokens():.0f}x smaller)"
    )
    for detail in ("brief", "full"):
        ours = [estimate_tokens(compile_input(catalog, op, detail).schema) for op in catalog]
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(
            f"stream-mcp {detail:>5} schema per operation: {_describe(ours)}  "
            f"(median {ratio:.1f}x smaller)"
        )

    rows = _eval_rows()
    transform = BM25SearchTransform(max_results=5)
    index = SearchIndex.from_catalog(catalog)
    await transform._search(tools, "warm up the index")
    index.search("warm up the index")
    results: dict[str, dict[str, list[Any]]] = {"fastmcp": {}, "ours": {}}
    for side in results:
        results[side] = {"ranked": [], "latency": [], "tokens": []}
    for row in rows:
        started = time.perf_counter()
        found = await transform._search(tools, row["query"])
        results["fastmcp"]["latency"].append(time.perf_counter() - started)
        results["fastmcp"]["ranked"].append(
            [by_name.get(t.name.lower().replace("_", ""), t.name) for t in found]
        )
        rendered = serialize_tools_for_output_json(found)
        results["fastmcp"]["tokens"].append(estimate_tokens(rendered))
        started = time.perf_counter()
        mine = index.search(row["query"], 5)
        results["ours"]["latency"].append(time.perf_counter() - started)
        results["ours"]["ranked"].append([h.operation_id for h in mine.hits])
        results["ours"]["tokens"].append(estimate_tokens(mine.to_dict()))

    print("\n== search on the evaluation set (limit 5)")
    print(
        f"{'split':<8} {'engine':<10} {'n':>4} {'top1':>6} {'top5':>6} {'mrr':>6} "
        f"{'p50 ms':>8} {'tokens/search':>14}"
    )
    for split in ("dev", "dev2", "heldout", "all"):
        picked = [i for i, r in enumerate(rows) if split == "all" or r["split"] == split]
        if not picked:
            continue
        for side in ("fastmcp", "ours"):
            data = results[side]
            top1, top5, mrr = _score([data["ranked"][i] for i in picked], [rows[i] for i in picked])
            p50 = statistics.median(data["latency"][i] for i in picked) * 1000
            tokens = statistics.median(data["tokens"][i] for i in picked)
            name = "FastMCP" if side == "fastmcp" else "stream-mcp"
            print(
                f"{split:<8} {name:<10} {len(picked):>4} {top1:>6.3f} {top5:>6.3f} {mrr:>6.3f} "
                f"{p50:>8.2f} {tokens:>14.0f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True, help="Stream's chat-openapi.json")
    asyncio.run(main(parser.parse_args().spec))
