"""The MCP server: a thin layer of tools over :class:`~stream_mcp.service.StreamService`.

Discovery mode (the default) exposes four tools; static mode exposes one tool per
operation, filtered by globs. Every failure is returned as an ``isError`` tool result the
model can act on; nothing escapes as a JSON-RPC internal error. Destructive operations need
a human's confirmation through elicitation when the client supports it, and ``confirm: true``
otherwise.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import mcp_types as types
import structlog
from mcp.server import Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from stream_mcp import __version__
from stream_mcp.catalog import Operation
from stream_mcp.catalog.schemas import compile_input
from stream_mcp.config import Mode
from stream_mcp.errors import ConfirmationPending, StreamMCPError, ValidationError
from stream_mcp.limits import estimate_tokens
from stream_mcp.observability import Redactor, get_logger
from stream_mcp.server._confirm import Confirmer
from stream_mcp.server._unicode import encodable
from stream_mcp.service import LOCAL, Caller, StreamService

if TYPE_CHECKING:
    from stream_mcp.events import EventFeed

STATIC_NAME_LIMIT = 40
CURSOR_TOOL_LIMIT = 40
CALLER_SCOPE_KEY = "stream_mcp.caller"
DEFAULT_CONFIRM_TIMEOUT = 120.0
SEAL_GRACE = 300.0
INLINE_QUERY_CHARS = 160  # longer search requests run in a worker thread

log = get_logger("stream_mcp.server")

INSTRUCTIONS = (
    "Stream Chat API. Find an operation with search_operations, read its input schema with "
    "load_operation, run it with execute_operation. Calls act as a user (as_user) under a "
    "short-lived token; destructive operations must be confirmed."
)

_STR = {"type": "string"}

DISCOVERY_TOOLS: tuple[types.Tool, ...] = (
    types.Tool(
        name="search_operations",
        description=(
            "Find Stream Chat operations by what you want to do, e.g. 'ban a user'. Returns "
            "ranked operation_ids with auth and safety flags. Empty query lists categories."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "query": _STR,
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            },
            "required": ["query"],
        },
        annotations=types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    ),
    types.Tool(
        name="load_operation",
        description=(
            "Get an operation's description, input schema and answer layout (paths to select). "
            "detail=brief shows the usual fields; full shows every field."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "operation_id": _STR,
                "detail": {"type": "string", "enum": ["brief", "full"], "default": "brief"},
            },
            "required": ["operation_id"],
        },
        annotations=types.ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    ),
    types.Tool(
        name="execute_operation",
        description=(
            "Run a Stream Chat operation with arguments matching its input schema, acting as "
            "as_user (default: the profile's user). select is a JMESPath projection of the "
            "response, run on the whole body. Without select, results are compact: fields that "
            "are null, false, empty or a zero count are left out, each user appears in full "
            "once, channels name their type's config instead of repeating it; detail=raw "
            "returns Stream's body as sent. Destructive operations need confirm=true or the "
            "user's approval."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "operation_id": _STR,
                "arguments": {"type": "object"},
                "as_user": _STR,
                "select": _STR,
                "detail": {"type": "string", "enum": ["compact", "raw"]},
                "confirm": {"type": "boolean"},
            },
            "required": ["operation_id"],
        },
        annotations=types.ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        ),
    ),
    types.Tool(
        name="issue_user_token",
        description=(
            "Mint a user token for a frontend (web/mobile chat client) to connect as user_id. "
            "Not needed for execute_operation, which signs each call itself. ttl_seconds "
            "defaults to the profile's cap (3600)."
        ),
        input_schema={
            "type": "object",
            "properties": {"user_id": _STR, "ttl_seconds": {"type": "integer", "minimum": 1}},
            "required": ["user_id"],
        },
        annotations=types.ToolAnnotations(
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    ),
)

WAIT_TOOL = types.Tool(
    name="wait_for_events",
    description=(
        "Wait for chat events (message.new, reaction.new, member.added, user.banned...). "
        "Returns at once if events after the cursor exist, else waits up to timeout_seconds "
        "(default 25, max 60). Pass the answer's next as after; omit after to start now. "
        "types and channels take names or globs ('message.*', 'messaging:support-*')."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "after": _STR,
            "types": {"type": "array", "items": _STR},
            "channels": {"type": "array", "items": _STR},
            "timeout_seconds": {"type": "number", "minimum": 0, "maximum": 60},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "detail": {"type": "string", "enum": ["compact", "full"]},
        },
    },
    annotations=types.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
    ),
)
EVENTS_URI = "stream://events"
MAX_SUBSCRIBERS = 1024

# Extra arguments a static tool takes besides the operation's own.
_CONTROL_ARGS = {
    "as_user": {"type": "string", "description": "act as this user"},
    "select": {"type": "string", "description": "JMESPath projection of the response"},
    "detail": {
        "type": "string",
        "enum": ["compact", "raw"],
        "description": "raw: Stream's body as sent (compact leaves out null/false/empty/zero-count "
        "fields and repeats, users in full once)",
    },
    "confirm": {"type": "boolean", "description": "confirm a destructive call"},
}


def tool_name(operation_id: str) -> str:
    """``GetOrCreateDistinctChannel`` → ``get_or_create_distinct_channel`` (≤ 40 chars)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", operation_id).lower()
    return snake[:STATIC_NAME_LIMIT].rstrip("_")


def annotations_for(op: Operation) -> types.ToolAnnotations:
    return types.ToolAnnotations(
        title=op.summary,
        read_only_hint=op.read_only,
        destructive_hint=op.destructive,
        idempotent_hint=op.idempotent,
        open_world_hint=True,
    )


@dataclass(frozen=True)
class StaticTool:
    tool: types.Tool
    operation: Operation
    controls: dict[str, str]  # control name → argument name actually used in the schema


def static_tools(
    service: StreamService, include: Iterable[str] = ("*",), exclude: Iterable[str] = ()
) -> list[StaticTool]:
    """One tool per operation whose id matches ``include`` and not ``exclude`` (globs)."""
    include, exclude = tuple(include) or ("*",), tuple(exclude)
    tools: list[StaticTool] = []
    for op in service.catalog:
        if not any(fnmatchcase(op.operation_id, g) for g in include):
            continue
        if any(fnmatchcase(op.operation_id, g) for g in exclude):
            continue
        schema = json.loads(json.dumps(compile_input(service.catalog, op, "brief").schema))
        controls: dict[str, str] = {}
        for name, sub in _CONTROL_ARGS.items():
            if name == "confirm" and not op.destructive:
                continue
            arg = name if name not in schema["properties"] else f"mcp_{name}"
            schema["properties"][arg] = sub
            controls[name] = arg
        description = f"{op.summary}. {op.description}"
        if op.destructive:
            description += " Destructive: needs confirmation."
        tool = types.Tool(
            name=tool_name(op.operation_id),
            description=description,
            input_schema=schema,
            annotations=annotations_for(op),
        )
        tools.append(StaticTool(tool, op, controls))
    return tools


def discovery_tokens() -> int:
    """Size of the discovery tool list (events included) as a client receives it."""
    listed = types.ListToolsResult(tools=[*DISCOVERY_TOOLS, WAIT_TOOL])
    return estimate_tokens(listed.model_dump(mode="json", by_alias=True, exclude_none=True))


# --------------------------------------------------------------------------- results


def _ok(payload: Any, redactor: Redactor | None) -> types.CallToolResult:
    if redactor is not None:
        payload = redactor.value(payload)
    structured = payload if isinstance(payload, dict) else {"result": payload}
    text = json.dumps(structured, separators=(",", ":"), default=str, ensure_ascii=False)
    if not _sendable(text):
        structured = encodable(structured)
        text = json.dumps(structured, separators=(",", ":"), default=str, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured
    )


def _sendable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _error(payload: dict[str, Any], redactor: Redactor) -> types.CallToolResult:
    payload = encodable(redactor.value(payload))
    text = json.dumps(payload, separators=(",", ":"), default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=payload,
        is_error=True,
    )


def _caller(ctx: ServerRequestContext[Any, Any]) -> Caller:
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None)
    caller: Caller | None = scope.get(CALLER_SCOPE_KEY) if isinstance(scope, dict) else None
    return caller if caller is not None else LOCAL


# --------------------------------------------------------------------------- server


class _SearchWarmUp:
    """Builds the search index in a thread shortly after the first ``tools/list``.

    Start-up stays as cheap as a bare server's (nothing is built before a client lists the
    tools, and the thread starts once the answer has normally gone out), while an agent's
    first search, which comes seconds later, finds the index ready instead of paying for it.
    """

    DELAY = 0.05  # seconds: lets the tools/list answer go out first

    def __init__(self, service: StreamService) -> None:
        self._service = service
        self._started = False

    def start(self) -> None:
        if self._started or self._service.search_ready:
            return
        self._started = True
        timer = threading.Timer(self.DELAY, self._build)
        timer.name = "search-index-warm-up"
        timer.daemon = True
        timer.start()

    def _build(self) -> None:
        try:
            self._service.prepare_search()
        except Exception as exc:  # the first search will build it and report the failure
            log.warning("search_warm_up_failed", error=exc.__class__.__name__)


def build_server(
    service: StreamService,
    *,
    mode: Mode = "discovery",
    include: Iterable[str] = ("*",),
    exclude: Iterable[str] = (),
    confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT,
    feed: EventFeed | None = None,
) -> Server[Any]:
    """An MCP low-level server exposing ``service`` in discovery or static mode.

    With a ``feed``, both modes add ``wait_for_events`` and an ``events`` resource whose
    subscribers hear of new events (resources/updated, or subscriptions/listen on 2026-07-28).
    """
    redactor = service.redactor()
    confirmer = Confirmer(timeout=confirm_timeout, require_person=service.requires_person)
    # Static tools compile a schema per operation: only worth it when they are served.
    statics = (
        {t.tool.name: t for t in static_tools(service, include, exclude)}
        if mode == "static"
        else {}
    )
    tools = list(DISCOVERY_TOOLS) if mode == "discovery" else [t.tool for t in statics.values()]
    if feed is not None:
        tools.append(WAIT_TOOL)
    if mode == "static" and len(tools) > CURSOR_TOOL_LIMIT:
        log.warning(
            "many_tools",
            count=len(tools),
            message=f"{len(tools)} tools exposed; Cursor uses only the first "
            f"{CURSOR_TOOL_LIMIT}. Narrow them with --include/--exclude.",
        )

    async def execute(
        ctx: ServerRequestContext[Any, Any],
        params: types.CallToolRequestParams,
        op_id: Any,
        arguments: Any,
        as_user: Any,
        select: Any,
        confirm: Any,
        detail: Any = None,
    ) -> dict[str, Any]:
        caller = _caller(ctx)

        async def confirmation(op: Operation) -> None:
            await confirmer.confirm(ctx, params, op, confirm, caller.name)

        result = await service.execute(
            op_id,
            arguments,
            as_user=as_user,
            select=select,
            detail=detail,
            caller=caller,
            confirm=confirmation,
        )
        if feed is not None and select is None:
            try:
                await feed.observe(result)  # channels the agent touches are ones it follows
            except StreamMCPError as exc:
                log.info("feed_observe_failed", error=exc.kind)
        return result

    async def wait_for_events(ctx: ServerRequestContext[Any, Any], args: dict[str, Any]) -> Any:
        if feed is None:
            raise ValidationError("unknown tool 'wait_for_events'", field="name")
        from stream_mcp.events import WaitRequest

        return await feed.wait(WaitRequest.parse(args), _caller(ctx))

    async def discovery_call(
        ctx: ServerRequestContext[Any, Any],
        params: types.CallToolRequestParams,
        name: str,
        args: dict[str, Any],
    ) -> tuple[Any, bool]:
        """The payload, and whether it must be redacted (only issued tokens are exempt)."""
        if name == "search_operations":
            limit = _optional(args, "limit")
            query = args.get("query", "")
            search = functools.partial(
                service.search, query, 5 if limit is None else _int(limit, "limit")
            )
            if not service.search_ready or (
                isinstance(query, str) and len(query) > INLINE_QUERY_CHARS
            ):
                # Building the index takes tens of ms, and up to 1,000 characters of unknown
                # words a few hundred to read: neither may hold up the event loop.
                return await anyio.to_thread.run_sync(search), True
            return search(), True
        if name == "load_operation":
            detail = _optional(args, "detail")
            detail = "brief" if detail is None else detail
            return service.describe(args.get("operation_id"), detail), True
        if name == "execute_operation":
            return await execute(
                ctx,
                params,
                args.get("operation_id"),
                _optional(args, "arguments"),
                _optional(args, "as_user"),
                _optional(args, "select"),
                _optional(args, "confirm"),
                _optional(args, "detail"),
            ), False  # the executor redacted Stream's answer, the call's token included
        if name == "issue_user_token":
            ttl = _optional(args, "ttl_seconds")
            ttl = None if ttl is None else _int(ttl, "ttl_seconds")
            caller = _caller(ctx)
            return service.issue_user_token(args.get("user_id"), ttl, caller=caller), False
        raise ValidationError(f"unknown tool {name!r}", field="name")

    async def static_call(
        ctx: ServerRequestContext[Any, Any],
        params: types.CallToolRequestParams,
        name: str,
        args: dict[str, Any],
    ) -> tuple[Any, bool]:
        tool = statics.get(name)
        if tool is None:
            raise ValidationError(f"unknown tool {name!r}", field="name")
        controls = {key: _optional(args, arg) for key, arg in tool.controls.items()}
        for arg in tool.controls.values():
            args.pop(arg, None)
        result = await execute(
            ctx,
            params,
            tool.operation.operation_id,
            args,
            controls.get("as_user"),
            controls.get("select"),
            controls.get("confirm"),
            controls.get("detail"),
        )
        return result, False  # redacted by the executor, as in discovery mode

    dispatch: Callable[..., Awaitable[tuple[Any, bool]]] = (
        discovery_call if mode == "discovery" else static_call
    )

    warm_up = _SearchWarmUp(service) if mode == "discovery" else None

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if warm_up is not None:
            warm_up.start()
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        # Every log line of this call, and its audit record, carry the same id (call_id;
        # request_id in the audit names Stream's own id for the HTTP exchange).
        with structlog.contextvars.bound_contextvars(call_id=_call_id(ctx)):
            return await call_tool(ctx, params)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult | types.InputRequiredResult:
        args = dict(params.arguments or {})
        try:
            if params.name == WAIT_TOOL.name:
                payload, redact = await wait_for_events(ctx, args), True
            else:
                payload, redact = await dispatch(ctx, params, params.name, args)
            return _ok(payload, redactor if redact else None)
        except ConfirmationPending as pending:
            result: types.InputRequiredResult = pending.result
            return result
        except StreamMCPError as exc:
            return _error(exc.to_dict(), redactor)
        except Exception as exc:  # a bug: report it as a tool error, keep the server up
            log.exception("tool_failed", tool=params.name, error=exc.__class__.__name__)
            return _error(
                {
                    "error": "internal_error",
                    "message": f"unexpected {exc.__class__.__name__}; details are in the log",
                    "retryable": False,
                },
                redactor,
            )

    handlers: dict[str, Any] = {}
    if feed is not None:
        handlers = _event_resource_handlers(feed, redactor)
    schemas = {tool.name: tool.input_schema for tool in tools}
    server: Server[Any] = Server(
        "stream-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        # The SDK checks Mcp-Param-* headers (2026-07-28 HTTP) against the tool's schema;
        # without this it would run the whole tools/list handler on every call.
        get_tool_input_schema=schemas.get,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        **handlers,
    )
    # Seals the confirmation round trip's state under a key every replica of this profile
    # derives from the credential layer.
    # The seal outlives the confirmation timeout, so a late answer still opens and is refused
    # by the confirmer as expired (not_confirmed) instead of as a protocol error.
    security = RequestStateSecurity(
        keys=[service.sealing_key("mcp-request-state")], ttl=confirm_timeout + SEAL_GRACE
    )
    server.middleware.append(RequestStateBoundary(security, default_audience="stream-mcp"))
    return server


def _event_resource_handlers(feed: EventFeed, redactor: Redactor) -> dict[str, Any]:
    """The ``events`` resource: read gives the latest events the caller may see; subscribers
    are told when new ones arrive (2025-11-25: resources/updated to each subscribed session;
    2026-07-28: a ResourceUpdated on the subscriptions/listen bus)."""
    # Subscribed sessions by connection: the SDK hands each request its own session object,
    # so the MCP session id (HTTP) or the object's identity (stdio) names the connection.
    sessions: dict[str, Any] = {}
    bus = InMemorySubscriptionBus()
    resource = types.Resource(
        uri=EVENTS_URI,
        name="events",
        description="Latest chat events; subscribe to hear of new ones, read with wait_for_events",
        mime_type="application/json",
    )

    async def notify(_events: Any) -> None:
        await bus.publish(ResourceUpdated(EVENTS_URI))
        for key, session in list(sessions.items()):
            try:
                await session.send_resource_updated(EVENTS_URI)
            except Exception:  # a gone client: forget it
                sessions.pop(key, None)

    feed.on_new_events(notify)

    async def on_list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[resource])

    async def on_read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) != EVENTS_URI:
            raise MCPError(INVALID_PARAMS, f"unknown resource {str(params.uri)[:80]!r}")
        recent = redactor.value(await feed.recent(_caller(ctx)))
        text = json.dumps(recent, separators=(",", ":"), default=str, ensure_ascii=False)
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=EVENTS_URI, mime_type="application/json", text=encodable(text)
                )
            ]
        )

    async def on_subscribe(
        ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        if str(params.uri) != EVENTS_URI:
            raise MCPError(INVALID_PARAMS, f"unknown resource {str(params.uri)[:80]!r}")
        if len(sessions) >= MAX_SUBSCRIBERS:
            sessions.pop(next(iter(sessions)))  # the oldest goes first
        sessions[_connection_key(ctx)] = ctx.session
        return types.EmptyResult()

    async def on_unsubscribe(
        ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        sessions.pop(_connection_key(ctx), None)
        return types.EmptyResult()

    return {
        "on_list_resources": on_list_resources,
        "on_read_resource": on_read_resource,
        "on_subscribe_resource": on_subscribe,
        "on_unsubscribe_resource": on_unsubscribe,
        "on_subscriptions_listen": ListenHandler(bus),
    }


_CALL_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def _call_id(ctx: ServerRequestContext[Any, Any]) -> str:
    """The caller's ``X-Request-Id`` when it is a sane id (a proxy's trace), else a new one."""
    request = getattr(ctx, "request", None)
    headers = getattr(request, "headers", None)
    given = headers.get("x-request-id") if headers is not None else None
    if isinstance(given, str) and _CALL_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex[:16]


def _connection_key(ctx: ServerRequestContext[Any, Any]) -> str:
    request = getattr(ctx, "request", None)
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return f"http:{session_id}" if session_id else f"local:{id(ctx.session)}"


def _optional(args: dict[str, Any], name: str) -> Any:
    """An optional argument, where ``""`` and ``null`` mean absent.

    Strict-mode clients (openai-agents) make every optional argument required and fill the
    ones the model leaves out with ``""``; that must not turn into a refusal.
    """
    value = args.get(name)
    return None if value == "" else value


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field}: expected an integer", field=field)
    return value
