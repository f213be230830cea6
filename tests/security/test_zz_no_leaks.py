"""Runs last (file order): nothing any server of this run returned or logged leaks a secret.

Every transcript goes through ``Transcript.assert_no_leaks`` (the API secret, its base64,
server tokens, user tokens outside ``issue_user_token``) and the upstream's canaries (any 16
characters of a secret, push credential or Authorization header, forwards or reversed, and
any JWT-shaped string forwards or reversed). The session fixture repeats the check at
teardown, for runs that select only some modules.
"""

from __future__ import annotations

from tests.security.harness import Fleet


def test_no_transcript_leaks_a_secret(fleet: Fleet):
    checked = [key for key, t in fleet.transcripts.items() if t.results]
    problems = fleet.leak_problems()
    assert not problems, "\n".join(problems)
    if not checked:  # run alone: make one call so the check is not vacuous
        session = fleet.get("stdio-legacy-noelicit")
        outcome = fleet.call(session, "execute_operation", {"operation_id": "GetApp"})
        assert outcome.kind == "result" and not outcome.is_error, outcome.describe()
        problems = fleet.leak_problems()
        assert not problems, "\n".join(problems)
