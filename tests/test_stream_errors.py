"""Stream's error bodies (and everything that is not one) become actionable errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stream_mcp.errors import StreamAPIError, StreamResponseError
from stream_mcp.execution.stream_errors import STREAM_CODES, error_from_response, snippet
from stream_mcp.observability.redact import Redactor

SECRET = "shhh-app-secret-42"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiYSJ9.c2lnbmF0dXJl"
REDACTOR = Redactor([SECRET])
WHERE = "SendMessage (POST /channels/{type}/{id}/message)"


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def parse(status: int, raw: bytes, **kwargs: Any) -> Any:
    return error_from_response(status, raw, where=WHERE, redactor=REDACTOR, **kwargs)


@pytest.mark.parametrize(
    ("code", "status", "name", "retryable"),
    [
        (4, 400, "input error", False),
        (5, 401, "authentication error", False),
        (9, 429, "rate limit", True),
        (16, 404, "does not exist", False),
        (17, 403, "not allowed", False),
        (40, 401, "token expired", True),
        (43, 401, "bad token signature", False),
        (-1, 500, "internal error", True),
        (60, 403, "cooldown", True),
        (73, 400, "moderation rejected", False),
        (99, 403, "app suspended", False),
    ],
)
def test_known_codes_carry_meaning_next_step_and_retryability(
    code: int, status: int, name: str, retryable: bool
) -> None:
    error = parse(status, body(code=code, message="boom", StatusCode=status, duration="1ms"))
    assert isinstance(error, StreamAPIError)
    assert (error.code, error.status, error.retryable) == (code, status, retryable)
    data = error.to_dict()
    assert data["code_name"] == name
    assert data["meaning"] == STREAM_CODES[code].meaning
    assert data["hint"] == STREAM_CODES[code].next_step
    assert data["stream_message"] == "boom"
    assert str(error) == f"Stream error {code} ({name}) on {WHERE}: boom"
    json.dumps(data)


def test_code_table_is_complete_and_consistent() -> None:
    documented = {-1, 2, 4, 5, 6, 9, 16, 17, 18, 19, 20, 21, 22, 23, 24, 40, 41, 42, 43}
    documented |= {44, 45, 60, 70, 73, 99}
    assert documented <= set(STREAM_CODES)
    for code, info in STREAM_CODES.items():
        assert 400 <= info.status <= 599, code
        assert info.meaning and info.next_step and "\n" not in info.next_step
        if info.status == 429 or info.status >= 500:
            assert info.retryable, code


def test_all_fields_of_the_body_are_kept_and_redacted() -> None:
    raw = body(
        code=4,
        message=f"GetOrCreateChannel failed: token {JWT} secret {SECRET}\nsecond line",
        StatusCode=400,
        duration="0.31ms",
        more_info="https://getstream.io/chat/docs/api_errors_response",
        exception_fields={"data.created_by_id": f"must be set ({SECRET})"},
        details=[],
    )
    error = parse(400, raw, request_id="r-1", rate_limit={"remaining": 3})
    text = json.dumps(error.to_dict())
    assert SECRET not in text and JWT not in text
    assert "\n" not in str(error)
    assert error.duration == "0.31ms"
    data = error.to_dict()
    assert data["more_info"] == "https://getstream.io/chat/docs/api_errors_response"
    assert data["exception_fields"] == {"data.created_by_id": "must be set ([redacted])"}
    assert data["request_id"] == "r-1" and data["rate_limit"] == {"remaining": 3}
    assert data["hint"].endswith("fields: data.created_by_id: must be set ([redacted])")


def test_unrecoverable_is_never_retryable() -> None:
    error = parse(500, body(code=-1, message="x", StatusCode=500, unrecoverable=True))
    assert error.retryable is False and error.to_dict()["unrecoverable"] is True


def test_unknown_code_falls_back_to_the_http_status() -> None:
    error = parse(503, body(code=1234, message="maintenance"))
    assert isinstance(error, StreamAPIError)
    assert error.retryable is True and error.info is None
    assert str(error) == f"Stream error 1234 on {WHERE}: maintenance"
    assert "retry" in error.hint
    assert parse(418, body(code="x", message="teapot")).code is None


def test_retry_after_is_carried() -> None:
    error = parse(429, body(code=9, message="slow down"), retry_after=2.5)
    assert error.retry_after == 2.5 and error.to_dict()["retry_after"] == 2.5


@pytest.mark.parametrize(
    ("status", "raw", "content_type", "expected", "retryable"),
    [
        (502, b"<html>Bad Gateway</html>", "text/html", "a non-JSON body (text/html)", True),
        (500, b'{"code": -1, "mess', "application/json", "a truncated or malformed", True),
        (400, b"[1, 2", "", "a malformed JSON body", False),
        (504, b"", "", "an empty body", True),
        (200, b"not json", "text/plain", "a non-JSON body (text/plain)", False),
        (200, b'{"a": ', "application/json", "a truncated or malformed", False),
    ],
)
def test_unreadable_bodies_get_clear_errors(
    status: int, raw: bytes, content_type: str, expected: str, retryable: bool
) -> None:
    error = parse(status, raw, content_type=content_type)
    assert isinstance(error, StreamResponseError)
    assert f"Stream answered HTTP {status} on {WHERE} with {expected}" in str(error)
    assert error.retryable is retryable and error.status == status
    assert error.to_dict()["error"] == "bad_response"


def test_success_status_with_bad_body_warns_the_call_may_have_happened() -> None:
    error = parse(201, b"oops")
    assert "may have taken effect" in error.hint


def test_json_without_stream_fields_is_reported_with_its_status() -> None:
    error = parse(403, b'{"error": "forbidden by proxy"}')
    assert isinstance(error, StreamResponseError)
    assert str(error).startswith(f"Stream answered HTTP 403 on {WHERE} without an error code")
    assert "forbidden by proxy" in str(error)


def test_snippets_are_short_one_line_and_redacted() -> None:
    raw = (f"line one {SECRET}\n\n api_key=abc123 " + "x" * 1000).encode()
    text = snippet(raw, REDACTOR)
    assert len(text) <= 200 and "\n" not in text
    assert SECRET not in text and "abc123" not in text
    assert text.endswith("…")
    assert snippet(b"\xff\xfe bad utf8", REDACTOR).endswith("bad utf8")


def test_the_sandbox_not_emulating_is_its_own_kind_never_an_input_error() -> None:
    body = {
        "code": 4,
        "message": "the stream-mcp sandbox does not emulate GET /og",
        "StatusCode": 501,
        "sandbox_not_emulated": True,
        "sandbox_method": "GET",
        "sandbox_path": "/og",
        "sandbox_emulated_nearby": ["GetApp", "UpdateApp"],
    }
    error = error_from_response(
        501, json.dumps(body).encode(), where="GetOG (GET /og)", redactor=Redactor()
    )
    data = error.to_dict()
    assert data["error"] == "not_emulated" and data["retryable"] is False
    assert "real Stream" in data["hint"] and "GetApp, UpdateApp" in data["hint"]
    assert data["alternatives"] == ["GetApp", "UpdateApp"]
    assert "input error" not in data["message"] and "not the problem" in data["message"]
    feature = {**body, "sandbox_feature": "campaign segments"}
    feature.pop("sandbox_emulated_nearby")
    error = error_from_response(501, json.dumps(feature).encode(), where="X", redactor=Redactor())
    assert "campaign segments" in str(error) and error.to_dict()["error"] == "not_emulated"
