"""Redaction: JWTs, api_key values, HTTP API keys and registered secrets never survive."""

from __future__ import annotations

import jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_mcp.observability.redact import REDACTED, Redactor, redact_text

SECRET = "s3cr3t-value-that-is-long-enough-for-hs256"


def test_raw_jwts_are_removed_wherever_they_appear():
    token = jwt.encode({"user_id": "alice"}, SECRET, algorithm="HS256")
    for text in (token, f"Authorization: {token}", f'{{"token": "{token}"}}', f"x={token}&y=1"):
        assert token not in redact_text(text)
        assert REDACTED in redact_text(text)


def test_api_key_query_values_and_authorization_headers():
    assert redact_text("GET /app?api_key=abc123&x=1") == f"GET /app?api_key={REDACTED}&x=1"
    assert "abc123" not in redact_text('{"api_key": "abc123"}')
    assert "xyz789" not in redact_text("authorization: Bearer xyz789")


def test_http_api_keys_and_registered_secrets():
    key = "smcp_" + "A" * 43
    assert key not in redact_text(f"bad key {key}")
    redactor = Redactor([SECRET])
    assert redactor.text(f"the secret is {SECRET}!") == f"the secret is {REDACTED}!"
    assert SECRET not in repr(redactor)


def test_structures_are_walked_and_secret_keys_dropped():
    redactor = Redactor([SECRET])
    value = {"a": [SECRET, {"token": "opaque"}], "password": "hunter22", "n": 3}
    assert redactor.value(value) == {
        "a": [REDACTED, {"token": REDACTED}],
        "password": REDACTED,
        "n": 3,
    }


def test_keys_are_redacted_too_and_keys_that_redact_alike_both_stay() -> None:
    """An agent can name a custom field anything, a token included."""
    token = jwt.encode({"user_id": "alice"}, SECRET, algorithm="HS256")
    redactor = Redactor([SECRET])
    out = redactor.value({"custom": {token: 1, SECRET: 2, "plain": 3}})
    assert token not in repr(out) and SECRET not in repr(out)
    assert sorted(out["custom"].values()) == [1, 2, 3] and out["custom"]["plain"] == 3
    assert redactor.needs_redaction(f'{{"custom": {{"{token}": 1}}}}')


def test_short_or_empty_secrets_are_not_registered():
    """Registering 'a' would redact every letter a: secrets shorter than 6 chars are ignored."""
    assert Redactor(["", "abc"]).text("abc cab") == "abc cab"


def test_key_needles_cover_every_secret_key_and_suffix():
    """The body pre-check scans for fewer needles; each secret key must contain one."""
    from stream_mcp.observability.redact import _KEY_NEEDLES, _SECRET_KEYS, _SECRET_SUFFIXES

    for name in (*_SECRET_KEYS, *_SECRET_SUFFIXES):
        assert any(needle in name for needle in _KEY_NEEDLES), name


_ALPHABET = "aApPiIkKeEyYuUtThHoOrRzZnNsScCmMJ_=:\"' .-{}é\u212a\u0130"


@given(st.text(alphabet=_ALPHABET, max_size=40))
@settings(max_examples=400, deadline=None)
def test_anchor_check_agrees_with_the_anchor_pattern(text):
    from stream_mcp.observability.redact import _MAYBE, _anchored

    lowered = text.lower() if text.isascii() else None
    assert _anchored(text, lowered) == (_MAYBE.search(text) is not None)


@given(
    st.lists(
        st.sampled_from(
            [
                "api_key=abc123",
                "API_KEY: x9",
                "Authorization: Bearer q1w2",
                "smcp_" + "B" * 20,
                "eyJhbGci.eyJzdWIi.c2ln",
                "plain",
                "é",
                "\u212a",
                "api_\u212aey=zz99",
                "token",
                "\\u00e9",
                "secret-value-1234",
            ]
        ),
        max_size=6,
    )
)
@settings(max_examples=300, deadline=None)
def test_needs_redaction_is_true_whenever_the_walk_changes_something(pieces):
    import json

    redactor = Redactor(["secret-value-1234"])
    body = json.dumps({"a": " ".join(pieces), "b": [{"c": p} for p in pieces]})
    if redactor.value(json.loads(body)) != json.loads(body):
        assert redactor.needs_redaction(body)


def test_case_folded_api_key_is_still_redacted():
    """Non-ASCII text takes the regex: the Kelvin sign folds to k as the patterns read it."""
    text = "api_\u212aey=abc123"
    assert "abc123" not in redact_text(text)
    assert Redactor().needs_redaction(json_text(text))


def json_text(value: str) -> str:
    return '{"v": "' + value + '"}'
