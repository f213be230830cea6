"""Redaction: JWTs, api_key values, HTTP API keys and registered secrets never survive."""

from __future__ import annotations

import jwt

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


def test_short_or_empty_secrets_are_not_registered():
    """Registering 'a' would redact every letter a: secrets shorter than 6 chars are ignored."""
    assert Redactor(["", "abc"]).text("abc cab") == "abc cab"
