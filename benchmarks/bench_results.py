"""Result size: compact (the default) against Stream's raw body, for 20 common operations.

    python benchmarks/bench_results.py

Each operation runs twice on the same embedded sandbox state, once with ``detail: "raw"``
and once compact, both without ``select``; sizes are compact JSON bytes of the ``data`` an
agent reads. Prints each ratio and the median (goal: median <= 0.40).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp import Client

from stream_mcp.config import Settings
from stream_mcp.runtime import embedded_sandbox, open_service
from stream_mcp.server import build_server

CH = {"type": "messaging", "id": "bench"}


async def main() -> None:
    os.environ.setdefault("STREAM_API_KEY", "bench-results-key")
    os.environ.setdefault("STREAM_API_SECRET", "bench-results-secret-0123456789abcdef")
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch), log_level="WARNING")
        with embedded_sandbox(settings, ":memory:") as handle:
            async with (
                open_service(settings, handle.credentials) as service,
                Client(build_server(service)) as client,
            ):

                async def run(op: str, args: dict[str, Any], **extra: Any) -> Any:
                    call = {"operation_id": op, "arguments": args, **extra}
                    result = await client.call_tool("execute_operation", call)
                    payload = result.structured_content or {}
                    if result.is_error:
                        raise SystemExit(f"{op} failed: {payload}")
                    return payload.get("data")

                users = {u: {"id": u, "name": u.title()} for u in ("ann", "ben", "cy", "di")}
                await run("UpdateUsers", {"users": users})
                await run("GetOrCreateChannel", {**CH, "data": {"members": list(users)}})
                sent = []
                for n, who in enumerate(["ann", "ben", "cy", "di", "ann", "ben"]):
                    data = await run(
                        "SendMessage", {**CH, "message": {"text": f"m{n}"}}, as_user=who
                    )
                    sent.append(data["message"]["id"])
                await run(
                    "SendReaction", {"id": sent[0], "reaction": {"type": "like"}}, as_user="ben"
                )
                await run(
                    "SendMessage",
                    {**CH, "message": {"text": "r", "parent_id": sent[0]}},
                    as_user="cy",
                )
                await run("ban", {"target_user_id": "di", "reason": "spam"}, confirm=True)
                await run("CreateBlockList", {"name": "bl", "words": ["x"]})
                cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
                    ("GetOrCreateChannel", CH, {"as_user": "ann"}),
                    (
                        "QueryChannels",
                        {"filter_conditions": {"type": "messaging"}},
                        {"as_user": "ann"},
                    ),
                    (
                        "QueryMembers",
                        {"type": "messaging", "id": "bench", "filter_conditions": {}},
                        {},
                    ),
                    ("QueryUsers", {"filter_conditions": {"id": {"$in": list(users)}}}, {}),
                    ("GetMessage", {"id": sent[0]}, {"as_user": "ann"}),
                    (
                        "GetManyMessages",
                        {"type": "messaging", "id": "bench", "ids": sent[:3]},
                        {"as_user": "ann"},
                    ),
                    ("GetReplies", {"parent_id": sent[0]}, {"as_user": "ann"}),
                    ("GetReactions", {"id": sent[0]}, {"as_user": "ann"}),
                    ("SendMessage", {**CH, "message": {"text": "new"}}, {"as_user": "ann"}),
                    (
                        "UpdateMessagePartial",
                        {"id": sent[1], "set": {"text": "edited"}},
                        {"as_user": "ben"},
                    ),
                    (
                        "SendReaction",
                        {"id": sent[2], "reaction": {"type": "wow"}},
                        {"as_user": "ann"},
                    ),
                    ("QueryBannedUsers", {"filter_conditions": {}}, {}),
                    ("UpdateUsersPartial", {"users": [{"id": "ann", "set": {"tier": "gold"}}]}, {}),
                    ("MarkRead", CH, {"as_user": "ann"}),
                    ("UnreadCounts", {}, {"as_user": "ben"}),
                    ("ListBlockLists", {}, {}),
                    ("GetApp", {}, {}),
                    ("QueryThreads", {}, {"as_user": "ann"}),
                    ("UpdateChannelPartial", {**CH, "set": {"color": "blue"}}, {}),
                    ("mute", {"target_ids": ["cy"]}, {"as_user": "ann"}),
                ]
                ratios = []
                print(f"{'operation':<22} {'raw bytes':>9} {'compact':>8} {'ratio':>6}")
                for op, args, extra in cases:
                    raw = await run(op, args, detail="raw", **extra)
                    small = await run(op, args, **extra)
                    raw_size = len(json.dumps(raw, separators=(",", ":")))
                    small_size = len(json.dumps(small, separators=(",", ":")))
                    ratios.append(small_size / raw_size)
                    print(f"{op:<22} {raw_size:>9} {small_size:>8} {ratios[-1]:>6.2f}")
                median = statistics.median(ratios)
                print(f"median ratio {median:.2f} over {len(ratios)} operations (goal <= 0.40)")


if __name__ == "__main__":
    anyio.run(main)
