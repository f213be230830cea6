"""The service behind every front end: search, describe, execute, issue tokens.

The MCP server and the CLI are thin layers over :class:`StreamService`. It holds no
transport concerns; it enforces the caller's principal, asks the credential layer how a
call authenticates, hands the call to the executor and writes the audit line.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread
import structlog

from stream_mcp.auth import AuthDecision, Credentials, check_user_id
from stream_mcp.auth.scopes import ISSUE_TOKENS, Scope, required_scope
from stream_mcp.auth.subjects import find_subjects
from stream_mcp.catalog import Catalog, Operation
from stream_mcp.catalog.schemas import compile_input
from stream_mcp.errors import (
    PolicyError,
    StreamAPIError,
    StreamMCPError,
    UnknownUser,
    ValidationError,
)
from stream_mcp.execution import Executor, Plans, PreparedCall
from stream_mcp.limits import (
    MAX_ARGUMENT_BYTES,
    MAX_QUERY_CHARS,
    MAX_UPLOAD_ARGUMENT_BYTES,
    check_text,
    measure,
)
from stream_mcp.observability import AuditLog, AuditRecord, Redactor
from stream_mcp.search import SearchIndex


class Caller(Protocol):
    """Who is calling: a local client (stdio) or an HTTP principal from the vault.

    ``unrestricted`` callers may reach every user the profile allows; ``app_wide`` callers
    were granted operations that reach users their arguments do not name. ``grants`` says
    whether an OAuth scope is held (callers without scopes, API keys and stdio, hold all).
    """

    @property
    def name(self) -> str: ...

    @property
    def unrestricted(self) -> bool: ...

    @property
    def app_wide(self) -> bool: ...

    def allows_user(self, user_id: str) -> bool: ...

    def grants(self, scope: Scope) -> bool: ...


@dataclass(frozen=True, slots=True)
class LocalCaller:
    """The process owner on stdio: limited only by the profile's policy."""

    name: str = "local"
    unrestricted: bool = True
    app_wide: bool = True

    def allows_user(self, user_id: str) -> bool:
        return True

    def grants(self, scope: Scope) -> bool:
        return True


LOCAL = LocalCaller()
RETURNED_KEYS = 10  # top-level answer keys shown by describe (the outline stays ~150 tokens)
NOT_ALLOWED = 17  # Stream's code for a user token that may not do this (or an unknown user)
INLINE_ARGUMENT_BYTES = 64 * 1024  # larger arguments are validated in a worker thread
# Full upserts that need confirmation only when they would replace an existing record, and
# the read that tells.
_CONFIRM_ONLY_IF_EXISTING = {"UpdateUsers": "QueryUsers"}


class StreamService:
    """Everything a front end can do, with the checks in one place.

    search and describe read the catalog; execute runs authorize (acting user, named users,
    server-auth grants) → prepare (limits, validation) → confirm (destructive calls) → send,
    and writes one audit record whatever happens; issue_user_token signs for a frontend. The
    MCP server and the CLI call only this.
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        index: SearchIndex,
        credentials: Credentials,
        executor: Executor,
        audit: AuditLog,
    ) -> None:
        self.catalog = catalog
        self.index = index
        self.credentials = credentials
        self.executor = executor
        self.audit = audit
        self.plans = Plans(catalog)

    # ------------------------------------------------------------------ for front ends

    def redactor(self) -> Redactor:
        """Scrubs this profile's secret and every token pattern from what leaves the process."""
        return self.credentials.redactor()

    @property
    def requires_person(self) -> bool:
        """True when the profile refuses ``confirm: true`` in place of a person's answer."""
        return self.credentials.policy.confirmation == "person"

    def readiness(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """Probes for ``/readyz``: the shared state calls depend on (Redis for the budget)."""
        return {"budget": self.executor.budget.ping}

    def sealing_key(self, purpose: str) -> bytes:
        """A key for sealing state handed to clients, the same in every replica."""
        return self.credentials.derive_key(purpose)

    # ------------------------------------------------------------------ discovery

    @property
    def search_ready(self) -> bool:
        """Whether the search index is built (a search then takes about a millisecond)."""
        return self.index.is_built

    def prepare_search(self) -> None:
        """Build the search index now; it is built on the first search otherwise."""
        self.index.build()

    def search(self, query: str, limit: int = 5) -> dict[str, Any]:
        query = check_text(query, field="query", max_chars=MAX_QUERY_CHARS)
        return self.index.search(query, limit).to_dict()

    def describe(self, operation_id: Any, detail: Any = "brief") -> dict[str, Any]:
        """The operation's text, flags and input schema (``detail`` brief or full)."""
        op = self.catalog.get(_text(operation_id, "operation_id"))
        tool_input = compile_input(self.catalog, op, detail)
        described: dict[str, Any] = {
            "operation_id": op.operation_id,
            "summary": op.summary,
            "description": op.description,
            "auth": self.auth_label(op),
            "read_only": op.read_only,
            "destructive": op.destructive,
            "idempotent": op.idempotent,
            "detail": tool_input.detail,
            "input_schema": tool_input.schema,
            "results": "date-times are RFC 3339 strings in UTC, whatever the wire carried",
        }
        if op.returns:
            # The answer's layout, so a select can be written without reading a whole answer.
            described["returns"] = {
                "keys": list(op.returns.get("keys", ()))[:RETURNED_KEYS],
                "paths": list(op.returns.get("paths", ())),
                "example_select": op.returns.get("example_select"),
            }
        if tool_input.paging:
            described["paging"] = list(tool_input.paging)
        if op.destructive:
            described["confirmation"] = "destructive: the call must be confirmed"
        return described

    def auth_label(self, op: Operation) -> str:
        """How this profile would run ``op``: ``user``, ``server`` or ``refused``."""
        try:
            self.credentials.policy.check_operation(op)
            return self.credentials.policy.auth_mode(op)
        except PolicyError:
            return "refused"

    # ------------------------------------------------------------------ execution

    def operation(self, operation_id: str) -> Operation:
        return self.catalog.get(_text(operation_id, "operation_id"))

    def authorize(
        self,
        op: Operation,
        as_user: str | None,
        caller: Caller,
        arguments: Mapping[str, Any] | None = None,
    ) -> AuthDecision:
        """The policy's decision (which also checks ``as_user``), narrowed to the caller's users.

        With ``arguments``, every user the call names in a subject or actor field must be
        allowed too, by the profile and by the caller, under user and server auth alike.
        """
        decision = self.credentials.authorize(op, as_user)
        needed = required_scope(op, decision.mode)
        if not caller.grants(needed):
            raise PolicyError(
                f"{op.operation_id} ({decision.mode} auth, "
                f"{'read-only' if op.read_only else 'writes'}) needs scope {needed}, which "
                f"caller {caller.name} was not granted",
                field="scope",
                hint=f"get an access token with scope {needed}",
            )
        if not caller.allows_user(decision.acting_user):
            raise PolicyError(
                f"caller {caller.name} may not act as user {decision.acting_user!r}",
                field="as_user",
                hint="act as one of the users this API key or access token was granted",
            )
        if arguments is not None:
            self._check_reach(op, arguments, decision, caller)
        return decision

    def _check_reach(
        self, op: Operation, arguments: Mapping[str, Any], decision: AuthDecision, caller: Caller
    ) -> None:
        """Refuse a call that names, or could reach, users beyond the profile or the caller."""
        policy = self.credentials.policy
        found = find_subjects((*op.subjects, *op.actors), arguments)
        for path, user in found.named:
            if not policy.allows_user(user):
                raise PolicyError(
                    f"{op.operation_id} names user {_short(user)} in {path}; this profile may "
                    "not act on that user",
                    field=path,
                    hint="name only users in the profile's allowed_users",
                )
            if not caller.allows_user(user):
                raise PolicyError(
                    f"{op.operation_id} names user {_short(user)} in {path}; caller "
                    f"{caller.name} may not act on that user",
                    field=path,
                    hint="name only users this API key or access token was granted",
                )
        # Under user auth Stream bounds the call by the acting user's own permissions; under
        # server auth nothing does, so reaching unnamed users needs an explicit grant.
        if decision.mode != "server" or not (op.unbounded or found.open_paths):
            return
        what = (
            f"{op.operation_id} can reach users it does not name"
            if op.unbounded
            else f"{op.operation_id} selects users by a condition in {found.open_paths[0]}"
        )
        if not (policy.unrestricted or policy.app_wide):
            raise PolicyError(
                f"{what}, and this profile is limited to some users",
                field="app_wide",
                hint="name the users with $eq/$in, or grant the profile app_wide",
            )
        if not (caller.unrestricted or caller.app_wide):
            raise PolicyError(
                f"{what}, and caller {caller.name} is limited to some users",
                field="app_wide",
                hint="name the users with $eq/$in, or use a key granted --app-wide",
            )

    async def execute(
        self,
        operation_id: str,
        arguments: Mapping[str, Any] | None,
        *,
        as_user: str | None = None,
        select: str | None = None,
        detail: Any = "compact",
        caller: Caller = LOCAL,
        confirm: Callable[[Operation], Awaitable[None]] | None = None,
        capped: bool = True,
    ) -> dict[str, Any]:
        """Authorize, confirm (destructive operations), execute and audit one call.

        ``capped=False`` skips the token cap: only for the server's own reads (the event feed
        must see every event Sync returns), never for an agent's call.

        ``confirm`` runs once the policy has accepted the call and its arguments are valid,
        so nobody is asked to approve something that would fail anyway; it raises to refuse.
        """
        started = time.perf_counter()
        op_name = operation_id if isinstance(operation_id, str) else "?"
        decision: AuthDecision | None = None
        result: Any = None
        error: StreamMCPError | None = None
        try:
            if arguments is None:
                arguments = {}
            if not isinstance(arguments, Mapping):
                raise ValidationError("arguments: expected an object", field="arguments")
            op = self.operation(operation_id)
            op_name = op.operation_id
            cap = MAX_UPLOAD_ARGUMENT_BYTES if op.content == "multipart" else MAX_ARGUMENT_BYTES
            size = measure(arguments, field="arguments", max_bytes=cap).size
            decision = self.authorize(op, as_user, caller, arguments)
            prepare = functools.partial(
                self.executor.prepare,
                self.plans.get(op),
                arguments,
                decision,
                select=select,
                detail="compact" if detail is None else detail,
                capped=capped,
            )
            # Validating a large argument object could hold the event loop for tens of ms.
            call = (
                await anyio.to_thread.run_sync(prepare)
                if size > INLINE_ARGUMENT_BYTES
                else prepare()
            )
            if op.destructive and confirm is not None and await self._overwrites(op, call):
                await confirm(op)
                started = time.perf_counter()  # a person's time to answer is not latency
            try:
                result = await self.executor.send(call)
            except StreamAPIError as refused:
                if refused.code == NOT_ALLOWED and decision.mode == "user":
                    await self._explain_unknown_user(call, refused)
                raise
            return {
                "operation_id": op.operation_id,
                "acting_user": decision.acting_user,
                "auth": decision.mode,
                "data": result.data,
                "meta": result.meta,
            }
        except StreamMCPError as exc:
            error = exc
            raise
        finally:
            self.audit.record(
                AuditRecord(
                    principal=caller.name,
                    profile=self.credentials.profile_name,
                    operation=_as_given(op_name) or "?",
                    acting_user=decision.acting_user if decision else _as_given(as_user),
                    auth_mode=decision.mode if decision else None,
                    status="ok" if error is None and result is not None else _kind(error),
                    http_status=getattr(result, "status", None) or getattr(error, "status", None),
                    stream_code=getattr(error, "code", None),
                    latency_ms=round((time.perf_counter() - started) * 1000, 2),
                    request_id=_request_id(result, error),
                    call_id=structlog.contextvars.get_contextvars().get("call_id"),
                )
            )

    async def _explain_unknown_user(self, call: PreparedCall, refused: StreamAPIError) -> None:
        """Stream answers "not allowed" for a user token of a user it does not know; say so.

        One read (QueryUsers as the same user) tells a missing user from a missing
        permission; when it cannot tell, the original error stands.
        """
        user = call.auth.acting_user
        read = self.plans.get(self.catalog.get("QueryUsers"))
        try:
            found = await self.executor.execute(
                read, {"filter_conditions": {"id": {"$eq": user}}}, call.auth, select="users[].id"
            )
        except StreamAPIError as again:
            if again.code != NOT_ALLOWED:
                return
        else:
            if found.data:
                return  # the user exists: it really lacks the permission
        raise UnknownUser(
            f"user {_short(user)} does not exist in this Stream app (Stream answered "
            f"{refused.code}, not allowed, to {call.operation.operation_id})",
            field="as_user",
            hint="create the user first (UpdateUsers), or act as a user that exists",
        ) from None

    async def _overwrites(self, op: Operation, call: PreparedCall) -> bool:
        """False only when a full upsert provably creates new records and replaces none.

        UpdateUsers replaces each named user whole: overwriting one who exists can drop
        fields, creating new ones loses nothing. A cheap read decides; if it fails, the call
        counts as overwriting (confirmation fails closed).
        """
        if op.operation_id not in _CONFIRM_ONLY_IF_EXISTING:
            return True
        named = sorted({user for _, user in find_subjects(("users{}",), call.arguments).named})
        if not named or len(named) > 100:
            return True
        read = self.catalog.get(_CONFIRM_ONLY_IF_EXISTING[op.operation_id])
        try:
            found = await self.executor.execute(
                self.plans.get(read),
                {"filter_conditions": {"id": {"$in": named}}, "limit": len(named)},
                call.auth,
                select="users[].id",
            )
        except StreamMCPError:
            return True
        return bool(found.data)

    def issue_user_token(
        self, user_id: Any, ttl_seconds: int | None = None, *, caller: Caller = LOCAL
    ) -> dict[str, Any]:
        """A token for a frontend to connect to Stream as ``user_id`` (within the policy)."""
        user_id = check_user_id(user_id, field="user_id")
        if not caller.grants(ISSUE_TOKENS):
            raise PolicyError(
                f"issuing user tokens needs scope {ISSUE_TOKENS}, which caller {caller.name} "
                "was not granted",
                field="scope",
                hint=f"get an access token with scope {ISSUE_TOKENS}",
            )
        if not caller.allows_user(user_id):
            raise PolicyError(
                f"caller {caller.name} may not issue tokens for user {user_id!r}",
                field="user_id",
            )
        issued = self.credentials.issue_user_token(user_id, ttl_seconds)
        return {
            "user_id": issued.user_id,
            "token": issued.token,
            "expires_at": issued.expires_at,
        }


def _short(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field}: expected a non-empty string", field=field)
    return value.strip()


def _kind(error: StreamMCPError | None) -> str:
    return error.kind if error is not None else "error"


def _request_id(result: Any, error: StreamMCPError | None) -> str | None:
    meta = getattr(result, "meta", None) or {}
    return meta.get("request_id") or getattr(error, "request_id", None)


_AS_GIVEN_CHARS = 255  # the longest valid Stream id


def _as_given(value: object) -> str | None:
    """What a caller asked for, fit for an audit line: ``value`` was refused, and may be any
    size or type (a megabyte of "user id" must not become a megabyte of log)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    if len(value) <= _AS_GIVEN_CHARS:
        return value
    return f"{value[:64]}... ({len(value)} characters)"
