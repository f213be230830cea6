"""Liveness: one huge or deep request cannot stall the others on the same server.

While a 10 MB search query, 1,000-level arguments and a 1,000-character search are being sent
and refused, small ``search_operations`` calls on the same server answer within 1 s, over
stdio (one pipe, raw JSON-RPC, since the mcp client cannot serialize 1,000 levels) and over
streamable HTTP (raw bodies beside the mcp client).
"""

from __future__ import annotations

import json
import secrets
import time

import anyio
import pytest

from tests.security.harness import Fleet, Outcome, Session, call_raw, call_tool, tool_call_body
from tests.security.malformed import MB, nested_json

SMALL = '{"query": "ban a user"}'
ROUNDS = 6
GAP = 0.1
LATENCY = 1.0


@pytest.fixture(scope="module", autouse=True)
def boot(fleet: Fleet) -> None:
    fleet.prestart("raw-stdio", "raw-http", "http-auto-noelicit")


def _heavy_bodies() -> list[tuple[str, str, str]]:
    """(label, tool, arguments JSON) of the calls that load the server."""
    deep = (
        '{"operation_id": "SendMessage", "arguments": {"type": "messaging", "id": "live", '
        '"message": {"text": "hi", "custom": ' + nested_json(1000) + "}}}"
    )
    words = " ".join(secrets.token_hex(4) for _ in range(110))[:1000]
    return [
        ("10MB-query", "search_operations", json.dumps({"query": "q" * (10 * MB)})),
        ("1000-deep", "execute_operation", deep),
        (
            "1000-deep-array",
            "execute_operation",
            deep.replace(nested_json(1000), nested_json(1000, arrays=True)),
        ),
        ("1000-chars-of-unknown-words", "search_operations", json.dumps({"query": words})),
    ]


async def _load_and_probe(
    heavy: Session, probe: Session, raw_probe: bool
) -> tuple[list[tuple[str, Outcome]], list[Outcome]]:
    heavy_results: list[tuple[str, Outcome]] = []
    probes: list[Outcome] = []

    async def send_heavy(label: str, tool: str, arguments: str) -> None:
        def body(request_id: int) -> bytes:
            return tool_call_body(request_id, tool, arguments)

        heavy_results.append((label, await call_raw(heavy, body, 30)))

    async def send_probes() -> None:
        await anyio.sleep(0.02)  # the heavy bodies are on their way
        for _ in range(ROUNDS):
            if raw_probe:
                outcome = await call_raw(
                    probe, lambda rid: tool_call_body(rid, "search_operations", SMALL), 10
                )
            else:
                outcome = await call_tool(probe, "search_operations", {"query": "ban a user"}, 10)
            probes.append(outcome)
            await anyio.sleep(GAP)

    async with anyio.create_task_group() as tg:
        for label, tool, arguments in _heavy_bodies():
            tg.start_soon(send_heavy, label, tool, arguments)
        tg.start_soon(send_probes)
    return heavy_results, probes


def _verdict(heavy: list[tuple[str, Outcome]], probes: list[Outcome]) -> list[str]:
    problems = []
    for index, probe in enumerate(probes):
        if probe.kind != "result" or probe.is_error:
            problems.append(f"probe {index}: {probe.describe()}")
        elif probe.elapsed > LATENCY:
            problems.append(f"probe {index}: answered in {probe.elapsed:.2f}s (> {LATENCY}s)")
    for label, outcome in heavy:
        if not outcome.answered:
            problems.append(f"{label}: unanswered: {outcome.describe()}")
        elif outcome.kind == "result" and not outcome.is_error and "10MB" in label:
            problems.append(f"{label}: a 10 MB query was accepted")
        elif outcome.error == "internal_error":
            problems.append(f"{label}: internal_error")
    return problems


def test_stdio_stays_responsive_under_huge_and_deep_requests(fleet: Fleet):
    session = fleet.get("raw-stdio")
    started = time.monotonic()
    heavy, probes = fleet.run(_load_and_probe, session, session, True)
    problems = _verdict(heavy, probes)
    assert len(probes) == ROUNDS and len(heavy) == len(_heavy_bodies())
    assert not problems, f"after {time.monotonic() - started:.1f}s:\n" + "\n".join(problems)


def test_http_stays_responsive_under_huge_and_deep_requests(fleet: Fleet):
    heavy_session = fleet.get("raw-http")
    probe = fleet.get("http-auto-noelicit")
    heavy, probes = fleet.run(_load_and_probe, heavy_session, probe, False)
    problems = _verdict(heavy, probes)
    assert len(probes) == ROUNDS
    assert not problems, "\n".join(problems)
