"""Streamable HTTP transport: bearer API keys, principals and DNS-rebinding protection.

Every request to the MCP endpoint must carry ``Authorization: Bearer <key>``. The key is
checked against the hashes stored in the vault; the matching principal names the profile
and mode it may use and the users it may act as. A missing or unknown key gets 401; a key
for another profile or mode gets 403. Host and Origin headers are checked against an
allow-list so a web page cannot reach a server bound to localhost.

With OAuth configured (:mod:`stream_mcp.server.oauth`), a bearer token shaped like a JWT is
checked as an access token only; anything else is checked as an API key. 401s then name the
protected-resource metadata, which is served without auth.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stream_mcp.auth.scopes import READ
from stream_mcp.errors import InvalidToken, SigningKeysUnavailable
from stream_mcp.limits import MAX_UPLOAD_ARGUMENT_BYTES
from stream_mcp.observability import get_logger
from stream_mcp.server._server import CALLER_SCOPE_KEY
from stream_mcp.server.oauth import OAuthPrincipal, OAuthResource, looks_like_jwt
from stream_mcp.service import Caller
from stream_mcp.vault import Principal

if TYPE_CHECKING:
    from stream_mcp.events import EventFeed
    from stream_mcp.service import StreamService

MCP_PATH = "/mcp"
# The largest JSON-RPC message accepted: an upload's arguments plus the envelope.
MAX_BODY_BYTES = MAX_UPLOAD_ARGUMENT_BYTES + (1 << 20)


KeyVerifier = Callable[[str], Principal | None]

log = get_logger("stream_mcp.http")


def security_settings(
    host: str, port: int, extra_hosts: tuple[str, ...] = (), extra_origins: tuple[str, ...] = ()
) -> TransportSecuritySettings:
    """Allow the bound host (and loopback names) plus whatever the operator adds."""
    hosts = {f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    hosts.update(extra_hosts)
    origins = {f"http://{h}" for h in hosts} | {f"https://{h}" for h in hosts}
    origins.update(extra_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted(hosts),
        allowed_origins=sorted(origins),
    )


class BearerKeyMiddleware:
    """Authenticates callers by API key and attaches their principal to the ASGI scope."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verify: KeyVerifier | None,
        profile: str,
        mode: str,
        path: str = MCP_PATH,
        oauth: OAuthResource | None = None,
    ) -> None:
        self.app = app
        self.verify = verify
        self.profile = profile
        self.mode = mode
        self.path = path
        self.oauth = oauth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme, _, key = headers.get("authorization", "").partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else ""
        caller: Caller | None
        if self.oauth is not None and looks_like_jwt(key):
            caller = await self._oauth_caller(scope, send, self.oauth, key)
            if caller is None:
                return
        else:
            principal = self.verify(key) if key and self.verify is not None else None
            if principal is None:
                await self._unauthorized(send, presented=bool(key))
                return
            if principal.profile != self.profile or not principal.allows_mode(self.mode):
                await _reject(
                    send, 403, f"API key {principal.name} is not granted this profile or mode"
                )
                return
            caller = principal
        scope[CALLER_SCOPE_KEY] = caller  # narrows the acting users for this request
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _reject(send, 413, f"request body larger than {MAX_BODY_BYTES >> 20} MB")
            return
        await self.app(scope, _capped(receive), send)

    async def _unauthorized(self, send: Send, *, presented: bool) -> None:
        if self.oauth is None:
            await _reject(send, 401, "missing or invalid API key: send Authorization: Bearer <key>")
            return
        message = "missing or invalid bearer token: send an access token or an API key"
        challenge = (
            self.oauth.challenge("invalid_token", "unknown API key")
            if presented
            else self.oauth.challenge()
        )
        await _reject(send, 401, message, challenge)

    async def _oauth_caller(
        self, scope: Scope, send: Send, oauth: OAuthResource, token: str
    ) -> OAuthPrincipal | None:
        """The token's principal, or ``None`` once the refusal has been sent."""
        try:
            principal = await oauth.principal(token)
        except SigningKeysUnavailable as exc:
            await _reject(send, 503, str(exc))
            return None
        except InvalidToken as exc:
            log.info("access_token_refused", reason=str(exc))
            await _reject(send, 401, str(exc), oauth.challenge("invalid_token", str(exc)))
            return None
        if not principal.grants(READ):
            message = f"the access token lacks scope {READ}"
            challenge = oauth.challenge("insufficient_scope", message, READ)
            await _reject(send, 403, message, challenge)
            return None
        # The SDK binds each MCP session to the (client, issuer, subject) that opened it.
        scope["user"] = oauth.authenticated_user(principal)
        scope["auth"] = AuthCredentials(sorted(principal.scopes))
        return principal


def _capped(receive: Receive) -> Receive:
    """A receive channel that ends the request once more than MAX_BODY_BYTES arrive."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                return {"type": "http.disconnect"}
        return message

    return capped


async def _reject(send: Send, status: int, message: str, challenge: str | None = None) -> None:
    kind = {401: "unauthorized", 403: "forbidden", 413: "too_large", 503: "unavailable"}
    body = json.dumps({"error": kind.get(status, "refused"), "message": message})
    headers = [(b"content-type", b"application/json")]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge.encode("latin-1", "replace")))
    elif status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="stream-mcp"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


class Drain:
    """Counts MCP calls in flight so a shutdown can wait for them, and refuses new ones once
    it began (503 with Retry-After: a load balancer sends them to another replica)."""

    def __init__(self) -> None:
        self.active = 0
        self.closing = False

    async def idle(self, timeout: float) -> bool:
        """Wait until no call is in flight (True) or ``timeout`` passes (False)."""
        with anyio.move_on_after(timeout):
            while self.active:
                await anyio.sleep(0.05)
            return True
        return False


class DrainMiddleware:
    def __init__(self, app: ASGIApp, *, drain: Drain, path: str = MCP_PATH) -> None:
        self.app = app
        self.drain = drain
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        if self.drain.closing:
            body = json.dumps({"error": "shutting_down", "message": "retry on another replica"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        self.drain.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.active -= 1


def build_http_app(
    server: Server[Any],
    *,
    verify: KeyVerifier | None,
    profile: str,
    mode: str,
    host: str,
    port: int,
    extra_hosts: tuple[str, ...] = (),
    extra_origins: tuple[str, ...] = (),
    oauth: OAuthResource | None = None,
    drain: Drain | None = None,
    stateless: bool = False,
) -> Starlette:
    """The MCP app behind bearer checks; ``verify`` is None when only OAuth is accepted."""
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        # 2026-07-28 requests stand alone anyway; this makes 2025-11-25 sessions stateless
        # too, so any replica answers any request (server-to-client prompts then fail closed).
        stateless_http=stateless,
        transport_security=security_settings(host, port, extra_hosts, extra_origins),
        custom_starlette_routes=oauth.routes() if oauth is not None else None,
    )
    app.add_middleware(BearerKeyMiddleware, verify=verify, profile=profile, mode=mode, oauth=oauth)
    if drain is not None:
        app.add_middleware(DrainMiddleware, drain=drain)  # outermost: counts every call
    return app


log = get_logger("stream_mcp.http")


def add_webhook_route(app: Starlette, service: StreamService, feed: EventFeed, path: str) -> None:
    """Serve Stream's webhooks at ``path``, beside ``/mcp``; Stream's signature is the auth.

    The route sits outside the bearer-key middleware (it only guards the MCP path) and
    outside DNS-rebinding checks (Stream calls from the internet, under the public name).
    """
    from starlette.routing import Route

    from stream_mcp.events import WebhookIntake

    intake = WebhookIntake(
        service.credentials, feed.store, redactor=service.redactor(), listeners=(feed.learned,)
    )
    app.router.routes.insert(0, Route(path, intake.endpoint, methods=["POST"]))


Check = Callable[[], Awaitable[None]]
READY_TIMEOUT = 2.0


def add_health_routes(app: Starlette, checks: dict[str, Check]) -> None:
    """``/healthz`` (the process answers) and ``/readyz`` (every shared store answers within
    2 s), outside the bearer check so a load balancer can probe them."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        failed: list[str] = []
        for name, check in checks.items():
            try:
                with anyio.fail_after(READY_TIMEOUT):
                    await check()
            except Exception:  # any failure means not ready; the reason is logged
                log.warning("not_ready", check=name)
                failed.append(name)
        if failed:
            return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
        return JSONResponse({"status": "ready", "checked": sorted(checks)})

    app.router.routes.insert(0, Route("/healthz", healthz, methods=["GET"]))
    app.router.routes.insert(0, Route("/readyz", readyz, methods=["GET"]))
