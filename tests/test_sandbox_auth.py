"""Authentication failures, Stream's error envelope and the not-emulated answer.

These run in-process against ``Sandbox.app`` through httpx2's ASGI transport: the same app the
loopback server serves, without a socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import jwt
import pytest

from stream_mcp.sandbox import Sandbox
from stream_mcp.sandbox.auth import Credentials
from tests.sandbox_helpers import now, server_token, user_token

ENVELOPE = {"code", "message", "StatusCode", "duration", "more_info", "details"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(api_key="sandboxkey01", api_secret="s" * 48)
    yield sb
    sb.stop()


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sandbox.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def get_app(
    http: httpx2.AsyncClient,
    *,
    api_key: str | None,
    headers: dict[str, str],
    path: str = "/app",
) -> httpx2.Response:
    params = {"api_key": api_key} if api_key is not None else {}
    return await http.get(path, params=params, headers=headers)


def jwt_headers(token: str, auth_type: str | None = "jwt") -> dict[str, str]:
    headers = {"Authorization": token}
    if auth_type is not None:
        headers["Stream-Auth-Type"] = auth_type
    return headers


def check_error(response: httpx2.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ENVELOPE
    assert body["code"] == code
    assert body["StatusCode"] == status
    assert body["duration"].endswith("ms")
    assert body["details"] == []
    return body


async def test_valid_server_and_user_tokens(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    secret = sandbox.api_secret
    for token in (
        server_token(secret),
        user_token(secret, "alice"),
        "Bearer " + server_token(secret),
    ):
        response = await get_app(http, api_key=sandbox.api_key, headers=jwt_headers(token))
        assert response.status_code == 200, response.text
        assert response.json()["app"]["name"] == "stream-mcp sandbox"


async def test_missing_or_wrong_api_key_is_code_2(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    headers = jwt_headers(server_token(sandbox.api_secret))
    check_error(await get_app(http, api_key=None, headers=headers), 401, 2)
    body = check_error(await get_app(http, api_key="not-the-key", headers=headers), 401, 2)
    assert "not-the-key" in body["message"]


async def test_bad_signature_is_code_43(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    forged = server_token("another-secret-of-sufficient-length-000000")
    body = check_error(
        await get_app(http, api_key=sandbox.api_key, headers=jwt_headers(forged)), 401, 43
    )
    assert "signature is not valid" in body["message"]
    assert sandbox.api_secret not in body["message"]


async def test_expired_token_is_code_40(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    expired = user_token(sandbox.api_secret, "alice", exp=now() - 60)
    body = check_error(
        await get_app(http, api_key=sandbox.api_key, headers=jwt_headers(expired)), 401, 40
    )
    assert "expired" in body["message"]


async def test_token_from_the_future_is_code_41(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    early = user_token(sandbox.api_secret, "alice", iat=now() + 3600)
    check_error(await get_app(http, api_key=sandbox.api_key, headers=jwt_headers(early)), 401, 41)


async def test_missing_headers_and_malformed_tokens_are_code_5(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    token = server_token(sandbox.api_secret)
    key = sandbox.api_key
    body = check_error(
        await get_app(http, api_key=key, headers={"Stream-Auth-Type": "jwt"}), 401, 5
    )
    assert "Authorization" in body["message"]
    body = check_error(await get_app(http, api_key=key, headers=jwt_headers(token, None)), 401, 5)
    assert "Stream-Auth-Type" in body["message"]
    check_error(await get_app(http, api_key=key, headers=jwt_headers(token, "anonymous")), 401, 5)
    check_error(await get_app(http, api_key=key, headers=jwt_headers("not.a.jwt")), 401, 5)
    unsigned = jwt.encode({"server": True}, None, algorithm="none")
    check_error(await get_app(http, api_key=key, headers=jwt_headers(unsigned)), 401, 5)
    nobody = jwt.encode({"role": "admin"}, sandbox.api_secret, algorithm="HS256")
    check_error(await get_app(http, api_key=key, headers=jwt_headers(nobody)), 401, 5)


async def test_auth_is_checked_before_routing(http: httpx2.AsyncClient, sandbox: Sandbox) -> None:
    headers = jwt_headers(server_token(sandbox.api_secret))
    check_error(await get_app(http, api_key="wrong", headers=headers, path="/og"), 401, 2)
    body = check_error(
        await get_app(http, api_key=sandbox.api_key, headers=headers, path="/og"), 501, 4
    )
    assert body["message"] == "the stream-mcp sandbox does not emulate GET /og"
    assert body["unrecoverable"] is True
    assert body["sandbox_not_emulated"] is True
    assert (body["sandbox_method"], body["sandbox_path"]) == ("GET", "/og")


async def test_unemulated_routes_from_the_spec_never_succeed(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    headers = jwt_headers(server_token(sandbox.api_secret))
    params = {"api_key": sandbox.api_key}
    for method, path in (
        ("GET", "/og"),
        ("POST", "/guest"),
        ("GET", "/push_templates"),
        ("POST", "/retention_policy"),
        ("POST", "/usergroups"),
        ("GET", "/external_storage"),
        ("PUT", "/channels"),
    ):
        response = await http.request(method, path, params=params, headers=headers, json={})
        body = check_error(response, 501, 4)
        assert f"does not emulate {method} {path}" in body["message"]


async def test_invalid_json_body_is_an_input_error(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    response = await http.post(
        "/users",
        params={"api_key": sandbox.api_key},
        headers={
            **jwt_headers(server_token(sandbox.api_secret)),
            "Content-Type": "application/json",
        },
        content=b"{not json",
    )
    body = check_error(response, 400, 4)
    assert body["message"].startswith("UpdateUsers failed with error:")


async def test_successful_responses_carry_duration(
    http: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    response = await http.post(
        "/users",
        params={"api_key": sandbox.api_key},
        headers=jwt_headers(server_token(sandbox.api_secret)),
        json={"users": {"carol": {"id": "carol"}}},
    )
    assert response.status_code == 201
    assert response.json()["duration"].endswith("ms")


def test_secret_stays_out_of_reprs() -> None:
    sb = Sandbox(api_key="visiblekey12", api_secret="hidden-secret-value-" * 3)
    try:
        assert "hidden-secret-value" not in repr(sb)
        assert "visiblekey12" in repr(sb)
        credentials = Credentials.generate()
        assert credentials.api_secret not in repr(credentials)
        assert len(credentials.api_secret) >= 32
    finally:
        sb.stop()


def test_credentials_from_environment() -> None:
    assert Credentials.from_env({"STREAM_API_KEY": "k"}) is None
    found = Credentials.from_env({"STREAM_API_KEY": "k", "STREAM_API_SECRET": "s"})
    assert found is not None and (found.api_key, found.api_secret) == ("k", "s")
