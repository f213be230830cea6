"""The sandbox's ASGI application.

One catch-all Starlette route hands every request to :class:`Dispatcher`, which mirrors the
order Stream uses: authenticate first, then find the operation (anything unknown gets a
Stream-format 501, never a fake success), refuse server-only operations to user tokens, and run
the handler inside one SQLite transaction. Responses carry Stream's ``duration`` field.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as StarletteRoute

from stream_mcp.sandbox import records
from stream_mcp.sandbox.auth import Caller, Credentials, authenticate
from stream_mcp.sandbox.clock import Clock, parse_time
from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.errors import (
    INTERNAL_ERROR,
    TOKEN_BEFORE_ISSUED_AT,
    APIError,
    auth_error,
    input_error,
    not_allowed,
    not_emulated,
)
from stream_mcp.sandbox.routes import Router
from stream_mcp.sandbox.store import USERS, Store

log = logging.getLogger("stream_mcp.sandbox")

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _duration(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.2f}ms"


class Dispatcher:
    """Turns HTTP requests into handler calls and handler results into Stream responses."""

    def __init__(self, store: Store, credentials: Credentials, clock: Clock) -> None:
        self.store = store
        self.credentials = credentials
        self.clock = clock
        self.router = Router()

    async def handle(self, request: Request) -> JSONResponse:
        started = time.perf_counter()
        method = request.method.upper()
        path = request.url.path
        operation: str | None = None
        try:
            caller = authenticate(self.credentials, request.query_params, request.headers)
            matched = self.router.match(method, path)
            if matched is None:
                raise not_emulated(method, path)
            route, params = matched
            operation = route.operation
            if route.server_only and not caller.is_server:
                raise not_allowed(
                    f"{route.operation} is a server-side only operation: use a server token"
                )
            body = await self._body(request)
            call = Call(
                operation=route.operation,
                caller=caller,
                store=self.store,
                clock=self.clock,
                path=params,
                query=request.query_params,
                body=body,
            )
            with self.store.transaction():
                self._admit(call)
                result = route.handler(call)
            result["duration"] = _duration(started)
            self._log(method, path, route.status, operation, None)
            return JSONResponse(result, status_code=route.status)
        except APIError as error:
            self._log(method, path, error.status, operation, error.code)
            return JSONResponse(
                error.body(operation=operation, duration=_duration(started)),
                status_code=error.status,
            )
        except Exception:
            log.exception("sandbox handler failed: %s %s", method, path)
            error = APIError(500, INTERNAL_ERROR, "internal error in the stream-mcp sandbox")
            return JSONResponse(
                error.body(operation=operation, duration=_duration(started)), status_code=500
            )

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise input_error("request body is not valid JSON") from None
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise input_error("request body must be a JSON object")
        return body

    def _admit(self, call: Call) -> None:
        """User tokens: create unknown users (role ``user``), refuse deactivated, deleted or
        revoked ones, and record activity."""
        caller: Caller = call.caller
        if caller.user_id is None:
            return
        doc = self.store.get(USERS, caller.user_id)
        if doc is None:
            doc = records.new_user(call, caller.user_id)
        if doc.get("deleted_at"):
            raise auth_error(f"user {caller.user_id!r} was deleted")
        if doc.get("deactivated_at"):
            raise auth_error(f"user {caller.user_id!r} is deactivated")
        revoked = doc.get("revoke_tokens_issued_before")
        if revoked:
            issued = caller.issued_at
            if issued is None or issued < parse_time(revoked).timestamp():
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


def build_app(store: Store, credentials: Credentials, clock: Clock | None = None) -> Starlette:
    """An ASGI app serving the sandbox API over ``store``."""
    dispatcher = Dispatcher(store, credentials, clock or Clock())
    return Starlette(
        routes=[StarletteRoute("/{path:path}", dispatcher.handle, methods=_METHODS)],
    )
