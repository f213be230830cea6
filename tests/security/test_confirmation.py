"""Confirmation on every protocol, failing closed.

Legacy clients (2025-11-25) are asked with ``elicitation/create``; auto clients negotiate
2026-07-28 and are asked through an input-required result their ``elicitation_callback``
answers. Whatever the protocol, only a person's accept runs a destructive call: decline,
cancel, an error, a wrong answer or no answer in time (STREAM_MCP_CONFIRM_TIMEOUT=2) refuse
it even with ``confirm: true``, and the upstream never sees the request. Clients without
elicitation fall back to ``confirm: true``, unless the profile says ``confirmation: person``.
"""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import pytest

from tests.factories import shipped_catalog
from tests.security.harness import (
    ALLOWED,
    CONFIRM_TIMEOUT,
    INTRUDER,
    Fleet,
    Outcome,
    Session,
    call_tool,
)

CATALOG = shipped_catalog()
ELICITING = ("stdio-legacy", "stdio-auto", "http-legacy", "http-auto")
SILENT = (
    "stdio-legacy-noelicit",
    "stdio-auto-noelicit",
    "http-legacy-noelicit",
    "http-auto-noelicit",
)
PERSON_SILENT = ("http-person-legacy-noelicit", "http-person-auto-noelicit")
REFUSING = ("decline", "cancel", "error", "accept_false", "accept_string", "accept_empty")
_ids = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def boot(fleet: Fleet) -> None:
    fleet.prestart(
        *ELICITING,
        *SILENT,
        *PERSON_SILENT,
        "http-person-legacy",
        "http-legacy-b",
        "http-auto-b",
    )


def _channel() -> str:
    return f"confirm-{next(_ids)}"


def delete_channel(channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "operation_id": "DeleteChannel",
        "arguments": {"type": "messaging", "id": channel, "hard_delete": True},
        **extra,
    }


def _path(op_id: str, **params: str) -> str:
    """Where the upstream sees ``op_id`` (the catalog's path, so prefixes like /api/v2 follow)."""
    return CATALOG.get(op_id).path.format(**params)


def _hits(fleet: Fleet, channel: str) -> int:
    path = _path("DeleteChannel", type="messaging", id=channel)
    return len([r for r in fleet.upstream.snapshot() if r.path == path])


def _not_confirmed(outcome: Outcome) -> bool:
    return (
        outcome.kind == "result"
        and outcome.is_error
        and outcome.error == "not_confirmed"
        and outcome.field == "confirm"
    )


def _refused_by_client_or_server(session: Session, outcome: Outcome) -> bool:
    """Auto clients abort their input-required loop on an ErrorData answer (MCPError): the
    server never gets an answer, so the call cannot run. Anything else must be the server's
    not_confirmed."""
    if _not_confirmed(outcome):
        return True
    return session.mode == "auto" and outcome.kind == "rpc_error"


@pytest.mark.parametrize("behaviour", REFUSING)
@pytest.mark.parametrize("session_name", ELICITING)
def test_anything_but_a_persons_accept_refuses(fleet: Fleet, session_name: str, behaviour: str):
    session = fleet.get(session_name)
    assert session.elicitor is not None
    session.elicitor.behaviour = behaviour
    asked = len(session.elicitor.asked)
    channel = _channel()
    try:
        outcome = fleet.call(session, "execute_operation", delete_channel(channel, confirm=True))
    finally:
        session.elicitor.behaviour = "decline"
    assert len(session.elicitor.asked) == asked + 1, "the person was not asked"
    assert _refused_by_client_or_server(session, outcome), outcome.describe()
    assert _hits(fleet, channel) == 0, "the upstream received a call nobody confirmed"


@pytest.mark.parametrize("session_name", ELICITING)
def test_a_persons_accept_runs_the_call_once(fleet: Fleet, session_name: str):
    session = fleet.get(session_name)
    assert session.elicitor is not None
    session.elicitor.behaviour = "accept"
    asked = len(session.elicitor.asked)
    channel = _channel()
    try:
        outcome = fleet.call(session, "execute_operation", delete_channel(channel))
    finally:
        session.elicitor.behaviour = "decline"
    assert outcome.kind == "result" and not outcome.is_error, outcome.describe()
    assert len(session.elicitor.asked) == asked + 1
    assert _hits(fleet, channel) == 1


@pytest.mark.parametrize("session_name", ["stdio-legacy", "http-auto"])
def test_server_side_destructive_ops_are_confirmed_too(fleet: Fleet, session_name: str):
    """DeactivateUser on alice (server auth): declined with confirm: true, then accepted."""
    session = fleet.get(session_name)
    assert session.elicitor is not None
    call = {
        "operation_id": "DeactivateUser",
        "arguments": {"user_id": ALLOWED},
        "confirm": True,
    }
    path = _path("DeactivateUser", user_id=ALLOWED)
    before = len([r for r in fleet.upstream.snapshot() if r.path == path])
    session.elicitor.behaviour = "decline"
    refused = fleet.call(session, "execute_operation", call)
    assert _not_confirmed(refused), refused.describe()
    assert len([r for r in fleet.upstream.snapshot() if r.path == path]) == before
    session.elicitor.behaviour = "accept"
    try:
        done = fleet.call(session, "execute_operation", call)
    finally:
        session.elicitor.behaviour = "decline"
    assert not done.is_error, done.describe()
    assert len([r for r in fleet.upstream.snapshot() if r.path == path]) == before + 1


def test_no_answer_in_time_refuses_on_every_protocol(fleet: Fleet):
    """Side by side: legacy clients that never answer, auto clients that answer after the
    timeout, and an auto client that never answers at all. None of them runs the call."""
    plan = [
        ("stdio-legacy", "hang"),
        ("http-legacy", "hang"),
        ("http-legacy-b", "late"),
        ("stdio-auto", "late"),
        ("http-auto", "late"),
        ("http-auto-b", "hang"),
    ]
    sessions = [(fleet.get(name), behaviour, _channel()) for name, behaviour in plan]

    async def run_all() -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(sessions)

        async def one(index: int, session: Session, channel: str) -> None:
            limit = CONFIRM_TIMEOUT + 5
            if session.mode == "auto" and session.elicitor.behaviour == "hang":
                limit = CONFIRM_TIMEOUT + 0.75  # nothing can come back: the person never answers
            outcomes[index] = await call_tool(
                session, "execute_operation", delete_channel(channel, confirm=True), limit
            )

        async with anyio.create_task_group() as tg:
            for index, (session, _, channel) in enumerate(sessions):
                tg.start_soon(one, index, session, channel)
        return [o for o in outcomes if o is not None]

    for session, behaviour, _ in sessions:
        session.elicitor.behaviour = behaviour
    try:
        outcomes = fleet.run(run_all)
    finally:
        for session, _, _ in sessions:
            session.elicitor.behaviour = "decline"
    problems = []
    for (session, behaviour, channel), outcome in zip(sessions, outcomes, strict=True):
        label = f"{session.name}/{behaviour}"
        if _hits(fleet, channel):
            problems.append(f"{label}: the upstream received the call")
        if session.mode == "auto" and behaviour == "hang":
            if outcome.kind != "timeout":
                problems.append(
                    f"{label}: expected no answer while the person is silent, got "
                    f"{outcome.describe()}"
                )
            continue
        if not _not_confirmed(outcome):
            problems.append(f"{label}: expected not_confirmed, got {outcome.describe()}")
        elif outcome.elapsed < CONFIRM_TIMEOUT - 0.5:
            problems.append(f"{label}: refused after {outcome.elapsed:.1f}s, before the timeout")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("session_name", SILENT)
def test_without_elicitation_confirm_true_stands_in(fleet: Fleet, session_name: str):
    session = fleet.get(session_name)
    channel = _channel()
    refused = fleet.call(session, "execute_operation", delete_channel(channel))
    assert refused.is_error and refused.error in ("not_confirmed", "policy_denied"), (
        refused.describe()
    )
    assert refused.field == "confirm"
    assert _hits(fleet, channel) == 0
    done = fleet.call(session, "execute_operation", delete_channel(channel, confirm=True))
    assert done.kind == "result" and not done.is_error, done.describe()
    assert _hits(fleet, channel) == 1


@pytest.mark.parametrize("session_name", PERSON_SILENT)
def test_confirmation_person_refuses_clients_that_cannot_ask(fleet: Fleet, session_name: str):
    session = fleet.get(session_name)
    channel = _channel()
    outcome = fleet.call(session, "execute_operation", delete_channel(channel, confirm=True))
    assert outcome.is_error and outcome.error in ("not_confirmed", "policy_denied"), (
        outcome.describe()
    )
    assert outcome.field == "confirm"
    message = str(outcome.payload.get("message", "")) + str(outcome.payload.get("hint", ""))
    assert "person" in message.lower() or "elicitation" in message.lower(), (
        f"the error should say why: {outcome.describe()}"
    )
    assert _hits(fleet, channel) == 0


def test_confirmation_person_runs_on_a_persons_accept(fleet: Fleet):
    session = fleet.get("http-person-legacy")
    assert session.elicitor is not None
    channel = _channel()
    session.elicitor.behaviour = "decline"
    refused = fleet.call(session, "execute_operation", delete_channel(channel, confirm=True))
    assert _not_confirmed(refused), refused.describe()
    session.elicitor.behaviour = "accept"
    try:
        done = fleet.call(session, "execute_operation", delete_channel(channel))
    finally:
        session.elicitor.behaviour = "decline"
    assert not done.is_error, done.describe()
    assert _hits(fleet, channel) == 1


@pytest.mark.parametrize("session_name", ["stdio-legacy", "http-auto"])
def test_nobody_is_asked_for_reads_or_refused_calls(fleet: Fleet, session_name: str):
    """Reads run without asking; a call the policy refuses is refused before anyone is asked."""
    session = fleet.get(session_name)
    assert session.elicitor is not None
    asked = len(session.elicitor.asked)
    read = fleet.call(session, "execute_operation", {"operation_id": "QueryChannels"})
    assert not read.is_error, read.describe()
    refused = fleet.call(
        session,
        "execute_operation",
        {"operation_id": "DeactivateUser", "arguments": {"user_id": INTRUDER}, "confirm": True},
    )
    assert refused.is_error and refused.error == "policy_denied", refused.describe()
    invalid = fleet.call(
        session,
        "execute_operation",
        {"operation_id": "DeleteChannel", "arguments": {"type": "messaging"}, "confirm": True},
    )
    assert invalid.is_error and invalid.error == "validation_error", invalid.describe()
    assert len(session.elicitor.asked) == asked, "a person was asked about a call that cannot run"
