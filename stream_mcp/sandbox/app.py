"""The sandbox's ASGI application.

One catch-all Starlette route hands every request to :class:`Dispatcher`, which mirrors the
order Stream uses: authenticate first, then find the operation (anything unknown gets a
Stream-format 501 carrying the ``sandbox_not_emulated`` marker, never a fake success), count
the call against the rate limits, refuse server-only operations to user tokens, and run the
handler inside one SQLite transaction. Responses carry Stream's ``duration`` field and
``X-RateLimit-*`` headers. Stream's v2 paths (``/api/v2/...``) reach the same handlers, with
date-times converted to and from v2's numbers at this edge (:mod:`stream_mcp.sandbox.wire`).

Events a handler records are delivered to the app's webhooks after its transaction commits
(:mod:`stream_mcp.sandbox.webhooks`), never inside the request.

Paths under ``/_sandbox/`` are the sandbox's stand-ins for Stream's CDN and its presigned
upload URLs; they are checked by signature instead of by JWT.
"""

from __future__ import annotations

import json
import logging
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from stream_mcp.sandbox import blobs, records, wire
from stream_mcp.sandbox.auth import Caller, Credentials, authenticate
from stream_mcp.sandbox.clock import Clock, parse_time
from stream_mcp.sandbox.context import Call, Upload
from stream_mcp.sandbox.errors import (
    INTERNAL_ERROR,
    TOKEN_BEFORE_ISSUED_AT,
    APIError,
    auth_error,
    input_error,
    not_allowed,
    not_emulated,
    rate_limited,
)
from stream_mcp.sandbox.ratelimit import RateLimiter, RateLimits, Verdict, platform_of
from stream_mcp.sandbox.routes import Router, v1_path
from stream_mcp.sandbox.services import Services
from stream_mcp.sandbox.store import META, USERS, Store
from stream_mcp.sandbox.webhooks import Webhooks

log = logging.getLogger("stream_mcp.sandbox")

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MAX_BODY_BYTES = 100 * 1024 * 1024


def _duration(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.2f}ms"


class Dispatcher:
    """Turns HTTP requests into handler calls and handler results into Stream responses."""

    def __init__(
        self,
        store: Store,
        credentials: Credentials,
        clock: Clock,
        limits: RateLimits | None = None,
        admins: frozenset[str] = frozenset(),
        webhooks: Webhooks | None = None,
    ) -> None:
        self.store = store
        self.admins = admins  # users created as admins when they first appear
        self.credentials = credentials
        self.clock = clock
        self.router = Router()
        self.services = Services(credentials, RateLimiter(limits or RateLimits()), webhooks)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        method = request.method.upper()
        path = request.url.path
        if path.startswith(blobs.PREFIX):
            return await self._blob(request, method, path)
        operation: str | None = None
        headers: dict[str, str] = {}
        version = wire.version_of(path)
        try:
            caller = authenticate(self.credentials, request.query_params, request.headers)
            matched = self.router.match(method, v1_path(path))
            if matched is None:
                raise not_emulated(method, path, self.router.nearest(v1_path(path)))
            route, params = matched
            operation = route.operation
            verdict = self._count(request, caller, operation)
            headers = verdict.headers()
            if verdict.exceeded:
                raise rate_limited(verdict.limit, verdict.reset)
            if route.server_only and not caller.is_server:
                raise not_allowed(
                    f"{route.operation} is a server-side only operation: use a server token"
                )
            body, files = await self._body(request)
            call = Call(
                operation=route.operation,
                caller=caller,
                store=self.store,
                clock=self.clock,
                path=params,
                query=wire.decode_query(request.query_params, version),
                body=wire.decode_request(body, version),
                base_url=str(request.base_url).rstrip("/"),
                files=files,
                services=self.services,
            )
            with self.store.transaction():
                self._admit(call)
                result = wire.encode_response(route.handler(call), version)
            result["duration"] = _duration(started)
            self._log(method, path, route.status, operation, None)
            return JSONResponse(result, status_code=route.status, headers=headers)
        except APIError as error:
            self._log(method, path, error.status, operation, error.code)
            return JSONResponse(
                error.body(operation=operation, duration=_duration(started)),
                status_code=error.status,
                headers={**headers, **error.headers},
            )
        except Exception:
            log.exception("sandbox handler failed: %s %s", method, path)
            internal = APIError(500, INTERNAL_ERROR, "internal error in the stream-mcp sandbox")
            return JSONResponse(
                internal.body(operation=operation, duration=_duration(started)),
                status_code=500,
                headers=headers,
            )

    def _count(self, request: Request, caller: Caller, operation: str) -> Verdict:
        platform = platform_of(request.headers.get("x-stream-client"), caller.is_server)
        return self.services.limiter.hit(platform, operation, caller.user_id)

    async def _blob(self, request: Request, method: str, path: str) -> Response:
        """The CDN and presigned-upload stand-ins; errors use Stream's envelope too."""
        started = time.perf_counter()
        try:
            raw = await request.body()
            with self.store.transaction():
                return blobs.serve(
                    self.store,
                    self.services,
                    self.clock,
                    method,
                    path,
                    request.query_params,
                    raw,
                    request.headers.get("content-type", ""),
                )
        except APIError as error:
            self._log(method, path, error.status, None, error.code)
            return JSONResponse(
                error.body(operation=None, duration=_duration(started)), status_code=error.status
            )
        except Exception:
            log.exception("sandbox file request failed: %s %s", method, path)
            internal = APIError(500, INTERNAL_ERROR, "internal error in the stream-mcp sandbox")
            return JSONResponse(
                internal.body(operation=None, duration=_duration(started)), status_code=500
            )

    @staticmethod
    async def _body(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise input_error("request body is too large")
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            return _multipart(raw, content_type)
        if not raw.strip():
            return {}, {}
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise input_error("request body is not valid JSON") from None
        if body is None:
            return {}, {}
        if not isinstance(body, dict):
            raise input_error("request body must be a JSON object")
        return body, {}

    def _admit(self, call: Call) -> None:
        """User tokens: create unknown users (role ``user``), refuse deactivated, deleted or
        revoked ones (per user or app-wide, UpdateApp), and record activity."""
        caller: Caller = call.caller
        if caller.user_id is None:
            return
        app_revoked = (self.store.get(META, "app") or {}).get("revoke_tokens_issued_before")
        if app_revoked and _issued_before(caller, app_revoked):
            raise auth_error(
                "JWTAuth error: token was issued before the app's tokens were revoked",
                TOKEN_BEFORE_ISSUED_AT,
            )
        doc = self.store.get(USERS, caller.user_id)
        if doc is None:
            seeded = {"role": "admin"} if caller.user_id in self.admins else None
            doc = records.new_user(call, caller.user_id, seeded)
        if doc.get("deleted_at"):
            raise auth_error(f"user {caller.user_id!r} was deleted")
        if doc.get("deactivated_at"):
            raise auth_error(f"user {caller.user_id!r} is deactivated")
        revoked = doc.get("revoke_tokens_issued_before")
        if revoked and _issued_before(caller, revoked):
            raise auth_error(
                "JWTAuth error: token was issued before the user's tokens were revoked",
                TOKEN_BEFORE_ISSUED_AT,
            )
        doc["last_active"] = call.stamp()
        self.store.put(USERS, doc)

    @staticmethod
    def _log(method: str, path: str, status: int, operation: str | None, code: int | None) -> None:
        # Only the method and path (never the query string, which holds the api_key).
        log.info(
            "%s %s -> %s %s%s",
            method,
            path,
            status,
            operation or "-",
            f" code={code}" if code is not None else "",
        )


def _issued_before(caller: Caller, stamp: str) -> bool:
    issued = caller.issued_at
    return issued is None or issued < parse_time(stamp).timestamp()


def _multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parse a multipart/form-data body: text fields (JSON-decoded when possible) and files."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    if not message.is_multipart():
        raise input_error("multipart body could not be parsed")
    body: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = Upload(filename, part.get_content_type(), bytes(payload))
            continue
        text = bytes(payload).decode("utf-8", errors="replace")
        try:
            body[name] = json.loads(text)
        except json.JSONDecodeError:
            body[name] = text
    return body, files


def build_app(
    store: Store,
    credentials: Credentials,
    clock: Clock | None = None,
    limits: RateLimits | None = None,
    admins: frozenset[str] = frozenset(),
    *,
    webhooks: Webhooks | None = None,
) -> Starlette:
    """An ASGI app serving the sandbox API over ``store``.

    ``webhooks`` delivers recorded events (a fresh :class:`Webhooks` without drops when
    omitted); it is ``app.state.webhooks``, and whoever built the app closes it.
    """
    hooks = webhooks if webhooks is not None else Webhooks(credentials)
    dispatcher = Dispatcher(store, credentials, clock or Clock(), limits, admins, hooks)
    app = Starlette(
        routes=[StarletteRoute("/{path:path}", dispatcher.handle, methods=_METHODS)],
    )
    app.state.webhooks = hooks
    return app
