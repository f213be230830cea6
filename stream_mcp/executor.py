"""Perform one catalog operation against Stream over HTTP, exactly as Stream expects.

The executor is the only code that talks to Stream. For each call it:

1. fills the acting user into the operation's actor fields (server-side auth only), rejects
   unknown arguments and validates the rest against the operation's full schema, so nothing
   malformed is ever sent;
2. builds the request from the argument bindings: percent-encoded path segments that can
   never change the route, ``api_key`` and scalar query values, the JSON-encoded ``payload``
   parameter, a JSON body, or multipart for the four uploads;
3. sends it on one pooled connection per profile, inside a client-side budget per (user,
   operation), retrying idempotent operations on transport errors, 429 and 5xx with
   full-jitter backoff that honours ``Retry-After`` and ``X-RateLimit-Reset``;
4. turns Stream's answer into an :class:`ExecutionResult` (projected, size-capped, redacted)
   or a :class:`~stream_mcp.stream_errors.StreamCallError` that says what to do next.

Clock, wall clock, RNG and sleep are constructor parameters so tests control time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import difflib
import email.utils
import json
import math
import mimetypes
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import httpx2
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from stream_mcp import __version__
from stream_mcp.budget import CallBudget
from stream_mcp.catalog import Catalog, Operation
from stream_mcp.config import Settings
from stream_mcp.errors import ConfigError, ValidationError
from stream_mcp.logs import get_logger
from stream_mcp.redact import Redactor
from stream_mcp.schemas import UPLOAD_ARGUMENTS, compile_input, validation_schema
from stream_mcp.shaping import Shaper
from stream_mcp.stream_errors import (
    StreamCallError,
    StreamConnectionError,
    StreamResponseError,
    StreamTimeout,
    error_from_response,
)

USER_AGENT = f"stream-mcp-{__version__}"
DEFAULT_BACKOFF_BASE = 0.25
DEFAULT_BACKOFF_CAP = 2.0
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
CLOSE_MATCHES = 3
REQUEST_ID_HEADERS = ("x-request-id", "x-stream-request-id", "request-id")
# Arguments an upload accepts besides its schema's body fields (``file`` is in the schema).
_SURROGATE_MESSAGE = "not valid Unicode text (contains a lone surrogate)"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MIME = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,127}$"
)
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)
_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


# --------------------------------------------------------------------------- contracts


class AuthContext(Protocol):
    """What the credential layer decided for this call (``credentials.AuthDecision``)."""

    @property
    def mode(self) -> str: ...  # "user" | "server"

    @property
    def acting_user(self) -> str: ...

    @property
    def token(self) -> str: ...


class BindingLike(Protocol):
    """Where one argument goes on the wire (``schemas.Binding``)."""

    @property
    def location(self) -> str: ...

    @property
    def wire(self) -> str: ...

    @property
    def container(self) -> str | None: ...


class ToolInputLike(Protocol):
    """A compiled operation input (``schemas.ToolInput``)."""

    @property
    def schema(self) -> dict[str, Any]: ...

    @property
    def bindings(self) -> Mapping[str, BindingLike]: ...


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """A successful call: HTTP status, the shaped response and facts about the call."""

    status: int
    data: Any
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "data": self.data, "meta": self.meta}


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Everything about an operation that does not change between calls."""

    op: Operation
    bindings: Mapping[str, BindingLike]
    validator: Draft202012Validator
    segments: tuple[tuple[str, str | None], ...]  # (literal text, path parameter or None)
    path_args: Mapping[str, str]  # wire name -> argument name
    actors: tuple[str, ...]  # the op's actor paths whose top-level argument exists
    paging: tuple[str, ...]
    upload: bool
    image: bool
    where: str


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A validated request ready to send. The request and auth (token) stay out of repr."""

    compiled: _Compiled = field(repr=False)
    request: httpx2.Request = field(repr=False)
    auth: AuthContext = field(repr=False)
    arguments: dict[str, Any] = field(repr=False)
    select: str | None = None

    @property
    def operation(self) -> Operation:
        return self.compiled.op


@dataclass(frozen=True, slots=True)
class _Attempt:
    """The outcome of one HTTP exchange that produced a status line."""

    status: int
    body: bytes
    headers: httpx2.Headers


# --------------------------------------------------------------------------- executor


class Executor:
    """Sends catalog operations to one Stream app (one profile) over a pooled client."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        redactor: Redactor,
        catalog: Catalog | None = None,
        settings: Settings | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        budget: CallBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        trust_env: bool = True,
    ) -> None:
        settings = settings or Settings()
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigError("api_key: expected the Stream app's API key, got nothing")
        self._api_key = api_key
        self._base_url = _check_base_url(base_url)
        self._redactor = redactor
        self._catalog = catalog
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_retries = max(0, settings.max_retries)
        self._max_response_bytes = max_response_bytes
        self._max_upload_bytes = max_upload_bytes
        self._budget = budget or CallBudget(settings.budget_per_minute, clock=clock)
        self._shaper = Shaper(settings.response_token_cap)
        self._compiled: dict[str, _Compiled] = {}
        self._explicit: dict[int, tuple[ToolInputLike, Operation, _Compiled]] = {}
        self._log = get_logger("stream_mcp.executor")
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            headers={"X-Stream-Client": USER_AGENT},
            transport=transport,
            follow_redirects=False,
            trust_env=trust_env,
        )

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def budget(self) -> CallBudget:
        return self._budget

    # ------------------------------------------------------------------ public API

    async def execute(
        self,
        op: Operation,
        arguments: Mapping[str, Any],
        auth: AuthContext,
        *,
        select: str | None = None,
        tool_input: ToolInputLike | None = None,
    ) -> ExecutionResult:
        """Validate, send (with retries) and shape one call; raises a StreamMCPError."""
        call = self.prepare(op, arguments, auth, select=select, tool_input=tool_input)
        return await self.send(call)

    def prepare(
        self,
        op: Operation,
        arguments: Mapping[str, Any],
        auth: AuthContext,
        *,
        select: str | None = None,
        tool_input: ToolInputLike | None = None,
    ) -> PreparedCall:
        """Check everything that can be checked before sending: arguments, ``select``.

        Split from :meth:`send` so a caller can ask a person to confirm a call that is
        known to be well-formed, and send exactly that call afterwards.
        """
        compiled = self._compile(op, tool_input)
        if select is not None:
            self._shaper.compile(select)
        request = self._build(compiled, arguments, auth)
        return PreparedCall(compiled, request, auth, dict(arguments), select)

    async def send(self, call: PreparedCall) -> ExecutionResult:
        """Send a prepared call (with retries) and shape the answer."""
        started = self._clock()
        attempt, attempts = await self._send(call.compiled, call.request, call.auth)
        return self._result(call.compiled, attempt, attempts, started, call.arguments, call.select)

    def build_request(
        self,
        op: Operation,
        arguments: Mapping[str, Any],
        auth: AuthContext,
        *,
        tool_input: ToolInputLike | None = None,
    ) -> httpx2.Request:
        """The exact request :meth:`execute` would send, without sending it."""
        return self._build(self._compile(op, tool_input), arguments, auth)

    def prepare_arguments(
        self,
        op: Operation,
        arguments: Mapping[str, Any],
        auth: AuthContext,
        *,
        tool_input: ToolInputLike | None = None,
    ) -> dict[str, Any]:
        """The arguments after actor filling and validation (a new dict; input untouched)."""
        compiled = self._compile(op, tool_input)
        return self._checked_arguments(compiled, arguments, auth)

    # ------------------------------------------------------------------ compile

    def _compile(self, op: Operation, tool_input: ToolInputLike | None) -> _Compiled:
        if tool_input is None:
            compiled = self._compiled.get(op.operation_id)
            if compiled is None or compiled.op is not op:
                schema, tool_input = self._catalog_input(op)
                compiled = _compile_op(op, tool_input, schema)
                self._compiled[op.operation_id] = compiled
            return compiled
        entry = self._explicit.get(id(tool_input))
        if entry is not None and entry[0] is tool_input and entry[1] is op:
            return entry[2]
        compiled = _compile_op(op, tool_input, tool_input.schema)
        if len(self._explicit) > 256:
            self._explicit.clear()
        self._explicit[id(tool_input)] = (tool_input, op, compiled)
        return compiled

    def _catalog_input(self, op: Operation) -> tuple[dict[str, Any], ToolInputLike]:
        if self._catalog is None:
            raise ConfigError(
                f"{op.operation_id}: the executor has no catalog to compile its input from"
            )
        tool_input = compile_input(self._catalog, op, "full")
        return validation_schema(self._catalog, op), tool_input

    # ------------------------------------------------------------------ arguments

    def _checked_arguments(
        self, compiled: _Compiled, arguments: Mapping[str, Any], auth: AuthContext
    ) -> dict[str, Any]:
        if not isinstance(arguments, Mapping):
            raise ValidationError(
                f"arguments: expected object, got {_json_type(arguments)}", field="arguments"
            )
        args = dict(arguments)
        if auth.mode == "server" and compiled.actors:
            fill_actors(args, compiled.actors, auth.acting_user)
        unknown = [
            k
            for k in args
            if k not in compiled.bindings and not (compiled.upload and k in UPLOAD_ARGUMENTS)
        ]
        if unknown:
            raise _unknown_argument(compiled, unknown[0])
        error = next(compiled.validator.iter_errors(args), None)
        if error is not None:
            error = best_match(compiled.validator.iter_errors(args)) or error
            path, message = describe_schema_error(error)
            raise ValidationError(self._redactor.text(message), field=path)
        return args

    # ------------------------------------------------------------------ request

    def _build(
        self, compiled: _Compiled, arguments: Mapping[str, Any], auth: AuthContext
    ) -> httpx2.Request:
        args = self._checked_arguments(compiled, arguments, auth)
        path_values: dict[str, str] = {}
        query: list[tuple[str, str]] = [("api_key", self._api_key)]
        containers: dict[str, dict[str, Any]] = {}
        body: dict[str, Any] = {}
        for name, value in args.items():
            binding = compiled.bindings.get(name)
            if binding is None or (value is None and binding.location != "body"):
                continue
            location = binding.location
            if location == "path":
                path_values[binding.wire] = encode_path_value(name, value)
            elif location == "query":
                query.append((binding.wire, query_value(value, name)))
            elif location == "json_query":
                container = binding.container or name
                if binding.wire:
                    containers.setdefault(container, {})[binding.wire] = value
                elif isinstance(value, Mapping):
                    containers.setdefault(container, {}).update(value)
                else:
                    raise ValidationError(
                        f"{name}: expected object, got {_json_type(value)}", field=name
                    )
            else:
                body[binding.wire] = value
        for container, fields in containers.items():
            query.append((container, _dumps(fields, container, prefix="")))
        url = self._base_url + _fill_path(compiled, path_values) + "?" + _urlencode(query)
        headers = {
            "Authorization": auth.token,
            "Stream-Auth-Type": "jwt",
        }
        method = compiled.op.method
        if compiled.upload:
            data, files = self._multipart(compiled, body, args)
            return self._client.build_request(method, url, headers=headers, data=data, files=files)
        if method in ("POST", "PUT", "PATCH") or body:
            headers["Content-Type"] = "application/json"
            return self._client.build_request(
                method,
                url,
                headers=headers,
                content=_dumps(body, "body", prefix="").encode("utf-8"),
            )
        return self._client.build_request(method, url, headers=headers)

    def _multipart(
        self, compiled: _Compiled, body: dict[str, Any], args: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
        payload, declared = decode_file(body.pop("file", None), self._max_upload_bytes)
        content_type = _upload_content_type(args.get("content_type"), declared, payload)
        filename = _upload_filename(args.get("filename"), content_type)
        if compiled.image and not content_type.startswith("image/"):
            raise ValidationError(
                f"content_type: image uploads need an image/* type, got {content_type!r}",
                field="content_type",
            )
        data = {
            key: query_value(value, key) if isinstance(value, str) else _dumps(value, key)
            for key, value in body.items()
            if value is not None
        }
        return data, {"file": (filename, payload, content_type)}

    # ------------------------------------------------------------------ sending

    async def _send(
        self, compiled: _Compiled, request: httpx2.Request, auth: AuthContext
    ) -> tuple[_Attempt, int]:
        op = compiled.op
        user = auth.acting_user
        self._budget.acquire(user, op.operation_id)
        attempts = 0
        while True:
            attempts += 1
            error: StreamCallError
            try:
                attempt = await self._exchange(compiled, request)
            except StreamCallError as exc:
                error = exc
            else:
                if attempt.status < 300:
                    return attempt, attempts
                error = self._http_error(compiled, attempt)
            error.attempts = attempts
            delay = self._retry_delay(op, error, attempts)
            if delay is None or not self._budget.try_acquire(user, op.operation_id):
                self._log.info(
                    "stream.call_failed",
                    operation=op.operation_id,
                    kind=error.kind,
                    status=error.status,
                    attempts=attempts,
                )
                raise error
            self._log.info(
                "stream.retry",
                operation=op.operation_id,
                kind=error.kind,
                status=error.status,
                attempt=attempts,
                delay=round(delay, 3),
            )
            await self._sleep(delay)

    async def _exchange(self, compiled: _Compiled, request: httpx2.Request) -> _Attempt:
        """One HTTP exchange; transport failures become StreamCallErrors, never raw."""
        try:
            response = await self._client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self._max_response_bytes:
                    raise self._too_large(compiled, response.status_code)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_response_bytes:
                        raise self._too_large(compiled, response.status_code)
                    chunks.append(chunk)
            finally:
                await response.aclose()
        except httpx2.TimeoutException as exc:
            raise StreamTimeout(
                f"Stream did not answer {compiled.where} in time ({_timeout_kind(exc)} timeout)",
                hint="retry in a few seconds; the call may or may not have taken effect",
                retryable=True,
            ) from None
        except (httpx2.TransportError, httpx2.StreamError, OSError) as exc:
            raise StreamConnectionError(
                f"could not complete {compiled.where}: {self._describe_transport(exc)}",
                hint="check the network and base_url, then retry",
                retryable=True,
            ) from None
        except httpx2.HTTPError as exc:
            raise StreamConnectionError(
                f"could not complete {compiled.where}: {self._describe_transport(exc)}",
                hint="check the profile's base_url",
            ) from None
        return _Attempt(response.status_code, b"".join(chunks), response.headers)

    def _too_large(self, compiled: _Compiled, status: int) -> StreamResponseError:
        limit = self._max_response_bytes // (1024 * 1024)
        return StreamResponseError(
            f"Stream's answer to {compiled.where} is larger than {limit} MB",
            hint="ask for less: use limit or narrower filters",
            status=status,
        )

    def _describe_transport(self, exc: BaseException) -> str:
        text = str(exc) or exc.__class__.__name__
        return self._redactor.text(" ".join(text.split()))[:200]

    def _http_error(self, compiled: _Compiled, attempt: _Attempt) -> StreamCallError:
        headers = attempt.headers
        rate_limit, request_id = response_meta(headers)
        return error_from_response(
            attempt.status,
            attempt.body,
            where=compiled.where,
            redactor=self._redactor,
            content_type=headers.get("content-type", ""),
            retry_after=self._server_wait(attempt.status, headers),
            request_id=request_id,
            rate_limit=rate_limit,
        )

    def _server_wait(self, status: int, headers: httpx2.Headers) -> float | None:
        """Seconds the server asked us to wait, from Retry-After or X-RateLimit-Reset."""
        wait = parse_retry_after(headers.get("retry-after"), self._wall_clock())
        if wait is None and status == 429:
            reset = headers.get("x-ratelimit-reset")
            if reset is not None:
                try:
                    wait = max(0.0, float(reset) - self._wall_clock())
                except ValueError:
                    wait = None
        return wait

    def _retry_delay(self, op: Operation, error: StreamCallError, attempts: int) -> float | None:
        """How long to sleep before the next attempt, or None to give up now."""
        if not op.idempotent or attempts > self._max_retries:
            return None
        transient = isinstance(error, StreamTimeout | StreamConnectionError) or (
            error.status is not None
            and (error.status == 429 or error.status >= 500)
            and error.retryable
        )
        if not transient:
            return None
        jitter = self._rng.uniform(0.0, min(self._backoff_cap, self._backoff_base * 2**attempts))
        if error.retry_after is None:
            return jitter
        if error.retry_after > self._backoff_cap:
            return None  # longer than we block an agent: surface retry_after instead
        return max(error.retry_after, jitter)

    # ------------------------------------------------------------------ result

    def _result(
        self,
        compiled: _Compiled,
        attempt: _Attempt,
        attempts: int,
        started: float,
        arguments: Mapping[str, Any],
        select: str | None,
    ) -> ExecutionResult:
        body = attempt.body
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            error = error_from_response(
                attempt.status,
                body,
                where=compiled.where,
                redactor=self._redactor,
                content_type=attempt.headers.get("content-type", ""),
                request_id=_request_id(attempt.headers),
            )
            error.attempts = attempts
            raise error from None
        shaped = self._shaper.shape(
            data,
            select=select,
            raw_size=len(body),
            paging=compiled.paging,
            arguments=arguments,
        )
        data = shaped.data
        rate_limit, request_id = response_meta(attempt.headers)
        meta: dict[str, Any] = {
            "operation_id": compiled.op.operation_id,
            "attempts": attempts,
            "duration_ms": round((self._clock() - started) * 1000, 1),
            "request_id": request_id,
            "rate_limit": rate_limit,
        }
        meta.update(shaped.meta())
        if self._redactor.needs_redaction(body.decode("utf-8", errors="replace")):
            data = self._redactor.value(data)
            meta = self._redactor.value(meta)
        return ExecutionResult(attempt.status, data, meta)


# --------------------------------------------------------------------------- helpers


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"base_url: expected an http(s) URL such as https://chat.stream-io-api.com, "
            f"got {base_url!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError("base_url: expected no query string or fragment")
    return base_url.rstrip("/")


def _compile_op(op: Operation, tool_input: ToolInputLike, schema: dict[str, Any]) -> _Compiled:
    bindings = dict(tool_input.bindings)
    path_args = {b.wire: name for name, b in bindings.items() if b.location == "path"}
    segments: list[tuple[str, str | None]] = []
    pos = 0
    for match in _TEMPLATE.finditer(op.path):
        segments.append((op.path[pos : match.start()], match.group(1)))
        pos = match.end()
    segments.append((op.path[pos:], None))
    names = set(bindings)
    paging = tuple(
        n for n in bindings if n in ("limit", "offset", "next", "prev") or n.endswith("_limit")
    )
    paging += tuple(p for p in getattr(tool_input, "paging", ()) if p in names and p not in paging)
    return _Compiled(
        op=op,
        bindings=bindings,
        validator=Draft202012Validator(schema),
        segments=tuple(segments),
        path_args=path_args,
        # A curated actor that names no argument of this op is ignored, not sent.
        actors=tuple(a for a in op.actors if a.split(".", 1)[0] in bindings),
        paging=paging,
        upload=op.content == "multipart",
        image=op.content == "multipart" and op.path.rstrip("/").endswith("/image"),
        where=f"{op.operation_id} ({op.method} {op.path})",
    )


def _fill_path(compiled: _Compiled, values: Mapping[str, str]) -> str:
    parts: list[str] = []
    for literal, wire in compiled.segments:
        parts.append(literal)
        if wire is None:
            continue
        value = values.get(wire)
        if value is None:
            name = compiled.path_args.get(wire, wire)
            raise ValidationError(f"{name}: required path parameter is missing", field=name)
        parts.append(value)
    return "".join(parts)


def encode_path_value(name: str, value: Any) -> str:
    """Percent-encode one path parameter so it stays exactly one path segment.

    Everything outside RFC 3986's unreserved set is encoded (so ``/``, ``?``, ``#`` and ``%``
    cannot change the route). Empty, ``.`` and ``..`` are refused, because URL normalisation
    would collapse them, and so are control characters.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"{name}: expected string, got {_json_type(value)}", field=name)
    text = str(value)
    if text in ("", ".", ".."):
        shown = "an empty string" if not text else repr(text)
        raise ValidationError(
            f"{name}: expected an id, got {shown} (it would change the URL path)", field=name
        )
    if _CONTROL.search(text):
        raise ValidationError(f"{name}: control characters are not allowed in an id", field=name)
    if not _encodable(text):
        raise ValidationError(f"{name}: {_SURROGATE_MESSAGE}", field=name)
    return quote(text, safe="")


def query_value(value: Any, name: str = "query") -> str:
    """One query value as Stream reads it: true/false, numbers, comma lists, else JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if not _encodable(value):
            raise ValidationError(f"{name}: {_SURROGATE_MESSAGE}", field=name)
        return value
    if isinstance(value, int | float):
        return _dumps(value, name)
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return ",".join(query_value(v, f"{name}[{i}]") for i, v in enumerate(value))
    return _dumps(value, name)


def _urlencode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, quote_via=quote, safe="")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text_path(value: Any, path: str) -> str | None:
    """The field path of the first string (or key) that is not valid Unicode text."""
    if isinstance(value, str):
        return None if _encodable(value) else path
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not _encodable(key):
                return where
            found = _bad_text_path(item, where)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _bad_text_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _dumps(value: Any, name: str, prefix: str | None = None) -> str:
    """Compact JSON that is guaranteed to encode as UTF-8; errors name the field.

    ``prefix`` is the field path of ``value`` in tool-input space ("" for a whole body).
    """
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: value cannot be sent as JSON ({exc})", field=name) from None
    if not _encodable(text):
        where = _bad_text_path(value, name if prefix is None else prefix) or name
        raise ValidationError(f"{where}: {_SURROGATE_MESSAGE}", field=where)
    return text


def fill_actors(args: dict[str, Any], actors: tuple[str, ...], user: str) -> None:
    """Put ``user`` into each missing actor field (dotted path), creating parent objects.

    Never overwrites a value the caller gave, including the object form of the same actor
    (``created_by`` next to ``created_by_id``, ``user`` next to ``user_id``). Parents on the
    path are copied, so the caller's nested objects are never modified.
    """
    for actor in actors:
        parts = actor.split(".")
        holder = args
        for part in parts[:-1]:
            current = holder.get(part)
            if current is None:
                current = {}
            elif not isinstance(current, Mapping):
                holder = None
                break
            else:
                current = dict(current)
            holder[part] = current
            holder = current
        if holder is None:
            continue
        leaf = parts[-1]
        if holder.get(leaf) is not None:
            continue
        if leaf.endswith("_id") and holder.get(leaf[: -len("_id")]) is not None:
            continue
        holder[leaf] = user


def decode_file(value: Any, max_bytes: int) -> tuple[bytes, str | None]:
    """Decode the ``file`` argument: base64, or a ``data:<mime>;base64,`` URL.

    Returns the bytes and the MIME type the data URL declared (if any).
    """
    if value is None:
        raise ValidationError(
            "file: required for uploads (base64 data or a data:<mime>;base64,<data> URL)",
            field="file",
        )
    if not isinstance(value, str):
        raise ValidationError(
            f"file: expected a base64 string, got {_json_type(value)}", field="file"
        )
    declared: str | None = None
    text = value.strip()
    if text[:5].lower() == "data:":
        match = _DATA_URL.match(text)
        if match is None:
            raise ValidationError(
                "file: malformed data URL; expected data:<mime>;base64,<data>", field="file"
            )
        params = [p.strip().lower() for p in match.group("params").split(";") if p.strip()]
        if "base64" not in params:
            raise ValidationError(
                "file: data URL must be base64-encoded (data:<mime>;base64,<data>)",
                field="file",
            )
        declared = match.group("mime").strip().lower() or None
        text = text[match.end() :]
    compact = "".join(text.split()).replace("-", "+").replace("_", "/")
    if not compact:
        raise ValidationError("file: expected base64 data, got an empty value", field="file")
    if len(compact) * 3 // 4 > max_bytes:
        raise ValidationError(
            f"file: about {len(compact) * 3 // 4 // 1024} KiB, over the "
            f"{max_bytes // 1024} KiB upload limit",
            field="file",
        )
    bad = re.search(r"[^A-Za-z0-9+/=]", compact)
    if bad is not None:
        raise ValidationError(
            f"file: not valid base64 (unexpected {bad.group()!r} at position {bad.start()})",
            field="file",
        )
    compact = compact.rstrip("=")
    if len(compact) % 4 == 1:
        raise ValidationError("file: not valid base64 (truncated data)", field="file")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except binascii.Error as exc:
        raise ValidationError(f"file: not valid base64 ({exc})", field="file") from None
    return data, declared


def _upload_content_type(given: Any, declared: str | None, data: bytes) -> str:
    if given is not None:
        if not isinstance(given, str) or not _MIME.match(given.strip()):
            raise ValidationError(
                f"content_type: expected a MIME type such as image/png, got {given!r}",
                field="content_type",
            )
        return given.strip().lower()
    if declared is not None:
        if not _MIME.match(declared):
            raise ValidationError(
                f"file: the data URL's MIME type {declared!r} is not valid", field="file"
            )
        return declared
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return "application/octet-stream"


def _upload_filename(given: Any, content_type: str) -> str:
    if given is None:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        return f"upload{extension}"
    if (
        not isinstance(given, str)
        or not given.strip()
        or given.strip() in (".", "..")
        or _CONTROL.search(given)
        or "/" in given
        or "\\" in given
        or len(given) > 255
    ):
        raise ValidationError(
            "filename: expected a plain file name (no path separators or control "
            f"characters, at most 255 characters), got {str(given)[:60]!r}",
            field="filename",
        )
    return given.strip()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _field_path(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def describe_schema_error(error: Any) -> tuple[str, str]:
    """(field path, one-line message) for a jsonschema error, e.g. ``message.text: expected
    string, got integer``."""
    path = _field_path(error.absolute_path)
    label = path or "arguments"
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword == "type":
        kinds = [value] if isinstance(value, str) else [k for k in value if k != "null"]
        expected = " or ".join(kinds or ["null"])
        return label, f"{label}: expected {expected}, got {_json_type(instance)}"
    if keyword == "required" and isinstance(instance, Mapping):
        missing = next((n for n in value if n not in instance), None)
        if missing is not None:
            where = f"{path}.{missing}" if path else str(missing)
            return where, f"{where}: required field is missing"
    if keyword == "enum":
        options = ", ".join(_short(v) for v in list(value)[:12])
        return label, f"{label}: expected one of {options}, got {_short(instance)}"
    if keyword == "const":
        return label, f"{label}: expected {_short(value)}, got {_short(instance)}"
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {
            "minimum": ">=",
            "exclusiveMinimum": ">",
            "maximum": "<=",
            "exclusiveMaximum": "<",
        }[keyword]
        return label, f"{label}: expected a number {relation} {value}, got {_short(instance)}"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return label, (
            f"{label}: expected a string of {bound} {value} characters, got {len(instance)}"
        )
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return label, f"{label}: expected {bound} {value} items, got {len(instance)}"
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)
        if extra:
            where = f"{path}.{extra[0]}" if path else extra[0]
            return where, f"{where}: unexpected field"
    if keyword in ("anyOf", "oneOf"):
        return label, f"{label}: does not match any allowed form, got {_short(instance)}"
    text = " ".join(str(error.message).split())
    return label, f"{label}: {text[:200]}"


def _unknown_argument(compiled: _Compiled, name: str) -> ValidationError:
    known = list(compiled.bindings)
    if compiled.upload:
        known += list(UPLOAD_ARGUMENTS)
    close = difflib.get_close_matches(str(name), known, n=CLOSE_MATCHES)
    suggestion = f"; did you mean {', '.join(close)}?" if close else ""
    return ValidationError(
        f"{name}: unknown argument for {compiled.op.operation_id}{suggestion}",
        field=str(name),
        hint=f"arguments: {', '.join(known[:30])}",
    )


def _timeout_kind(exc: BaseException) -> str:
    if isinstance(exc, httpx2.ConnectTimeout):
        return "connect"
    if isinstance(exc, httpx2.ReadTimeout):
        return "read"
    if isinstance(exc, httpx2.WriteTimeout):
        return "write"
    if isinstance(exc, httpx2.PoolTimeout):
        return "connection pool"
    return "request"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


_RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit": "limit",
    "x-ratelimit-remaining": "remaining",
    "x-ratelimit-reset": "reset",
}


def response_meta(headers: httpx2.Headers) -> tuple[dict[str, int] | None, str | None]:
    """Rate-limit headers as integers and the request id, in one pass over the headers."""
    rate: dict[str, int] = {}
    ids: dict[str, str] = {}
    for name, value in headers.multi_items():
        if not name.startswith(("x-", "request-id")):
            continue
        key = _RATE_LIMIT_HEADERS.get(name)
        if key is not None:
            try:
                rate[key] = int(float(value))
            except ValueError:
                continue
        elif name in REQUEST_ID_HEADERS and value:
            ids.setdefault(name, value[:128])
    request_id = next((ids[n] for n in REQUEST_ID_HEADERS if n in ids), None)
    return rate or None, request_id


def rate_limit_meta(headers: httpx2.Headers) -> dict[str, int] | None:
    """Stream's ``X-RateLimit-*`` headers as integers, or None when absent."""
    return response_meta(headers)[0]


def _request_id(headers: httpx2.Headers) -> str | None:
    return response_meta(headers)[1]


__all__ = [
    "UPLOAD_ARGUMENTS",
    "AuthContext",
    "ExecutionResult",
    "Executor",
    "PreparedCall",
    "decode_file",
    "describe_schema_error",
    "encode_path_value",
    "fill_actors",
    "parse_retry_after",
    "query_value",
    "rate_limit_meta",
    "response_meta",
]
