"""Flags: ``serve --read-only`` on a real environment profile refuses every write.

The server runs without --sandbox, against the loopback upstream. Every operation that is not
read-only is refused with ``field: read_only`` before anything is sent; reads still run. The
check_* operations send real test messages (a push, an SNS/SQS message, a file to external
storage), so they are writes too.
"""

from __future__ import annotations

import pytest

from tests.factories import shipped_catalog
from tests.security.harness import Fleet
from tests.security.subjects_gen import base_arguments

CATALOG = shipped_catalog()
CHECKS = ("CheckPush", "CheckSNS", "CheckSQS", "CheckExternalStorage")
WRITES = sorted(op.operation_id for op in CATALOG if not op.read_only)
READS = sorted(op.operation_id for op in CATALOG if op.read_only)


@pytest.fixture(scope="module", autouse=True)
def boot(fleet: Fleet) -> None:
    fleet.prestart("stdio-readonly")


@pytest.mark.parametrize("operation_id", CHECKS)
def test_check_operations_are_not_read_only(operation_id: str):
    assert not CATALOG.get(operation_id).read_only


def test_read_only_refuses_every_write_before_sending_it(fleet: Fleet):
    session = fleet.get("stdio-readonly")
    assert len(WRITES) > 80
    mark = fleet.upstream.count()
    problems = []
    for op_id in WRITES:
        _, args = base_arguments(CATALOG, CATALOG.get(op_id))
        outcome = fleet.call(
            session,
            "execute_operation",
            {"operation_id": op_id, "arguments": args, "confirm": True},
        )
        if not (outcome.error == "policy_denied" and outcome.field == "read_only"):
            problems.append(f"{op_id}: {outcome.describe()}")
    sent = fleet.upstream.since(mark, session.api_key)
    assert not sent, [f"{r.method} {r.target}" for r in sent[:10]]
    assert not problems, f"{len(problems)} writes not refused:\n" + "\n".join(problems)


@pytest.mark.parametrize("operation_id", CHECKS)
def test_read_only_refuses_the_check_operations(fleet: Fleet, operation_id: str):
    session = fleet.get("stdio-readonly")
    _, args = base_arguments(CATALOG, CATALOG.get(operation_id))
    mark = fleet.upstream.count()
    outcome = fleet.call(
        session, "execute_operation", {"operation_id": operation_id, "arguments": args}
    )
    assert outcome.error == "policy_denied" and outcome.field == "read_only", outcome.describe()
    assert not fleet.upstream.since(mark, session.api_key)
    described = fleet.call(session, "load_operation", {"operation_id": operation_id})
    assert described.payload.get("auth") == "refused", described.describe()
    assert described.payload.get("read_only") is False


def test_read_only_still_reads_on_a_real_profile(fleet: Fleet):
    session = fleet.get("stdio-readonly")
    mark = fleet.upstream.count()
    outcome = fleet.call(
        session, "execute_operation", {"operation_id": "GetApp", "select": "app.name"}
    )
    assert outcome.kind == "result" and not outcome.is_error, outcome.describe()
    assert outcome.payload["data"] == "leaky-app"
    assert outcome.payload["acting_user"] == "alice"
    sent = fleet.upstream.since(mark, session.api_key)
    assert len(sent) == 1 and sent[0].path == CATALOG.get("GetApp").path
    problems = []
    for op_id in READS:
        _, args = base_arguments(CATALOG, CATALOG.get(op_id))
        result = fleet.call(
            session, "execute_operation", {"operation_id": op_id, "arguments": args}
        )
        if result.field == "read_only":
            problems.append(f"{op_id}: {result.describe()}")
    assert not problems, "\n".join(problems)
