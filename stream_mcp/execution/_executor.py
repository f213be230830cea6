"""Perform one catalog operation against Stream over HTTP, exactly as Stream expects.

The executor is the only code that talks to Stream. For each call it:

1. fills the acting user into the operation's actor fields (server-side auth only), rejects
   unknown arguments and validates the rest against the operation's full schema, so nothing
   malformed is ever sent (:mod:`stream_mcp.execution._arguments`);
2. builds the request from the argument bindings: percent-encoded path segments that can
   never change the route, ``api_key`` and scalar query values, the JSON-encoded ``payload``
   parameter, a JSON body, or multipart for the four uploads (:mod:`stream_mcp.execution._wire`);
3. sends it on one pooled connection per profile, each attempt inside the client-side
   budgets (per user and operation, and the app-wide share of the limit Stream reports,
   learned from every answer's headers; :mod:`stream_mcp.execution._budget`), retrying
   idempotent operations on transport errors, 429 and 5xx with full-jitter backoff that
   honours ``Retry-After`` and ``X-RateLimit-Reset`` (:mod:`stream_mcp.execution._retry`);
4. turns Stream's answer into an :class:`ExecutionResult` (projected, size-capped, redacted)
   or a :class:`~stream_mcp.execution.stream_errors.StreamCallError` that says what to do next.

Clock, wall clock, RNG and sleep are constructor parameters so tests control time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Protocol

import anyio.to_thread
import httpx2

from stream_mcp import __version__
from stream_mcp.auth import check_api_key, check_base_url
from stream_mcp.catalog import Operation
from stream_mcp.errors import (
    BudgetUnavailable,
    StreamCallError,
    StreamConnectionError,
    StreamResponseError,
    StreamTimeout,
    ValidationError,
)
from stream_mcp.execution._app_budget import Platform, rate_report
from stream_mcp.execution._arguments import check_arguments
from stream_mcp.execution._budget import Budget, CallBudget
from stream_mcp.execution._compact import compact
from stream_mcp.execution._plan import OperationPlan
from stream_mcp.execution._retry import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    Backoff,
    response_meta,
    server_wait,
)
from stream_mcp.execution._shaping import Shaped, Shaper
from stream_mcp.execution._wire import RequestBuilder
from stream_mcp.execution.stream_errors import error_from_response
from stream_mcp.execution.timestamps import needs_normalising
from stream_mcp.execution.timestamps import normalise as normalise_timestamps
from stream_mcp.observability import Redactor, get_logger

USER_AGENT = f"stream-mcp-{__version__}"
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
# Compiled plans for explicit tool inputs are keyed by id(); the cache is cleared above this.
# Answers larger than this are parsed, redacted and shaped in a worker thread.
OFFLOOP_BODY_BYTES = 256 * 1024
CALL_REDACTORS = 256  # per-token redactors kept (cleared when full)
Detail = Literal["compact", "raw"]
DETAILS: tuple[Detail, ...] = ("compact", "raw")


# --------------------------------------------------------------------------- contracts


class AuthContext(Protocol):
    """What the credential layer decided for this call (``credentials.AuthDecision``)."""

    @property
    def mode(self) -> str: ...  # "user" | "server"

    @property
    def acting_user(self) -> str: ...

    @property
    def token(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """A successful call: HTTP status, the shaped response and facts about the call."""

    status: int
    data: Any
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "data": self.data, "meta": self.meta}


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """A validated request ready to send. The request and auth (token) stay out of repr."""

    compiled: OperationPlan = field(repr=False)
    request: httpx2.Request = field(repr=False)
    auth: AuthContext = field(repr=False)
    arguments: dict[str, Any] = field(repr=False)
    select: str | None = None
    detail: Detail = "compact"
    capped: bool = True  # False only for the server's own reads (the event feed's Sync)

    @property
    def operation(self) -> Operation:
        return self.compiled.op


@dataclass(frozen=True, slots=True)
class _Attempt:
    """The outcome of one HTTP exchange that produced a status line, with its rate-limit
    headers and request id read once (``response_meta``)."""

    status: int
    body: bytes
    headers: httpx2.Headers
    rate_limit: dict[str, int] | None = None
    request_id: str | None = None


# --------------------------------------------------------------------------- executor


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    """The executor's numbers, given explicitly (built from ``Settings`` by the runtime)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retries: int = 2
    budget_per_minute: int = 60
    app_budget_share: float = 0.25
    response_token_cap: int = 8000
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    trust_env: bool = True


def _verification(base_url: str) -> ssl.SSLContext | bool:
    """How the client checks TLS: the system's trust store for an ``https`` base; for a plain
    ``http`` one (the sandbox, a local proxy) a context that trusts nothing. Every request goes
    to the base, so that one never handshakes, and loading the trust store cost some 30 ms of
    CPU on each first call; were a TLS connection ever made with it, it would fail closed."""
    if base_url.lower().startswith("https:"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates, trusts none


class Executor:
    """Sends compiled operation plans to one Stream app (one profile) over a pooled client.

    It knows no catalog and reads no environment: the caller hands it a plan
    (:class:`Plans`), the arguments and the auth decision.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        redactor: Redactor,
        config: ExecutorConfig | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        config = config or ExecutorConfig()
        self._api_key = check_api_key(api_key)
        self._base_url = check_base_url(base_url)
        self._config = config
        self._transport = transport
        self._redactor = redactor
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._backoff = Backoff(
            config.backoff_base,
            config.backoff_cap,
            max(0, config.max_retries),
            rng or random.Random(),
        )
        self._max_response_bytes = config.max_response_bytes
        self._budget = budget or CallBudget(
            config.budget_per_minute,
            app_share=config.app_budget_share,
            clock=clock,
            wall_clock=wall_clock,
        )
        # The in-process budget never waits: take its slots directly instead of through
        # the awaitable interface (same checks, same order; a subclass keeps its own).
        self._local_budget = self._budget if type(self._budget) is CallBudget else None
        self._shaper = Shaper(config.response_token_cap)
        self._log = get_logger("stream_mcp.executor")
        self._http: httpx2.AsyncClient | None = None
        self._redactors: dict[str, Redactor] = {}
        self._builder: RequestBuilder | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def _client(self) -> httpx2.AsyncClient:
        """The pooled client, created on first use: start-up never pays for it or its TLS."""
        if self._http is None:
            config = self._config
            self._http = httpx2.AsyncClient(
                timeout=httpx2.Timeout(
                    connect=config.connect_timeout,
                    read=config.read_timeout,
                    write=config.read_timeout,
                    pool=config.connect_timeout,
                ),
                headers={"X-Stream-Client": USER_AGENT},
                verify=_verification(self._base_url),
                transport=self._transport,
                follow_redirects=False,
                trust_env=config.trust_env,
            )
        return self._http

    @property
    def _requests(self) -> RequestBuilder:
        if self._builder is None:
            self._builder = RequestBuilder(
                self._client,
                base_url=self._base_url,
                api_key=self._api_key,
                max_upload_bytes=self._config.max_upload_bytes,
            )
        return self._builder

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

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
    def budget(self) -> Budget:
        return self._budget

    # ------------------------------------------------------------------ public API

    async def execute(
        self,
        plan: OperationPlan,
        arguments: Mapping[str, Any],
        auth: AuthContext,
        *,
        select: str | None = None,
        detail: Detail = "compact",
    ) -> ExecutionResult:
        """Validate, send (with retries) and shape one call; raises a StreamMCPError."""
        return await self.send(self.prepare(plan, arguments, auth, select=select, detail=detail))

    def prepare(
        self,
        plan: OperationPlan,
        arguments: Mapping[str, Any],
        auth: AuthContext,
        *,
        select: str | None = None,
        detail: Detail = "compact",
        capped: bool = True,
    ) -> PreparedCall:
        """Check everything that can be checked before sending: arguments, ``select``.

        Split from :meth:`send` so a caller can ask a person to confirm a call that is
        known to be well-formed, and send exactly that call afterwards.
        """
        if select is not None:
            self._shaper.compile(select)
        if detail not in DETAILS:
            raise ValidationError(
                f"detail: expected 'compact' or 'raw', got {str(detail)[:40]!r}", field="detail"
            )
        acting_user = auth.acting_user if auth.mode == "server" else None
        args = check_arguments(plan, arguments, acting_user, self._redactor)
        request = self._requests.build(plan, args, auth.token)
        return PreparedCall(plan, request, auth, args, select, detail, capped)

    async def send(self, call: PreparedCall) -> ExecutionResult:
        """Send a prepared call (with retries) and shape the answer."""
        started = self._clock()
        attempt, attempts = await self._send(call.compiled, call.request, call.auth)
        shape = functools.partial(
            self._result,
            call.compiled,
            attempt,
            attempts,
            started,
            call.arguments,
            call.select,
            call.auth.token,
            call.detail,
            call.capped,
        )
        if len(attempt.body) > OFFLOOP_BODY_BYTES:
            # Parsing, redacting and projecting a large answer would stall every other call.
            return await anyio.to_thread.run_sync(shape)
        return shape()

    def _call_redactor(self, token: str) -> Redactor:
        """The profile's redactor plus this call's token (and its reverse).

        Tokens are reused from the token cache, so the few live ones keep their redactor
        instead of building and sorting a new one per call.
        """
        redactor = self._redactors.get(token)
        if redactor is None:
            if len(self._redactors) >= CALL_REDACTORS:
                self._redactors.clear()
            redactor = self._redactors[token] = self._redactor.with_secrets(token, token[::-1])
        return redactor

    # ------------------------------------------------------------------ sending

    async def _send(
        self, plan: OperationPlan, request: httpx2.Request, auth: AuthContext
    ) -> tuple[_Attempt, int]:
        op = plan.op
        user = auth.acting_user
        platform: Platform = "server" if auth.mode == "server" else "client"
        local = self._local_budget
        if local is None:
            await self._budget.acquire(user, op.operation_id, platform=platform)
        else:
            refusal = local.take(user, op.operation_id, platform)
            if refusal is not None:
                raise refusal
        attempts = 0
        while True:
            attempts += 1
            error: StreamCallError
            try:
                attempt = await self._exchange(plan, request)
            except StreamCallError as exc:
                error = exc
            else:
                await self._observe(platform, op.operation_id, attempt.rate_limit)
                if attempt.status < 300:
                    return attempt, attempts
                error = self._http_error(plan, attempt)
            error.attempts = attempts
            delay = self._backoff.delay(error, attempts, idempotent=op.idempotent)
            if delay is not None:
                # The retry's slot is taken when it is sent, after the wait, from both budgets.
                await self._sleep(delay)
            if delay is None or not await self._retry_slot(user, op.operation_id, platform):
                if not op.idempotent and error.retryable and not _never_applied(error):
                    # Repeating a write that may have taken effect could apply it twice.
                    error.retryable = False
                    error.hint = (
                        "the call may have taken effect; check before repeating it "
                        "(it is not safe to retry blindly)"
                    )
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

    async def _retry_slot(self, user: str, operation: str, platform: Platform) -> bool:
        """A slot for a retry; a budget that cannot answer surfaces Stream's error instead."""
        try:
            return await self._budget.try_acquire(user, operation, platform=platform)
        except BudgetUnavailable:
            return False

    async def _observe(
        self, platform: Platform, operation: str, rate_limit: Mapping[str, int] | None
    ) -> None:
        """Teach the app-wide budget the window Stream reports; the answer is kept even if the
        shared budget cannot be reached (the next acquisition will say so)."""
        if rate_limit is None:
            return
        report = rate_report(platform, rate_limit, self._wall_clock())
        if report is None:
            return
        if self._local_budget is not None:
            self._local_budget.learn(platform, operation, report)
            return
        with contextlib.suppress(BudgetUnavailable):
            await self._budget.observe(platform, operation, report)

    async def _exchange(self, plan: OperationPlan, request: httpx2.Request) -> _Attempt:
        """One HTTP exchange; transport failures become StreamCallErrors, never raw."""
        try:
            response = await self._client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self._max_response_bytes:
                    raise self._too_large(plan, response.status_code)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_response_bytes:
                        raise self._too_large(plan, response.status_code)
                    chunks.append(chunk)
            finally:
                await response.aclose()
        except httpx2.TimeoutException as exc:
            raise StreamTimeout(
                f"Stream did not answer {plan.where} in time ({_timeout_kind(exc)} timeout)",
                hint="retry in a few seconds; the call may or may not have taken effect",
                retryable=True,
                delivered=not isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout),
            ) from None
        except (httpx2.TransportError, httpx2.StreamError, OSError) as exc:
            raise StreamConnectionError(
                f"could not complete {plan.where}: {self._describe_transport(exc)}",
                hint="check the network and base_url, then retry",
                retryable=True,
                delivered=not isinstance(exc, httpx2.ConnectError | ConnectionRefusedError),
            ) from None
        except httpx2.HTTPError as exc:
            raise StreamConnectionError(
                f"could not complete {plan.where}: {self._describe_transport(exc)}",
                hint="check the profile's base_url",
            ) from None
        rate_limit, request_id = response_meta(response.headers)
        return _Attempt(
            response.status_code, b"".join(chunks), response.headers, rate_limit, request_id
        )

    def _too_large(self, plan: OperationPlan, status: int) -> StreamResponseError:
        limit = self._max_response_bytes // (1024 * 1024)
        return StreamResponseError(
            f"Stream's answer to {plan.where} is larger than {limit} MB",
            hint="ask for less: use limit or narrower filters",
            status=status,
        )

    def _describe_transport(self, exc: BaseException) -> str:
        text = str(exc) or exc.__class__.__name__
        return self._redactor.text(" ".join(text.split()))[:200]

    def _http_error(self, plan: OperationPlan, attempt: _Attempt) -> StreamCallError:
        headers = attempt.headers
        return error_from_response(
            attempt.status,
            attempt.body,
            where=plan.where,
            redactor=self._redactor,
            content_type=headers.get("content-type", ""),
            retry_after=server_wait(attempt.status, headers, self._wall_clock),
            request_id=attempt.request_id,
            rate_limit=attempt.rate_limit,
        )

    # ------------------------------------------------------------------ result

    def _result(
        self,
        plan: OperationPlan,
        attempt: _Attempt,
        attempts: int,
        started: float,
        arguments: Mapping[str, Any],
        select: str | None,
        token: str,
        detail: Detail = "compact",
        capped: bool = True,
    ) -> ExecutionResult:
        body = attempt.body
        try:
            data = json.loads(body) if body and not body.isspace() else {}
        except (ValueError, RecursionError):
            error = error_from_response(
                attempt.status,
                body,
                where=plan.where,
                redactor=self._redactor,
                content_type=attempt.headers.get("content-type", ""),
                request_id=attempt.request_id,
            )
            error.attempts = attempts
            raise error from None
        # Redact first, then project: no JMESPath function (reverse, join, to_string, values,
        # slicing) can then recover a value that key or pattern redaction hides. The call's
        # own token, forwards and backwards, counts as a secret whatever the upstream echoes.
        redactor = self._call_redactor(token)
        text = body.decode("utf-8", errors="replace")
        if redactor.needs_redaction(text):
            data = redactor.value(data)
        timestamps = needs_normalising(text)
        if detail == "compact" and select is None:
            data = compact(data, timestamps=timestamps)  # one walk for both
        elif timestamps:
            data = normalise_timestamps(data)
        shaped = (
            self._shaper.shape(
                data,
                select=select,
                raw_size=len(body),
                paging=plan.paging,
                arguments=arguments,
            )
            if capped
            else Shaped(data)
        )
        data = shaped.data
        if select is not None:
            # A projection can assemble new strings (join, concatenation of pieces).
            data = redactor.value(data)
        request_id = attempt.request_id
        meta: dict[str, Any] = {
            "operation_id": redactor.text(plan.op.operation_id),
            "attempts": attempts,
            "duration_ms": round((self._clock() - started) * 1000, 1),
            "request_id": None if request_id is None else redactor.text(request_id),
            "rate_limit": attempt.rate_limit,
        }
        meta.update(shaped.meta())
        if shaped.truncated:
            meta = redactor.value(meta)  # the cut's paths and hint quote the answer
        return ExecutionResult(attempt.status, data, meta)


# --------------------------------------------------------------------------- helpers


def _never_applied(error: StreamCallError) -> bool:
    """True when Stream cannot have acted on the request: never delivered, or rate-limited."""
    return not error.delivered or error.status == 429


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


__all__ = [
    "USER_AGENT",
    "AuthContext",
    "ExecutionResult",
    "Executor",
    "ExecutorConfig",
    "PreparedCall",
]
