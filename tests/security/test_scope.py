"""Scope over affected users: 0 escapes across every curated subject field.

For every operation with curated subjects (or actors), and for every such path, a call that
names ``mallory`` there must be refused with ``policy_denied``, ``field`` = the curated path
and a message naming mallory, and the loopback upstream must receive nothing. Its twin naming
only ``alice`` must not be refused on a subject field. Over stdio the profile is limited to
alice (environment backend, no --sandbox); over HTTP the profile allows anyone and the API
key is limited to alice. Unbounded operations under server auth need an app-wide grant.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
from collections import defaultdict
from typing import Any

import anyio
import pytest
from mcp import Client

from stream_mcp.auth import Credentials, Policy, Signer
from stream_mcp.catalog import Catalog
from stream_mcp.config import Settings
from stream_mcp.errors import StreamMCPError
from stream_mcp.runtime import open_service
from stream_mcp.server import build_server
from tests.e2e import cli
from tests.factories import shipped_catalog
from tests.security.harness import ALLOWED, INTRUDER, Fleet, Outcome, Session
from tests.security.subjects_gen import (
    SubjectCase,
    all_subject_cases,
    base_arguments,
    schema_problem,
    subject_paths,
)

CATALOG = shipped_catalog()
CASES = all_subject_cases(CATALOG)
BY_OP: dict[str, list[SubjectCase]] = defaultdict(list)
for _case in CASES:
    BY_OP[_case.operation_id].append(_case)
OPS = sorted(BY_OP)
UNBOUNDED = sorted(op.operation_id for op in CATALOG if op.unbounded)

# Every case on one stdio and one HTTP session (different protocol modes); the first case of
# each operation on the other two, so all four client modes see the policy.
FULL = ("stdio-legacy", "http-auto")
SAMPLED = ("stdio-auto", "http-legacy")


@pytest.fixture(scope="module", autouse=True)
def boot(fleet: Fleet) -> None:
    fleet.prestart(
        *FULL,
        *SAMPLED,
        "stdio-appwide",
        "http-legacy-wide",
        "http-legacy-star",
        "stdio-legacy-noelicit",
    )


def _execute(fleet: Fleet, session: Session, op_id: str, args: dict[str, Any], **extra: Any):
    mark = fleet.upstream.count()
    outcome = fleet.call(
        session, "execute_operation", {"operation_id": op_id, "arguments": args, **extra}
    )
    reached = fleet.upstream.since(mark, session.api_key)
    return outcome, reached


def accepted_fields(path: str) -> set[str]:
    """The curated path, or the list path above it that also reaches the same id.

    ``data.members[]`` walks member objects too (their ``user_id``/``id``), so a refusal may
    name it for a user placed at ``data.members[].user_id``: both are the curated location.
    """
    fields = {path}
    for leaf in (".user_id", ".id"):
        if path.endswith("[]" + leaf):
            fields.add(path[: -len(leaf)])
    return fields


def _check_case(fleet: Fleet, session: Session, case: SubjectCase) -> list[str]:
    problems: list[str] = []
    outcome, reached = _execute(fleet, session, case.operation_id, case.refused)
    for request in reached:
        problems.append(f"{case.label}: ESCAPE, upstream got {request.method} {request.target}")
    refused = (
        outcome.kind == "result"
        and outcome.is_error
        and outcome.error == "policy_denied"
        and outcome.field in accepted_fields(case.path)
        and INTRUDER in str(outcome.payload.get("message", ""))
    )
    if not refused:
        problems.append(
            f"{case.label}: expected policy_denied on {case.path}: {outcome.describe()}"
        )
    twin, _ = _execute(fleet, session, case.operation_id, case.allowed)
    if not twin.answered:
        problems.append(f"{case.label} (alice twin): unanswered: {twin.describe()}")
    elif twin.error == "policy_denied" and twin.field in subject_paths(
        CATALOG.get(case.operation_id)
    ):
        problems.append(f"{case.label} (alice twin): refused on a subject: {twin.describe()}")
    return problems


def test_subjects_are_curated_for_the_operations_that_name_users():
    """The iteration below is not vacuous: the curation names the users ops act on."""
    expected = {
        "DeactivateUser": "user_id",
        "DeactivateUsers": "user_ids[]",
        "UpdateUsers": "users{}",
        "UpdateUsersPartial": "users[].id",
        "Ban": "target_user_id",
        "UpdateChannel": "add_members[]",
        "QueryUsers": "filter_conditions.id",
        "ExportUser": "user_id",
        "DeleteUsers": "user_ids[]",
        "UnreadCountsBatch": "user_ids[]",
    }
    missing = {}
    for op_id, path in expected.items():
        try:
            subjects = CATALOG.get(op_id).subjects  # case-insensitive lookup
        except StreamMCPError:
            subjects = ()
        if path not in subjects:
            missing[op_id] = path
    assert not missing, f"subjects not curated: {missing}"
    assert len(OPS) >= 90, f"only {len(OPS)} operations have subjects or actors"
    assert len(CASES) >= 240
    assert {"QueryUsers", "ExportChannels", "UpdateApp"} <= set(UNBOUNDED)


def test_generated_arguments_pass_the_products_own_validation():
    """A refusal below is the policy's, never a schema error in the generated arguments."""
    problems = []
    for case in CASES:
        for which in ("refused", "allowed"):
            problem = schema_problem(CATALOG, case.operation_id, getattr(case, which))
            if problem:
                problems.append(f"{case.label} {which}: {problem}")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("operation_id", OPS)
def test_no_user_outside_the_scope_is_reached(fleet: Fleet, operation_id: str):
    """Every case of the operation, over stdio (legacy) and HTTP (auto) side by side."""

    def work(session: Session) -> list[str]:
        return [p for case in BY_OP[operation_id] for p in _check_case(fleet, session, case)]

    problems = fleet.per_session(FULL, work)
    assert not problems, "\n".join(problems)


def test_every_client_mode_applies_the_scope(fleet: Fleet):
    """The first case of every operation over stdio (auto) and HTTP (legacy)."""

    def work(session: Session) -> list[str]:
        return [p for op_id in OPS for p in _check_case(fleet, session, BY_OP[op_id][0])]

    problems = fleet.per_session(SAMPLED, work)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("session_name", ["stdio-legacy", "http-auto"])
def test_as_user_outside_the_scope_is_refused(fleet: Fleet, session_name: str):
    session = fleet.get(session_name)
    mark = fleet.upstream.count()
    outcome = fleet.call(
        session,
        "execute_operation",
        {"operation_id": "QueryChannels", "arguments": {}, "as_user": INTRUDER},
    )
    assert outcome.is_error and outcome.error == "policy_denied", outcome.describe()
    assert outcome.field == "as_user"
    token = fleet.call(session, "issue_user_token", {"user_id": INTRUDER})
    assert token.is_error and token.error == "policy_denied", token.describe()
    assert token.field == "user_id"
    assert not fleet.upstream.since(mark, session.api_key)


# --------------------------------------------------------------------------- unbounded


def _unbounded_call(op_id: str) -> dict[str, Any]:
    _, args = base_arguments(CATALOG, CATALOG.get(op_id))
    return args


@pytest.mark.parametrize("session_name", ["stdio-legacy", "http-auto", "http-legacy"])
def test_unbounded_operations_under_server_auth_need_an_app_wide_grant(
    fleet: Fleet, session_name: str
):
    """Limited profile (stdio) or limited key (HTTP): refused with field app_wide."""
    session = fleet.get(session_name)
    problems: list[str] = []
    server_ops = [op for op in UNBOUNDED if CATALOG.get(op).server_only]
    assert server_ops, "no unbounded server-side operation to check"
    for op_id in server_ops:
        outcome, reached = _execute(fleet, session, op_id, _unbounded_call(op_id), confirm=True)
        if reached:
            problems.append(
                f"{op_id}: ESCAPE, upstream got {reached[0].method} {reached[0].target}"
            )
        if not (
            outcome.is_error and outcome.error == "policy_denied" and outcome.field == "app_wide"
        ):
            problems.append(f"{op_id}: expected policy_denied on app_wide: {outcome.describe()}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("session_name", ["stdio-appwide", "http-legacy-wide", "http-legacy-star"])
def test_an_app_wide_grant_lets_unbounded_operations_run(fleet: Fleet, session_name: str):
    """STREAM_MCP_APP_WIDE=true, a key made with --app-wide, or a key for every user."""
    session = fleet.get(session_name)
    problems: list[str] = []
    for op_id in UNBOUNDED:
        outcome, reached = _execute(fleet, session, op_id, _unbounded_call(op_id), confirm=True)
        if outcome.is_error or len(reached) != 1:
            problems.append(f"{op_id}: {len(reached)} upstream requests, {outcome.describe()}")
    assert not problems, "\n".join(problems)


def test_the_vault_stores_an_app_wide_grant_for_profiles_and_keys(tmp_path):
    """``vault add --app-wide`` and ``vault add-key --app-wide`` keep the grant."""
    env = {
        "STREAM_MCP_VAULT_PATH": str(tmp_path / "vault.json"),
        "STREAM_MCP_VAULT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    assert cli("vault", "init", env=env).returncode == 0
    added = cli(
        "vault",
        "add",
        "wide",
        "--api-key",
        "k-wide",
        "--allow-user",
        ALLOWED,
        "--app-wide",
        env=env,
        stdin="s" * 40,
    )
    assert added.returncode == 0, added.stderr
    key = cli(
        "vault", "add-key", "agent", "--profile", "wide", "--user", ALLOWED, "--app-wide", env=env
    )
    assert key.returncode == 0, key.stderr
    shown = cli("vault", "show", "wide", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["app_wide"] is True, shown.stdout
    keys = cli("vault", "keys", "--json", env=env)
    assert keys.returncode == 0, keys.stderr
    assert [k["app_wide"] for k in json.loads(keys.stdout) if k["name"] == "agent"] == [True]


@pytest.mark.parametrize("session_name", ["stdio-legacy-noelicit", "http-auto"])
def test_unbounded_operations_under_user_auth_are_bounded_by_the_token(
    fleet: Fleet, session_name: str
):
    """Under a user token Stream bounds the call: no app_wide refusal, it runs as alice."""
    session = fleet.get(session_name)
    user_ops = [op for op in UNBOUNDED if CATALOG.get(op).user_token]
    assert user_ops
    problems = []
    for op_id in user_ops:
        outcome, reached = _execute(fleet, session, op_id, _unbounded_call(op_id))
        if outcome.is_error or len(reached) != 1:
            problems.append(f"{op_id}: {outcome.describe()}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- filters


def _bounded_copy(catalog: Catalog, op_id: str) -> Catalog:
    """The catalog with ``op_id`` marked bounded, so only its filter decides."""
    ops = dict(catalog.operations)
    ops[op_id] = dataclasses.replace(ops[op_id], unbounded=False)
    return Catalog(operations=ops, components=catalog.components, source=catalog.source)


FILTERS: list[tuple[str, Any, str | None]] = [
    # (name, filter_conditions.id, expected refusal field or None for "runs")
    ("bare", ALLOWED, None),
    ("$eq", {"$eq": ALLOWED}, None),
    ("$in", {"$in": [ALLOWED]}, None),
    ("$in-intruder", {"$in": [ALLOWED, INTRUDER]}, "filter_conditions.id"),
    ("$eq-intruder", {"$eq": INTRUDER}, "filter_conditions.id"),
    ("$ne", {"$ne": ALLOWED}, "app_wide"),
    ("$nin", {"$nin": [INTRUDER]}, "app_wide"),
    ("$autocomplete", {"$autocomplete": "al"}, "app_wide"),
    ("$exists", {"$exists": True}, "app_wide"),
    ("$gt", {"$gt": ""}, "app_wide"),
    ("$in+$ne", {"$in": [ALLOWED], "$ne": "x"}, "app_wide"),
]


def test_filter_operators_other_than_eq_and_in_count_as_unbounded(fleet: Fleet):
    """In-process server, QueryUsers re-flagged bounded and run under server auth for a
    profile limited to alice: only the filter operator decides whether it is unbounded."""
    catalog = _bounded_copy(CATALOG, "QueryUsers")
    policy = Policy(default_user=ALLOWED, allowed_users=(ALLOWED,), server_auth=("QueryUsers",))
    credentials = Credentials(
        profile_name="inproc",
        api_key="key-inproc",
        signer=Signer(fleet.api_secret),
        base_url=fleet.upstream.url,
        policy=policy,
    )
    settings = Settings(max_retries=0, budget_per_minute=100000)

    async def run() -> list[tuple[str, Outcome, int]]:
        seen: list[tuple[str, Outcome, int]] = []
        async with open_service(settings, credentials, catalog) as service:
            server = build_server(service)
            async with Client(server, mode="legacy", cache=None) as client:
                for name, condition, _ in FILTERS:
                    mark = fleet.upstream.count("key-inproc")
                    with anyio.fail_after(10):
                        result = await client.call_tool(
                            "execute_operation",
                            {
                                "operation_id": "QueryUsers",
                                "arguments": {"filter_conditions": {"id": condition}},
                            },
                        )
                    payload = dict(result.structured_content or {})
                    outcome = Outcome("result", payload, bool(result.is_error))
                    seen.append((name, outcome, fleet.upstream.count("key-inproc") - mark))
        return seen

    seen = fleet.run(run)
    problems = []
    expected = {name: field for name, _, field in FILTERS}
    for name, outcome, requests in seen:
        field = expected[name]
        if field is None:
            if outcome.is_error or requests != 1:
                problems.append(f"{name}: should run once: {outcome.describe()}")
        elif not (outcome.error == "policy_denied" and outcome.field == field) or requests:
            problems.append(f"{name}: expected policy_denied on {field}: {outcome.describe()}")
    assert not problems, "\n".join(problems)


def test_the_upstream_never_saw_the_intruder(fleet: Fleet):
    """Across every call of this module (and any before it): 0 scope escapes."""
    assert fleet.upstream.count() > 0, "the alice twins should have reached the upstream"
    leaked = fleet.upstream.mentioning(INTRUDER)
    assert not leaked, [f"{r.method} {r.target}" for r in leaked[:10]]
