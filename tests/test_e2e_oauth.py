"""OAuth 2.1 end to end: a real authorization server, the SDK's OAuth client, stream-mcp's HTTP
app on a real socket and the embedded sandbox upstream.

The client gets its token through the full flow (401 → protected-resource metadata → AS
metadata → dynamic registration → authorize with PKCE → token), then calls tools over both
protocol versions the mcp client speaks. Crafted tokens (another key, another audience,
expired, ``none``, HMAC, oversized, unknown kids) are refused with a 401 that names the
metadata. The access token never reaches the sandbox or a result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from unittest.mock import patch

import anyio
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from stream_mcp.vault import Principal
from tests.e2e import TLS, RecordingClient, Transcript, free_port, http_server_process
from tests.oauth_support import (
    AuthorizationServer,
    Consent,
    McpServer,
    authorization_server,
    new_rsa_key,
    oauth_http,
    stream_mcp_server,
)

pytestmark = pytest.mark.slow

API_KEY = "smcp_" + secrets.token_urlsafe(32)
SUPPORT = Principal(name="support", profile="sandbox", users=("alice", "bob"))
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "0"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def authority() -> Iterator[AuthorizationServer]:
    with authorization_server() as server:
        yield server


@pytest.fixture(scope="module")
def mcp(authority: AuthorizationServer) -> Iterator[McpServer]:
    with stream_mcp_server(authority.issuer, {API_KEY: SUPPORT}) as server:
        yield server


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    return Transcript(api_secret="not-used-" + secrets.token_hex(8))


@asynccontextmanager
async def oauth_session(
    mcp: McpServer, transcript: Transcript, mode: str = "legacy"
) -> AsyncIterator[RecordingClient]:
    async with (
        oauth_http(mcp.url) as http,
        Client(streamable_http_client(mcp.url, http_client=http), mode=mode) as client,
    ):
        yield RecordingClient(client, transcript)


async def probe(mcp: McpServer, token: str | None) -> httpx2.Response:
    headers = dict(ACCEPT)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
        return await http.post(mcp.url, json=INIT, headers=headers)


def _challenge(response: httpx2.Response) -> str:
    return response.headers.get("www-authenticate", "")


def _metadata_url(mcp: McpServer) -> str:
    return mcp.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")


# --------------------------------------------------------------------------- discovery


async def test_protected_resource_metadata(mcp: McpServer, authority: AuthorizationServer):
    async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
        for url in (
            _metadata_url(mcp),
            mcp.url.replace("/mcp", "/.well-known/oauth-protected-resource"),
        ):
            response = await http.get(url, headers={"Origin": "https://inspector.example"})
            assert response.status_code == 200, url
            document = response.json()
            assert document["resource"] == mcp.url
            assert document["authorization_servers"] == [authority.issuer]
            assert document["scopes_supported"] == ["stream:read", "stream:write", "stream:admin"]
            assert document["bearer_methods_supported"] == ["header"]
            assert response.headers["access-control-allow-origin"] == "*"


async def test_a_401_names_the_metadata(mcp: McpServer):
    response = await probe(mcp, None)
    assert response.status_code == 401
    assert _challenge(response) == f'Bearer resource_metadata="{_metadata_url(mcp)}"'


# --------------------------------------------------------------------------- the full flow


VERSIONS = {"legacy": "2025-11-25", "auto": "2026-07-28"}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_token_from_the_code_flow_works(
    mcp: McpServer, authority: AuthorizationServer, transcript: Transcript, mode: str
):
    authority.consent = Consent(subject=f"person-{mode}", users=["alice"])
    issued = len(authority.issued)
    async with oauth_session(mcp, transcript, mode) as client:
        assert client.client.protocol_version == VERSIONS[mode]
        tools = await client.list_tools()
        assert "execute_operation" in [t.name for t in tools.tools]
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "alice"},
        )
        assert not error, payload
        assert payload["acting_user"] == "alice"
        payload, error = await client.call(
            "execute_operation",
            {
                "operation_id": "GetOrCreateChannel",
                "arguments": {"type": "messaging", "id": f"oauth-{mode}"},
                "as_user": "alice",
            },
        )
        assert not error, payload
        # stream:admin was granted (the client asked for every scope): tokens may be minted.
        payload, error = await client.call("issue_user_token", {"user_id": "alice"})
        assert not error and payload["user_id"] == "alice"
    assert len(authority.issued) == issued + 1
    token = authority.issued[-1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == mcp.url  # RFC 8707: the client asked for this resource
    assert claims["sub"] == f"person-{mode}"
    _assert_never_leaked(mcp, authority, transcript)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_read_scope_reads_but_cannot_write(
    mcp: McpServer, authority: AuthorizationServer, transcript: Transcript, mode: str
):
    authority.consent = Consent(subject="reader", scopes=["stream:read"], users=["alice"])
    async with oauth_session(mcp, transcript, mode) as client:
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "alice"},
        )
        assert not error, payload
        payload, error = await client.call(
            "execute_operation",
            {
                "operation_id": "GetOrCreateChannel",
                "arguments": {"type": "messaging", "id": "read-only"},
                "as_user": "alice",
            },
        )
        assert error and payload["error"] == "policy_denied" and payload["field"] == "scope"
        assert "stream:write" in payload["message"]
        # Server-side operations need stream:admin, reads included.
        payload, error = await client.call(
            "execute_operation", {"operation_id": "ListChannelTypes", "as_user": "alice"}
        )
        assert error and payload["field"] == "scope" and "stream:admin" in payload["message"]
        payload, error = await client.call("issue_user_token", {"user_id": "alice"})
        assert error and payload["field"] == "scope"


async def test_the_users_claim_bounds_acting_and_named_users(
    mcp: McpServer, authority: AuthorizationServer, transcript: Transcript
):
    authority.consent = Consent(subject="alice-only", scopes=["stream:write"], users=["alice"])
    async with oauth_session(mcp, transcript) as client:
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "bob"},
        )
        assert error and payload["field"] == "as_user"
        # The default acting user (agent-bot) is not granted either.
        payload, error = await client.call(
            "execute_operation", {"operation_id": "QueryChannels", "arguments": {}}
        )
        assert error and payload["field"] == "as_user"
        # Acting as alice but naming bob as a subject is refused too.
        payload, error = await client.call(
            "execute_operation",
            {
                "operation_id": "GetOrCreateChannel",
                "arguments": {
                    "type": "messaging",
                    "id": "with-bob",
                    "data": {"members": [{"user_id": "alice"}, {"user_id": "bob"}]},
                },
                "as_user": "alice",
            },
        )
        assert error and payload["error"] == "policy_denied", payload
        assert "bob" in payload["message"]


async def test_no_users_claim_acts_as_no_one(
    mcp: McpServer, authority: AuthorizationServer, transcript: Transcript
):
    authority.consent = Consent(subject="nobody", users=None)
    async with oauth_session(mcp, transcript) as client:
        payload, error = await client.call("search_operations", {"query": "send a message"})
        assert not error
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "alice"},
        )
        assert error and payload["field"] == "as_user"


# --------------------------------------------------------------------------- refusals


def _hs256_with_public_key(authority: AuthorizationServer, mcp: McpServer) -> str:
    public = authority.signing.keys[authority.signing.current].public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": authority.signing.current}
    body = {"iss": authority.issuer, "aud": mcp.url, "sub": "x", "exp": int(time.time()) + 60}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def _refused_tokens(authority: AuthorizationServer, mcp: McpServer) -> dict[str, str]:
    now = int(time.time())
    valid: dict[str, Any] = {"aud": mcp.url, "sub": "p", "scope": "stream:read"}
    unsigned = jwt.encode(
        {**valid, "iss": authority.issuer, "exp": now + 60}, None, algorithm="none"
    )
    return {
        "wrong audience": authority.mint(**{**valid, "aud": "https://other.example/mcp"}),
        "another key": authority.mint(key=new_rsa_key(), **valid),
        "expired": authority.mint(**valid, exp=now - 120, iat=now - 600),
        "not yet valid": authority.mint(**valid, nbf=now + 600),
        "no exp": authority.mint(**valid, exp=None),
        "wrong issuer": authority.mint(**valid, iss="https://evil.example"),
        "alg none": unsigned,
        "hs256 with the public key": _hs256_with_public_key(authority, mcp),
        "oversized": authority.mint(**valid, pad="x" * 20000),
        "garbled": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOi.AAAA",
        "bad users claim": authority.mint(**valid, stream_users=["ali ce"]),
    }


async def test_bad_tokens_get_a_clean_401(mcp: McpServer, authority: AuthorizationServer):
    for label, token in _refused_tokens(authority, mcp).items():
        response = await probe(mcp, token)
        assert response.status_code == 401, (label, response.status_code, response.text)
        challenge = _challenge(response)
        assert challenge.startswith('Bearer error="invalid_token"'), (label, challenge)
        assert f'resource_metadata="{_metadata_url(mcp)}"' in challenge, label
        assert "Traceback" not in response.text and token not in response.text


async def test_audience_lists_and_clock_skew(mcp: McpServer, authority: AuthorizationServer):
    now = int(time.time())
    base = {"sub": "p", "scope": "stream:read"}
    several = authority.mint(aud=["https://other.example", mcp.url], **base)
    assert (await probe(mcp, several)).status_code == 200
    skewed = authority.mint(aud=mcp.url, exp=now - 5, **{k: v for k, v in base.items()})
    assert (await probe(mcp, skewed)).status_code == 200  # within the 30 s leeway
    # Scope strings are split on single spaces only: a tab makes one unknown name.
    odd = authority.mint(aud=mcp.url, sub="p", scope="stream:read\tstream:admin")
    response = await probe(mcp, odd)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in _challenge(response)
    assert 'scope="stream:read"' in _challenge(response)


async def test_an_unknown_kid_refetches_once(mcp: McpServer, authority: AuthorizationServer):
    claims = {"aud": mcp.url, "sub": "p", "scope": "stream:read"}
    assert (await probe(mcp, authority.mint(**claims))).status_code == 200
    before = authority.jwks_fetches
    authority.signing.rotate()
    assert (await probe(mcp, authority.mint(**claims))).status_code == 200
    assert authority.jwks_fetches == before + 1
    # A flood of invented kids cannot make the server hammer the authorization server.
    # (One key the server has never seen signs them all: 2048-bit keys cost ~0.1 s each.)
    unknown = new_rsa_key()
    for _ in range(20):
        bogus = authority.mint(kid="k-" + secrets.token_hex(6), key=unknown, **claims)
        assert (await probe(mcp, bogus)).status_code == 401
    assert authority.jwks_fetches == before + 1


async def test_api_keys_still_work(mcp: McpServer, transcript: Transcript):
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        httpx2.AsyncClient(verify=TLS, headers=headers, timeout=30) as http,
        Client(streamable_http_client(mcp.url, http_client=http), mode="legacy") as raw,
    ):
        client = RecordingClient(raw, transcript)
        payload, error = await client.call(
            "execute_operation",
            {"operation_id": "QueryChannels", "arguments": {}, "as_user": "bob"},
        )
        assert not error, payload
    bad = await probe(mcp, "smcp_" + secrets.token_urlsafe(32))
    assert bad.status_code == 401
    assert _challenge(bad).startswith('Bearer error="invalid_token"')
    assert "resource_metadata=" in _challenge(bad)


def _assert_never_leaked(
    mcp: McpServer, authority: AuthorizationServer, transcript: Transcript
) -> None:
    """No issued access token (nor its signature) reached the sandbox or any result."""
    sent = "\n".join(mcp.upstream.sent)
    assert sent, "nothing reached the sandbox"
    results = json.dumps([recorded for _, recorded, _ in transcript.results])
    assert authority.issued
    for token in authority.issued:
        signature = token.rsplit(".", 1)[1]
        for text in (sent, results):
            assert token not in text and signature not in text


# --------------------------------------------------------------------------- the CLI


def test_serve_wires_oauth_from_the_environment(tmp_path, authority: AuthorizationServer):
    """``stream-mcp serve --transport http --sandbox`` with STREAM_MCP_OAUTH_*: the code flow
    works, API keys from the vault still do, and the server log holds no raw JWT."""
    port = free_port()
    env = {
        "STREAM_MCP_OAUTH_ISSUER": authority.issuer,
        "STREAM_MCP_OAUTH_RESOURCE": f"http://127.0.0.1:{port}/mcp",
    }
    with (
        patch.dict(os.environ, env),
        patch("tests.e2e.free_port", return_value=port),
        http_server_process(tmp_path, {"support": ("sandbox", ("alice",))}) as server,
    ):
        url = env["STREAM_MCP_OAUTH_RESOURCE"]
        transcript: Transcript = server["transcript"]
        authority.consent = Consent(subject="cli-person", users=["alice"])

        async def session() -> None:
            async with (
                oauth_http(url) as http,
                Client(streamable_http_client(url, http_client=http)) as raw,
            ):
                client = RecordingClient(raw, transcript)
                payload, error = await client.call(
                    "execute_operation",
                    {"operation_id": "QueryChannels", "arguments": {}, "as_user": "alice"},
                )
                assert not error, payload
            headers = {"Authorization": f"Bearer {server['keys']['support']}"}
            async with (
                httpx2.AsyncClient(verify=TLS, headers=headers, timeout=30) as http,
                Client(streamable_http_client(url, http_client=http), mode="legacy") as raw,
            ):
                payload, error = await RecordingClient(raw, transcript).call(
                    "execute_operation",
                    {"operation_id": "QueryChannels", "arguments": {}, "as_user": "alice"},
                )
                assert not error, payload
            refused = await probe_url(url, authority.mint(aud="https://elsewhere/mcp", sub="x"))
            assert refused.status_code == 401 and "resource_metadata=" in _challenge(refused)

        anyio.run(session)
    transcript.assert_no_leaks()
    log = transcript.logs()
    assert '"event": "access_token_refused"' in log
    for token in authority.issued:
        assert token.rsplit(".", 1)[1] not in log


async def probe_url(url: str, token: str) -> httpx2.Response:
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(verify=TLS, timeout=10) as http:
        return await http.post(url, json=INIT, headers=headers)
