"""Redaction before projection: ``select`` and the token cap only ever see redacted data.

The loopback upstream answers every call with the profile's real secret (under secret keys,
nested, in arrays, inside harmless values), its base64, push credentials under their real
key names, JWTs signed with the secret and an echo of the request's own Authorization
header. Adversarial JMESPath expressions then try to get any of it out: reversed, joined,
stringified, sliced, merged, or one bit at a time through boolean and length oracles.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.security.harness import Fleet, Outcome
from tests.security.upstream import REDACTED

SESSIONS = ("stdio-legacy", "http-auto")

# Expressions whose result must carry no secret, forwards or backwards, whole or in part.
SELECTS: list[str] = [
    "@",
    "app",
    "app.secret",
    "app.api_secret",
    "app.webhook_secret",
    "app.webhook_url",
    "app.description",
    "app.push_notifications",
    "app.push_notifications.apn",
    "app.push_notifications.firebase",
    "app.push_notifications.firebase.credentials_json",
    "app.push_notifications.firebase.server_key",
    "app.push_notifications.huawei",
    "app.push_notifications.xiaomi",
    "app.push_notifications.*.*",
    "app.push_notifications.apn.[auth_key, p12_cert, password]",
    "values(@)",
    "values(app)",
    "values(app.push_notifications)[*]",
    "values(app.push_notifications)[*].*",
    "values(app.push_notifications)[*].secret",
    "keys(@)",
    "to_string(@)",
    "to_string(app)",
    "to_string(app.secret)",
    "reverse(to_string(@))",
    "reverse(to_string(app))",
    "reverse(app.secret)",
    "reverse(notes)",
    "reverse(notes[0])",
    "reverse(jwt)",
    "reverse(b64)",
    "reverse(echo.authorization)",
    "reverse(echo.headers.authorization)",
    "reverse(values(echo.headers))",
    "join(',', notes)",
    "join('', reverse(values(app)[?type(@) == 'string']))",
    "join('|', values(echo.headers))",
    "join('', map(&reverse(@), notes))",
    "map(&to_string(@), values(@))",
    "map(&reverse(to_string(@)), values(app))",
    "notes[::-1]",
    "notes[*]",
    "notes[?contains(@, 'sec-')]",
    "notes_objects[*].[value, description]",
    "notes_objects[?value != null].value",
    "sort(notes)",
    "sort(values(app)[?type(@) == 'string'])",
    "sort_by(notes_objects, &value)[*].value",
    "max_by(notes_objects, &value).value",
    "min_by(notes_objects, &description)",
    "merge(app, echo)",
    "merge(app.push_notifications.firebase, {x: 'y'})",
    "not_null(missing, app.secret)",
    "not_null(missing, echo.authorization)",
    "{s: app.secret, a: echo.authorization, j: jwt, b: b64, k: app.push_notifications}",
    "[app.secret, jwt, b64, echo.auth_copy, echo.bearer]",
    "*.*",
    "*.*.*",
    "*.secret",
    "@.*",
    "nested.deep.deeper[][].value",
    "nested.deep.deeper[*][*].*",
    "nested..deep",  # invalid: still no secret in the error
    "custom",
    "custom.list[][]",
    "echo",
    "echo.headers",
    "echo.headers.*",
    "values(echo.headers)",
    "echo.headers.authorization",
    'echo.headers."authorization"',
    'echo."x-auth"',
    "echo.list[*]",
    "echo.list[1].auth",
    "blob0",
    "reverse(blob3)",
    "[blob0, blob1, blob2, blob3, blob4, blob5]",
    "to_array(app.secret)",
    "to_array(@)[0].app",
    "abs(length(app.secret))",
    "type(app.secret)",
    "length(to_string(@))",
    "contains(keys(app), 'secret')",
]


def _oracles(secret: str, push_key: str, auth_prefix: str) -> list[tuple[str, Any]]:
    """Expressions that leak a bit if the secret is there when ``select`` runs, and the
    answer they must give when it is redacted first (short prefixes only: no expression
    holds 16 characters of a secret, so none can echo one back)."""
    head, tail = secret[:12], secret[-12:]
    return [
        (f"starts_with(app.secret, '{head}')", False),
        (f"ends_with(app.api_secret, '{tail}')", False),
        (f"contains(to_string(@), '{head}')", False),
        (f"contains(reverse(to_string(@)), '{head[::-1]}')", False),
        (f"contains(join(',', notes), '{head}')", False),
        (f"length(notes[?starts_with(@, '{secret[:10]}')])", 0),
        (f"starts_with(app.push_notifications.firebase.server_key, '{push_key[:12]}')", False),
        (f"starts_with(echo.authorization, '{auth_prefix}')", False),
        (f"starts_with(echo.auth_copy, '{auth_prefix}')", False),
        ("starts_with(jwt, 'eyJ')", False),
        ("length(app.secret)", len(REDACTED)),
        ("length(app.push_notifications.apn.p12_cert)", len(REDACTED)),
        ("app.secret", REDACTED),
        ("app.push_notifications.firebase.server_key", REDACTED),
        ("app.push_notifications.apn.auth_key", REDACTED),
        ("app.push_notifications.xiaomi.secret", REDACTED),
        ("app.webhook_secret", REDACTED),
        ("echo.authorization", REDACTED),
        ("echo.headers.authorization", REDACTED),
        ("app.name", "leaky-app"),  # and what is not secret survives
    ]


@pytest.fixture(scope="module", autouse=True)
def boot(fleet: Fleet) -> None:
    fleet.prestart(*SESSIONS)


def _select(fleet: Fleet, session_name: str, expression: str, op: str = "GetApp") -> Outcome:
    session = fleet.get(session_name)
    return fleet.call(session, "execute_operation", {"operation_id": op, "select": expression})


def test_at_least_fifty_adversarial_selects():
    assert len(SELECTS) >= 50
    assert len(SELECTS) + len(_oracles("x" * 40, "y" * 40, "eyJ")) >= 70


@pytest.mark.parametrize("session_name", SESSIONS)
def test_no_select_gets_a_secret_out(fleet: Fleet, session_name: str):
    problems: list[str] = []
    answered = 0
    for expression in SELECTS:
        outcome = _select(fleet, session_name, expression)
        if not outcome.answered or outcome.error == "internal_error":
            problems.append(f"{expression!r}: {outcome.describe()}")
            continue
        answered += 1
        leaks = fleet.canaries.leaks(json.dumps(outcome.payload))
        if leaks:
            problems.append(f"{expression!r} leaks {leaks}")
    assert answered == len(SELECTS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("session_name", SESSIONS)
def test_oracles_see_only_redacted_values(fleet: Fleet, session_name: str):
    """Booleans and lengths are not redacted afterwards: only redaction first defeats them."""
    # Make sure the upstream has seen this session's Authorization header (a user JWT).
    warm = _select(fleet, session_name, "app.name")
    assert not warm.is_error, warm.describe()
    auth = sorted(fleet.canaries.seen_auth)
    assert auth, "the upstream saw no Authorization header"
    auth_prefix = auth[0][:12]
    push_key = fleet.canaries.push["firebase_server_key"]
    problems = []
    for expression, expected in _oracles(fleet.api_secret, push_key, auth_prefix):
        outcome = _select(fleet, session_name, expression)
        got = outcome.payload.get("data") if outcome.kind == "result" else None
        if outcome.is_error or got != expected:
            problems.append(f"{expression!r}: expected {expected!r}, {outcome.describe()}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("session_name", SESSIONS)
def test_the_token_cap_cuts_only_redacted_text(fleet: Fleet, session_name: str):
    """Whole-response reads are truncated (token cap 1,500); no cut leaves half a secret."""
    problems = []
    for op in ("GetApp", "ListDevices", "QueryUsers"):
        args = {"operation_id": op}
        if op == "QueryUsers":
            args["arguments"] = {"filter_conditions": {"id": "alice"}}
        outcome = fleet.call(fleet.get(session_name), "execute_operation", args)
        if outcome.is_error:
            problems.append(f"{op}: {outcome.describe()}")
            continue
        if not outcome.payload.get("meta", {}).get("truncated"):
            problems.append(f"{op}: expected a truncated answer (the upstream sends ~10 KB)")
        leaks = fleet.canaries.leaks(json.dumps(outcome.payload))
        if leaks:
            problems.append(f"{op} leaks {leaks}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("session_name", SESSIONS)
def test_stream_errors_are_redacted(fleet: Fleet, session_name: str):
    """An error answer quoting the secret and the caller's token comes back scrubbed."""
    outcome = fleet.call(
        fleet.get(session_name),
        "execute_operation",
        {"operation_id": "GetOG", "arguments": {"url": "https://example.com"}},
    )
    assert outcome.kind == "result" and outcome.is_error, outcome.describe()
    assert outcome.error not in (None, "internal_error"), outcome.describe()
    assert not fleet.canaries.leaks(json.dumps(outcome.payload)), outcome.describe()


@pytest.mark.parametrize("session_name", SESSIONS)
def test_server_logs_hold_no_secret(fleet: Fleet, session_name: str):
    session = fleet.get(session_name)
    outcome = _select(fleet, session_name, "reverse(to_string(@))")
    assert outcome.answered
    logs = session.transcript.logs()
    assert logs, "no server log captured"
    assert not fleet.canaries.leaks(logs)
    session.transcript.assert_no_leaks()
