"""Limits on every input: hundreds of malformed calls, each answered, none fatal.

Every call below must come back as an ``isError`` tool result naming the field at fault (or,
where no single field is at fault, a message saying why), never ``internal_error``, never
unanswered (each call runs under ``anyio.fail_after``), and never reaching the upstream.
Calls the mcp client cannot serialize (1,000 levels deep, lone surrogates) go out as raw
JSON-RPC text over stdio and HTTP.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import anyio
import pytest

from tests.factories import shipped_catalog
from tests.security.harness import Fleet, Outcome, Session, call_raw, tool_call_body
from tests.security.malformed import Bad, RawBad, all_cases, field_matches, raw_cases

CATALOG = shipped_catalog()
CASES = all_cases(CATALOG)
NORMAL: dict[str, list[Bad]] = defaultdict(list)
for _case in CASES:
    if not _case.huge:
        NORMAL[_case.category].append(_case)
HUGE = [c for c in CASES if c.huge]
RAW = raw_cases()

# Every case on a stdio legacy and an HTTP auto session; every third normal-sized case also
# on a stdio auto and an HTTP legacy session. None of these clients declares elicitation.
FULL = ("stdio-legacy-noelicit", "http-auto-noelicit")
MORE = ("stdio-auto-noelicit", "http-legacy-noelicit")
RAW_SESSIONS = ("raw-stdio", "raw-http")


@pytest.fixture(scope="module", autouse=True)
def boot(fleet: Fleet) -> None:
    fleet.prestart(*FULL, *MORE, *RAW_SESSIONS)


CAUSE = re.compile(r"(?i)depth|deep|nest|recursion|surrogate|escape|unicode|too large|size")


def problem_with(
    outcome: Outcome,
    fields: tuple[str, ...] | None,
    reached: int,
    *,
    protocol_ok: bool = False,
    may_reach: bool = False,
) -> str | None:
    if reached and not may_reach:
        return f"reached the upstream ({reached} requests); {outcome.describe()}"
    if not outcome.answered:
        return f"unanswered: {outcome.describe()}"
    if outcome.kind == "rpc_error":
        # Only where the SDK's own parser refuses the message before any tool runs, and only
        # with a message that says why.
        if protocol_ok and CAUSE.search(outcome.message):
            return None
        return f"a protocol error, not an isError result: {outcome.describe()}"
    if not outcome.is_error:
        return f"accepted: {outcome.describe()}"
    if outcome.error == "internal_error":
        return f"internal_error: {outcome.describe()}"
    message = str(outcome.payload.get("message", ""))
    if not outcome.field and not message:
        return f"neither a field nor a message: {outcome.describe()}"
    if not field_matches(outcome.field, fields):
        return f"field {outcome.field!r}, expected {fields}: {outcome.describe()}"
    return None


def check(fleet: Fleet, session: Session, case: Bad) -> str | None:
    mark = fleet.upstream.count()
    outcome = fleet.call(session, case.tool, case.args, timeout=30 if case.huge else 10)
    reached = len(fleet.upstream.since(mark, session.api_key))
    if outcome.kind == "rpc_error" and session.transport == "http" and case.huge:
        # The mcp client reports any HTTP error status as "Server returned an error response";
        # send the same body raw to read what the server said (the SDK caps bodies at ~4 MB).
        outcome = fleet.run(call_raw, fleet.get("raw-http"), _body(case), 30)
    problem = problem_with(
        outcome,
        case.fields,
        reached,
        protocol_ok=case.protocol_ok or (case.huge and session.transport == "http"),
        may_reach=case.may_reach,
    )
    return f"{case.label}: {problem}" if problem else None


def _body(case: Bad):
    arguments = json.dumps(case.args)
    return lambda request_id: tool_call_body(request_id, case.tool, arguments)


def test_there_are_at_least_400_malformed_calls():
    assert len(CASES) + len(RAW) >= 400
    per_tool = defaultdict(int)
    for case in CASES:
        per_tool[case.tool] += 1
    assert set(per_tool) == {
        "search_operations",
        "load_operation",
        "execute_operation",
        "issue_user_token",
    }
    assert all(n >= 20 for n in per_tool.values()), dict(per_tool)


@pytest.mark.parametrize("category", sorted(NORMAL))
def test_malformed_calls_are_refused_with_a_field(fleet: Fleet, category: str):
    """Each case over stdio legacy and HTTP auto, every third over stdio auto and HTTP
    legacy; the stdio and the HTTP session of each pair run side by side."""
    cases = NORMAL[category]

    def full(session: Session) -> list[str]:
        return [p for case in cases if (p := check(fleet, session, case))]

    def sampled(session: Session) -> list[str]:
        return [p for case in cases[::3] if (p := check(fleet, session, case))]

    problems = fleet.per_session(FULL, full) + fleet.per_session(MORE, sampled)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_huge_inputs_are_refused_with_a_field(fleet: Fleet):
    """10 MB query, 1 MB ids, path parameters and selects, 1 MB of arguments."""

    def work(session: Session) -> list[str]:
        return [p for case in HUGE if (p := check(fleet, session, case))]

    problems = fleet.per_session(FULL, work)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("session_name", RAW_SESSIONS)
def test_what_the_client_cannot_serialize_is_still_answered(fleet: Fleet, session_name: str):
    """1,000 and 5,000 levels, lone surrogates: sent side by side, each answered in 5 s."""
    session = fleet.get(session_name)
    mark = fleet.upstream.count()

    async def run_all() -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(RAW)

        async def one(index: int, case: RawBad) -> None:
            def body(request_id: int) -> bytes:
                return tool_call_body(request_id, case.tool, case.arguments_json)

            outcomes[index] = await call_raw(session, body, 5)

        async with anyio.create_task_group() as tg:
            for index, case in enumerate(RAW):
                tg.start_soon(one, index, case)
        return [o for o in outcomes if o is not None]

    outcomes = fleet.run(run_all)
    reached = len(fleet.upstream.since(mark, session.api_key))
    problems = []
    for case, outcome in zip(RAW, outcomes, strict=True):
        problem = problem_with(outcome, case.fields, 0, protocol_ok=True)
        if problem:
            problems.append(f"{case.name}: {problem}")
    # The server is still there and still answers.
    alive = fleet.run(
        call_raw,
        session,
        lambda rid: tool_call_body(rid, "search_operations", '{"query": "ban a user"}'),
        10,
    )
    assert alive.kind == "result" and not alive.is_error, alive.describe()
    assert not reached, f"{reached} of these calls reached the upstream"
    assert not problems, f"{len(problems)}/{len(RAW)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("session_name", FULL)
def test_empty_optional_strings_mean_absent(fleet: Fleet, session_name: str):
    """Strict-mode clients send "" for every optional argument the model left out."""
    session = fleet.get(session_name)
    read = fleet.call(
        session,
        "execute_operation",
        {"operation_id": "GetApp", "select": "", "as_user": "", "arguments": {}},
    )
    assert read.kind == "result" and not read.is_error, read.describe()
    assert read.payload["acting_user"] == "alice"
    assert read.payload["data"]["app"]["name"] == "leaky-app"
    brief = fleet.call(session, "load_operation", {"operation_id": "SendMessage", "detail": ""})
    assert not brief.is_error and brief.payload["detail"] == "brief", brief.describe()
    search = fleet.call(session, "search_operations", {"query": "ban a user", "limit": 3})
    assert not search.is_error and 1 <= len(search.payload["hits"]) <= 3, search.describe()


@pytest.mark.parametrize("session_name", FULL)
def test_inputs_just_under_the_limits_are_accepted(fleet: Fleet, session_name: str):
    """1,000 characters of query, 992 of select, 30 levels of arguments: all accepted."""
    session = fleet.get(session_name)
    query = fleet.call(session, "search_operations", {"query": ("ban a user " * 100)[:1000]})
    assert not query.is_error, query.describe()
    select = " || ".join(["app.name"] * 83)
    assert len(select) == 992
    selected = fleet.call(
        session, "execute_operation", {"operation_id": "GetApp", "select": select}
    )
    assert not selected.is_error, selected.describe()
    deep = {"a": "x"}
    for _ in range(27):  # arguments > message > custom > 28 levels: 31 in all, within 32
        deep = {"a": deep}
    sent = fleet.call(
        session,
        "execute_operation",
        {
            "operation_id": "SendMessage",
            "arguments": {
                "type": "messaging",
                "id": "limits-ok",
                "message": {"text": "hi", "custom": deep},
            },
        },
    )
    assert not sent.is_error, sent.describe()
