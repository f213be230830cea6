"""A real OAuth 2.1 authorization server, and stream-mcp's HTTP app, on loopback sockets.

The authorization server is the mcp SDK's own routes (``create_auth_routes``: metadata,
dynamic client registration, ``/authorize`` with PKCE, ``/token``) over :class:`Provider`,
which approves every request at once as the person a test names in :class:`Consent`. Access
tokens are RS256 JWTs whose audience is the RFC 8707 ``resource`` the client asked for;
``/jwks`` serves the public keys (and counts its fetches); keys can be rotated.

:func:`oauth_client` drives the whole code flow with the SDK's ``OAuthClientProvider``: it
meets the 401, reads the protected-resource metadata, registers, follows the authorize
redirect programmatically and exchanges the code.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp.client.auth import OAuthClientProvider
from mcp.server.auth.provider import (
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_metadata, create_auth_routes
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyHttpUrl, AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.e2e import TLS

SCOPES = ["stream:read", "stream:write", "stream:admin"]
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --------------------------------------------------------------------------- the AS


@dataclass
class Consent:
    """What the (simulated) person approves on the next authorization."""

    subject: str = "person-1"
    scopes: list[str] | None = None  # None: whatever the client asked for
    users: list[str] | None = field(default_factory=lambda: ["alice"])


class Code(AuthorizationCode):
    users: list[str] | None = None


@dataclass
class SigningKeys:
    """The AS's RSA keys; the newest signs, every one is published."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    current: str = ""

    def rotate(self) -> str:
        self.current = "k-" + secrets.token_hex(4)
        self.keys[self.current] = new_rsa_key()
        return self.current

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid, key in self.keys.items():
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": out}


class Provider:
    """An ``OAuthAuthorizationServerProvider`` that approves at once, as ``consent`` says."""

    def __init__(self, authority: AuthorizationServer) -> None:
        self.authority = authority
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, Code] = {}

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        consent = self.authority.consent
        code = Code(
            code=secrets.token_urlsafe(24),
            scopes=consent.scopes if consent.scopes is not None else (params.scopes or []),
            expires_at=time.time() + 60,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=consent.subject,
            users=consent.users,
        )
        self.codes[code.code] = code
        return construct_redirect_uri(str(params.redirect_uri), code=code.code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> Code | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: Code
    ) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)
        token = self.authority.mint(
            sub=authorization_code.subject,
            aud=authorization_code.resource,
            scope=" ".join(authorization_code.scopes),
            client_id=client.client_id,
            stream_users=authorization_code.users,
        )
        self.authority.issued.append(token)
        return OAuthToken(
            access_token=token, expires_in=300, scope=" ".join(authorization_code.scopes)
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        raise TokenError(error="invalid_grant")

    async def load_access_token(self, token: str) -> None:
        return None

    async def revoke_token(self, token: Any) -> None:
        return None


class AuthorizationServer:
    """The SDK's AS routes plus ``/jwks``, served by uvicorn in a thread on loopback."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.signing = SigningKeys()
        self.signing.rotate()
        self.consent = Consent()
        self.jwks_fetches = 0
        self.issued: list[str] = []
        self.provider = Provider(self)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def mint(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token; claims default to a valid one for ``claims['aud']``."""
        now = int(time.time())
        body = {"iss": self.issuer, "iat": now, "exp": now + 300, "jti": secrets.token_hex(8)}
        body.update({k: v for k, v in claims.items() if v is not None})
        for name, value in claims.items():
            if value is None:
                body.pop(name, None)
        kid = kid or self.signing.current
        signer = key or self.signing.keys[kid]
        return jwt.encode(body, signer, algorithm="RS256", headers={"kid": kid, **(headers or {})})

    def app(self) -> Starlette:
        issuer = AnyHttpUrl(self.issuer)
        registration = ClientRegistrationOptions(
            enabled=True, valid_scopes=SCOPES, default_scopes=SCOPES
        )
        metadata = build_metadata(issuer, None, registration, RevocationOptions())
        document = metadata.model_dump(mode="json", exclude_none=True)
        document["issuer"] = self.issuer  # exact, without a trailing slash
        document["jwks_uri"] = f"{self.issuer}/jwks"

        async def as_metadata(request: Request) -> JSONResponse:
            return JSONResponse(document)

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_fetches += 1
            return JSONResponse(self.signing.jwks())

        routes = [
            Route("/.well-known/oauth-authorization-server", as_metadata),
            Route("/jwks", jwks),
            *create_auth_routes(self.provider, issuer, client_registration_options=registration),
        ]
        return Starlette(routes=routes)

    def start(self) -> None:
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("authorization server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()


@contextmanager
def authorization_server() -> Iterator[AuthorizationServer]:
    server = AuthorizationServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- the client


class MemoryStorage:
    """The SDK client's ``TokenStorage``, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def oauth_provider(server_url: str, storage: MemoryStorage | None = None) -> OAuthClientProvider:
    """The SDK's OAuth client, whose browser step is an HTTP GET that reads the redirect."""
    redirected: dict[str, str] = {}

    async def redirect_handler(authorization_url: str) -> None:
        async with httpx2.AsyncClient(verify=TLS, follow_redirects=False, timeout=10) as http:
            response = await http.get(authorization_url)
        assert response.status_code in (302, 303, 307), response.text
        query = parse_qs(urlsplit(response.headers["location"]).query)
        redirected.update({name: values[0] for name, values in query.items()})

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(
            code=redirected["code"], state=redirected.get("state"), iss=redirected.get("iss")
        )

    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="stream-mcp tests",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage or MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )


@asynccontextmanager
async def oauth_http(server_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client that authenticates to ``server_url`` through the full OAuth flow."""
    async with httpx2.AsyncClient(verify=TLS, auth=oauth_provider(server_url), timeout=30) as http:
        yield http


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


# --------------------------------------------------------------------------- stream-mcp


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Forwards the executor's requests to the sandbox and keeps what each one carried."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport(verify=TLS)
        self.sent: list[str] = []  # URL, headers and body of each request, as text

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        self.sent.append(f"{request.url}\n{headers}\n{body.decode('utf-8', 'replace')}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class McpServer:
    url: str
    upstream: RecordingTransport
    oauth: Any  # stream_mcp.server.oauth.OAuthResource


@contextmanager
def stream_mcp_server(issuer: str, api_keys: dict[str, Any]) -> Iterator[McpServer]:
    """stream-mcp's real HTTP app (OAuth + API keys) on the embedded sandbox, served by
    uvicorn on a loopback socket in its own thread and event loop."""
    from stream_mcp.catalog import load_catalog
    from stream_mcp.config import Settings, load_settings
    from stream_mcp.execution import Executor, ExecutorConfig
    from stream_mcp.observability import AuditLog
    from stream_mcp.runtime import embedded_sandbox
    from stream_mcp.search import SearchIndex
    from stream_mcp.server import build_server
    from stream_mcp.server.http import build_http_app
    from stream_mcp.server.oauth import OAuthConfig, OAuthResource
    from stream_mcp.service import StreamService

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    oauth = OAuthResource(OAuthConfig(issuer=issuer, resource=url))
    upstream = RecordingTransport()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        settings = load_settings(Settings)
        with embedded_sandbox(settings, ":memory:") as handle:
            credentials = handle.credentials
            catalog = load_catalog(None)
            executor = Executor(
                api_key=credentials.api_key,
                base_url=credentials.base_url,
                redactor=credentials.redactor(),
                config=ExecutorConfig(max_retries=0, budget_per_minute=100000),
                transport=upstream,
            )
            service = StreamService(
                catalog=catalog,
                index=SearchIndex.from_catalog(catalog),
                credentials=credentials,
                executor=executor,
                audit=AuditLog(None, redactor=credentials.redactor()),
            )
            app = build_http_app(
                build_server(service),
                verify=api_keys.get,
                profile=credentials.profile_name,
                mode="discovery",
                host="127.0.0.1",
                port=port,
                oauth=oauth,
            )
            config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
            server = holder["server"] = uvicorn.Server(config)
            ready.set()
            try:
                await server.serve(sockets=[sock])
            finally:
                await executor.aclose()

    def run() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # reported to the test below
            holder["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(30)
    deadline = time.monotonic() + 30
    while "error" not in holder and not getattr(holder.get("server"), "started", False):
        if time.monotonic() > deadline:
            raise TimeoutError("stream-mcp did not start")
        time.sleep(0.02)
    if "error" in holder:
        raise RuntimeError(f"stream-mcp failed to start: {holder['error']!r}")
    try:
        yield McpServer(url=url, upstream=upstream, oauth=oauth)
    finally:
        holder["server"].should_exit = True
        thread.join(timeout=15)
        sock.close()
