"""The executor: how it builds requests, validates and fills arguments, and reads answers."""

from __future__ import annotations

import base64
import email.parser
import json
import math
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import structlog

from stream_mcp import __version__
from stream_mcp.catalog._build import Catalog, Operation, Param
from stream_mcp.catalog.schemas import Binding, ToolInput
from stream_mcp.config import Settings
from stream_mcp.errors import (
    ConfigError,
    StreamAPIError,
    StreamMCPError,
    StreamResponseError,
    ValidationError,
)
from stream_mcp.execution import ExecutionResult, Plans
from stream_mcp.execution._arguments import fill_actors
from stream_mcp.execution._encoding import query_value
from stream_mcp.observability.redact import Redactor
from tests.factories import make_operation
from tests.planned import PlannedExecutor, planned_executor
from tests.test_executor_helpers import Auth, Recorded, Reply, closed_port_url, json_reply, loopback

SECRET = "app-secret-0123456789"
API_KEY = "key-abc"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzZXJ2ZXIiOnRydWV9.c2lnbmF0dXJlLXZhbHVl"
SERVER = Auth("server", "alice", TOKEN)
USER = Auth("user", "alice", TOKEN)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def make_executor(
    base_url: str = "http://127.0.0.1:9", catalog: Catalog | None = None, **settings: Any
) -> PlannedExecutor:
    values: dict[str, Any] = {"read_timeout": 2.0, "connect_timeout": 2.0, "max_retries": 0}
    values.update(settings)
    return planned_executor(
        api_key=API_KEY,
        base_url=base_url,
        redactor=Redactor([SECRET]),
        catalog=catalog,
        settings=Settings(**values),
        trust_env=False,
    )


@pytest.fixture
async def offline(catalog: Catalog) -> AsyncIterator[PlannedExecutor]:
    """An executor for building requests only (its base URL is never contacted)."""
    async with make_executor(catalog=catalog) as executor:
        yield executor


def op_with(
    *,
    method: str = "POST",
    path: str = "/things/{id}",
    idempotent: bool = False,
    actors: tuple[str, ...] = (),
    content: str = "json",
    operation_id: str = "DoThing",
) -> Operation:
    return make_operation(
        operation_id,
        method=method,
        path=path,
        idempotent=idempotent,
        actors=actors,
        params=(Param("id", "path", {"type": "string"}, True),) if "{id}" in path else (),
        content=content,  # type: ignore[arg-type]
    )


def open_input(bindings: dict[str, Binding], required: tuple[str, ...] = ()) -> ToolInput:
    return ToolInput(
        schema={"type": "object", "properties": {}, "required": list(required)},
        bindings=bindings,
    )


def query_of(request: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))


# --------------------------------------------------------------------------- requests


async def test_request_line_headers_and_json_body(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    op = catalog.get("SendMessage")
    request = offline.build_request(
        op, {"type": "messaging", "id": "general", "message": {"text": "hi"}}, SERVER
    )
    assert request.method == "POST"
    assert (
        request.url.raw_path == b"/api/v2/chat/channels/messaging/general/message?api_key=key-abc"
    )
    assert request.headers["authorization"] == TOKEN  # raw JWT, no "Bearer"
    assert request.headers["stream-auth-type"] == "jwt"
    assert request.headers["x-stream-client"] == f"stream-mcp-{__version__}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"message": {"text": "hi", "user_id": "alice"}}


async def test_get_has_no_body_and_post_without_fields_sends_empty_object(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    get = offline.build_request(catalog.get("GetApp"), {}, SERVER)
    assert get.method == "GET" and get.content == b""
    assert "content-type" not in get.headers
    commit = offline.build_request(catalog.get("CommitMessage"), {"id": "m1"}, SERVER)
    assert commit.content == b"{}"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("ünï", "%C3%BCn%C3%AF"),
        ("...", "..."),
        ("a.b-c_d~e", "a.b-c_d~e"),
        ("messaging:general", "messaging%3Ageneral"),
        ("u@example.com", "u%40example.com"),
    ],
)
async def test_path_values_are_one_encoded_segment(
    offline: PlannedExecutor, catalog: Catalog, value: str, encoded: str
) -> None:
    request = offline.build_request(catalog.get("GetMessage"), {"id": value}, USER)
    path = request.url.raw_path.split(b"?")[0].decode()
    assert path == f"/api/v2/chat/messages/{encoded}"
    assert unquote(path.split("/")[5]) == value


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("a/b", "/"),
        ("../../app", "/"),
        ("x?api_key=evil#frag", "?"),
        ("100%", "%"),
        ("%2e%2e", "%"),
        ("with space", " "),
        ("a\\b", "\\"),
        ("ali\u202ece", "\u202e"),
        ("zero\u200bwidth", "\u200b"),
    ],
)
async def test_path_tricks_are_refused_before_anything_is_sent(
    offline: PlannedExecutor, catalog: Catalog, value: str, bad: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        offline.build_request(catalog.get("GetMessage"), {"id": value}, USER)
    assert caught.value.field == "id" and repr(bad) in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("..", "id: expected an id, got '..' (it would change the URL path)"),
        (".", "id: expected an id, got '.' (it would change the URL path)"),
        ("", "id: expected an id, got an empty string (it would change the URL path)"),
        ("bad\nid", "id: control characters are not allowed in an id"),
        ("nul\x00", "id: control characters are not allowed in an id"),
        ("lone\ud800", "id: not valid Unicode text (contains a lone surrogate)"),
    ],
)
async def test_unsafe_path_values_are_refused_naming_the_field(
    offline: PlannedExecutor, catalog: Catalog, value: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        offline.build_request(catalog.get("GetMessage"), {"id": value}, USER)
    assert str(caught.value) == expected
    assert caught.value.field == "id"


async def test_query_values_booleans_lists_and_json(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    delete = offline.build_request(
        catalog.get("DeleteMessage"), {"id": "m1", "hard": True, "delete_for_me": False}, USER
    )
    assert query_of(delete) == {"api_key": API_KEY, "hard": "true", "delete_for_me": "false"}
    many = offline.build_request(
        catalog.get("GetManyMessages"),
        {"type": "messaging", "id": "general", "ids": ["m1", "m 2"]},
        USER,
    )
    assert query_of(many)["ids"] == "m1,m 2"
    replies = offline.build_request(
        catalog.get("GetReplies"),
        {"parent_id": "p1", "limit": 5, "sort": [{"field": "created_at", "direction": -1}]},
        USER,
    )
    query = query_of(replies)
    assert query["limit"] == "5"
    assert json.loads(query["sort"]) == [{"field": "created_at", "direction": -1}]


def test_query_value_forms() -> None:
    assert query_value(True) == "true"
    assert query_value(False) == "false"
    assert query_value(3) == "3"
    assert query_value(2.5) == "2.5"
    assert query_value(["a", 1]) == "a,1"
    assert query_value({"a": True}) == '{"a":true}'
    with pytest.raises(ValidationError, match=r"^limit: value cannot be sent as JSON"):
        query_value(math.nan, "limit")


async def test_payload_fields_are_one_json_query_parameter(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    request = offline.build_request(
        catalog.get("QueryUsers"),
        {"filter_conditions": {"id": {"$in": ["a", "b"]}}, "presence": True, "limit": 2},
        USER,
    )
    query = query_of(request)
    assert set(query) == {"api_key", "payload"}
    assert json.loads(query["payload"]) == {
        "filter_conditions": {"id": {"$in": ["a", "b"]}},
        "presence": True,
        "limit": 2,
    }
    assert b"%22presence%22%3Atrue" in request.url.raw_path  # JSON true, not Python True


async def test_handmade_bindings_route_every_location(offline: PlannedExecutor) -> None:
    op = op_with(path="/things/{id}")
    tool_input = open_input(
        {
            "id": Binding("path", "id"),
            "verbose": Binding("query", "verbose"),
            "q": Binding("json_query", "q", "payload"),
            "raw": Binding("json_query", "", "options"),
            "body_id": Binding("body", "id"),
            "name": Binding("body", "name"),
        }
    )
    request = offline.build_request(
        op,
        {
            "id": "t1",
            "verbose": False,
            "q": "x",
            "raw": {"a": 1},
            "body_id": "inner",
            "name": None,
        },
        USER,
        tool_input=tool_input,
    )
    assert request.url.raw_path.startswith(b"/things/t1?")
    query = query_of(request)
    assert query["verbose"] == "false"
    assert json.loads(query["payload"]) == {"q": "x"}
    assert json.loads(query["options"]) == {"a": 1}
    # The collision-renamed body field goes out under its wire name; explicit null is kept.
    assert json.loads(request.content) == {"id": "inner", "name": None}


async def test_missing_path_parameter_names_the_argument(offline: PlannedExecutor) -> None:
    op = op_with(path="/things/{id}")
    tool_input = open_input({"thing": Binding("path", "id")})
    with pytest.raises(ValidationError, match=r"^thing: required path parameter is missing$"):
        offline.build_request(op, {}, USER, tool_input=tool_input)


# --------------------------------------------------------------------------- validation


async def test_type_errors_name_the_field_path(offline: PlannedExecutor, catalog: Catalog) -> None:
    with pytest.raises(ValidationError) as caught:
        offline.build_request(
            catalog.get("SendMessage"),
            {"type": "messaging", "id": "general", "message": {"text": 5}},
            USER,
        )
    assert str(caught.value) == "message.text: expected string, got integer"
    assert caught.value.field == "message.text"


async def test_required_enum_and_bounds_messages(offline: PlannedExecutor) -> None:
    op = op_with(path="/things")
    tool_input = ToolInput(
        schema={
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": ["soft", "hard"]},
                "limit": {"type": "integer", "minimum": 0, "maximum": 100},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}},
                        "required": ["id"],
                    },
                },
            },
            "required": ["mode"],
        },
        bindings={n: Binding("body", n) for n in ("mode", "limit", "items")},
    )

    def error(args: dict[str, Any]) -> ValidationError:
        with pytest.raises(ValidationError) as caught:
            offline.build_request(op, args, USER, tool_input=tool_input)
        return caught.value

    assert str(error({})) == "mode: required field is missing"
    assert str(error({"mode": "medium"})) == 'mode: expected one of "soft", "hard", got "medium"'
    assert str(error({"mode": "hard", "limit": 500})) == "limit: expected a number <= 100, got 500"
    assert str(error({"mode": "hard", "limit": True})) == "limit: expected integer, got boolean"
    missing = error({"mode": "hard", "items": [{"id": "a"}, {}]})
    assert str(missing) == "items[1].id: required field is missing"
    assert missing.field == "items[1].id"


async def test_arguments_must_be_an_object(offline: PlannedExecutor, catalog: Catalog) -> None:
    with pytest.raises(ValidationError, match=r"^arguments: expected object, got array$"):
        offline.build_request(catalog.get("GetApp"), [], USER)  # type: ignore[arg-type]


async def test_unknown_argument_suggests_the_right_name(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    with pytest.raises(ValidationError) as caught:
        offline.build_request(
            catalog.get("SendMessage"),
            {"type": "messaging", "id": "general", "mesage": {"text": "hi"}},
            USER,
        )
    assert str(caught.value) == "mesage: unknown argument for SendMessage; did you mean message?"


async def test_non_json_values_are_refused(offline: PlannedExecutor) -> None:
    op = op_with(path="/things")
    tool_input = open_input({"data": Binding("body", "data")})
    with pytest.raises(ValidationError, match=r"^body: value cannot be sent as JSON"):
        offline.build_request(op, {"data": {"x": math.inf}}, USER, tool_input=tool_input)
    with pytest.raises(ValidationError, match=r"^data\.text: not valid Unicode text"):
        offline.build_request(op, {"data": {"text": "\udc00"}}, USER, tool_input=tool_input)


async def test_validation_happens_before_anything_is_sent(catalog: Catalog) -> None:
    with loopback() as server:
        async with make_executor(server.url, catalog) as executor:
            with pytest.raises(ValidationError):
                await executor.execute(
                    catalog.get("SendMessage"),
                    {"type": "messaging", "id": "general", "message": {"text": 1}},
                    USER,
                )
            with pytest.raises(ValidationError, match=r"^select: "):
                await executor.execute(catalog.get("GetApp"), {}, USER, select="app[")
        assert server.count == 0


# --------------------------------------------------------------------------- actors


def test_fill_actors_creates_parents_and_never_overwrites() -> None:
    caller_data = {"name": "x"}
    args: dict[str, Any] = {"data": caller_data, "message": {"user_id": "bob"}}
    fill_actors(args, ("data.created_by_id", "message.user_id", "reaction.user_id"), "alice")
    assert args["data"] == {"name": "x", "created_by_id": "alice"}
    assert caller_data == {"name": "x"}  # the caller's object was copied, not modified
    assert args["message"] == {"user_id": "bob"}
    assert args["reaction"] == {"user_id": "alice"}


def test_fill_actors_respects_the_object_form_and_odd_shapes() -> None:
    args: dict[str, Any] = {
        "data": {"created_by": {"id": "bob"}},
        "message": {"user": {"id": "carol"}},
        "event": "not-an-object",
    }
    fill_actors(args, ("data.created_by_id", "message.user_id", "event.user_id"), "alice")
    assert args["data"] == {"created_by": {"id": "bob"}}
    assert args["message"] == {"user": {"id": "carol"}}
    assert args["event"] == "not-an-object"
    top: dict[str, Any] = {"user_id": None}
    fill_actors(top, ("user_id",), "alice")
    assert top == {"user_id": "alice"}


async def test_actors_are_filled_under_server_auth_only(offline: PlannedExecutor) -> None:
    op = op_with(path="/channels/{id}/query", actors=("data.created_by_id",))
    tool_input = open_input({"id": Binding("path", "id"), "data": Binding("body", "data")})
    server = offline.build_request(op, {"id": "c1"}, SERVER, tool_input=tool_input)
    assert json.loads(server.content) == {"data": {"created_by_id": "alice"}}
    user = offline.build_request(op, {"id": "c1"}, USER, tool_input=tool_input)
    assert json.loads(user.content) == {}
    given = offline.build_request(
        op, {"id": "c1", "data": {"created_by_id": "bob"}}, SERVER, tool_input=tool_input
    )
    assert json.loads(given.content) == {"data": {"created_by_id": "bob"}}


async def test_actors_naming_no_argument_are_ignored(offline: PlannedExecutor) -> None:
    op = op_with(path="/things/{id}", actors=("creator_id", "data.created_by_id"))
    tool_input = open_input({"id": Binding("path", "id")})
    request = offline.build_request(op, {"id": "t1"}, SERVER, tool_input=tool_input)
    assert json.loads(request.content) == {}


async def test_prepare_arguments_leaves_the_input_untouched(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    arguments = {"type": "messaging", "id": "general", "message": {"text": "hi"}}
    prepared = offline.prepare_arguments(catalog.get("SendMessage"), arguments, SERVER)
    assert prepared["message"] == {"text": "hi", "user_id": "alice"}
    assert arguments["message"] == {"text": "hi"}


# --------------------------------------------------------------------------- uploads


def multipart_parts(request: Any) -> dict[str, tuple[dict[str, str], bytes]]:
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    message = email.parser.BytesParser().parsebytes(raw + request.read())
    parts = {}
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        parts[name] = (dict(part.items()), part.get_payload(decode=True))
    return parts


async def test_upload_from_a_data_url_is_multipart(
    offline: PlannedExecutor, catalog: Catalog
) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    request = offline.build_request(
        catalog.get("UploadImage"),
        {"file": data_url, "filename": "logo.png", "upload_sizes": [{"width": 10}]},
        SERVER,
    )
    parts = multipart_parts(request)
    assert set(parts) == {"file", "user", "upload_sizes"}
    headers, payload = parts["file"]
    assert payload == PNG
    assert headers["Content-Type"] == "image/png"
    assert 'filename="logo.png"' in headers["Content-Disposition"]
    assert json.loads(parts["user"][1]) == {"id": "alice"}  # actor user.id filled
    assert json.loads(parts["upload_sizes"][1]) == [{"width": 10}]
    assert "api_key=key-abc" in str(request.url)


async def test_upload_plain_base64_defaults(offline: PlannedExecutor, catalog: Catalog) -> None:
    text = base64.urlsafe_b64encode(b"hello world\xfb\xff").decode().rstrip("=")
    request = offline.build_request(
        catalog.get("UploadChannelFile"),
        {"type": "messaging", "id": "general", "file": text[:8] + "\n" + text[8:]},
        USER,
    )
    headers, payload = multipart_parts(request)["file"]
    assert payload == b"hello world\xfb\xff"
    assert headers["Content-Type"] == "application/octet-stream"
    assert 'filename="upload.bin"' in headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "file: required for uploads (base64 data or a data:<mime>;base64,<data> URL)"),
        ({"file": 12}, "file: expected string, got integer"),
        ({"file": "   "}, "file: expected base64 data, got an empty value"),
        ({"file": "abc$def"}, "file: not valid base64 (unexpected '$' at position 3)"),
        ({"file": "abcde"}, "file: not valid base64 (truncated data)"),
        ({"file": "data:text/plain,hello"}, "file: data URL must be base64-encoded"),
        ({"file": "data:image/png"}, "file: malformed data URL"),
        ({"file": "aGk=", "content_type": "nope"}, "content_type: expected a MIME type"),
        ({"file": "aGk=", "filename": "../etc/passwd"}, "filename: expected a plain file name"),
        ({"file": "aGk=", "content_type": "text/plain"}, "content_type: image uploads need"),
    ],
)
async def test_upload_errors_are_clear(
    offline: PlannedExecutor, catalog: Catalog, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        offline.build_request(catalog.get("UploadImage"), args, USER)
    assert str(caught.value).startswith(message)


async def test_upload_size_limit(catalog: Catalog) -> None:
    executor = planned_executor(
        api_key=API_KEY,
        base_url="http://127.0.0.1:9",
        redactor=Redactor(),
        catalog=catalog,
        settings=Settings(),
        max_upload_bytes=1024,
        trust_env=False,
    )
    async with executor:
        with pytest.raises(ValidationError, match=r"^file: about 2 KiB, over the 1 KiB"):
            executor.build_request(
                catalog.get("UploadFile"), {"file": base64.b64encode(b"x" * 2048).decode()}, USER
            )


# --------------------------------------------------------------------------- responses


def stream_reply(payload: Any, status: int = 200, **headers: str) -> Reply:
    return json_reply(status, payload, **headers)


async def test_result_carries_data_and_metadata(catalog: Catalog) -> None:
    headers = {
        "X_RateLimit_Limit": "1000",
        "X_RateLimit_Remaining": "998",
        "X_RateLimit_Reset": "1700000060",
        "X_Request_Id": "req-42",
    }
    with loopback(lambda _r, _n: stream_reply({"app": {"name": "demo"}}, **headers)) as server:
        async with make_executor(server.url, catalog) as executor:
            result = await executor.execute(catalog.get("GetApp"), {}, USER)
    assert isinstance(result, ExecutionResult)
    assert result.status == 200
    assert result.data == {"app": {"name": "demo"}}
    meta = result.meta
    assert meta["rate_limit"] == {"limit": 1000, "remaining": 998, "reset": 1700000060}
    assert meta["request_id"] == "req-42"
    assert meta["attempts"] == 1
    assert meta["truncated"] is False
    assert meta["operation_id"] == "GetApp"
    assert meta["duration_ms"] >= 0
    assert result.to_dict()["data"] == result.data
    seen = server.requests[0]
    assert seen.headers["authorization"] == TOKEN
    assert ("api_key", API_KEY) in seen.query


async def test_select_projects_the_response(catalog: Catalog) -> None:
    users = {"users": [{"id": "a", "name": "A", "role": "user"}, {"id": "b", "name": "B"}]}
    with loopback(lambda _r, _n: stream_reply(users)) as server:
        async with make_executor(server.url, catalog) as executor:
            result = await executor.execute(
                catalog.get("QueryUsers"),
                {"filter_conditions": {}},
                USER,
                select="users[].id",
            )
    assert result.data == ["a", "b"]


async def test_large_responses_are_cut_with_a_paging_hint(catalog: Catalog) -> None:
    users = {"users": [{"id": f"user-{i}", "bio": "x" * 200} for i in range(400)]}
    with loopback(lambda _r, _n: stream_reply(users)) as server:
        async with make_executor(server.url, catalog, response_token_cap=2000) as executor:
            result = await executor.execute(
                catalog.get("QueryUsers"), {"filter_conditions": {}, "offset": 40}, USER
            )
    assert result.meta["truncated"] is True
    body = json.dumps(result.data, separators=(",", ":"))
    assert len(body.encode()) <= 2000 * 4
    kept = len(result.data["users"])
    assert 0 < kept < 400
    assert result.data["users"][0] == users["users"][0]
    truncation = result.meta["truncation"]
    assert truncation["omitted"] == [{"path": "users", "kind": "items", "kept": kept, "total": 400}]
    assert f"limit={kept}" in truncation["hint"]
    assert f"offset={40 + kept}" in truncation["hint"]


async def test_secrets_are_redacted_from_results(catalog: Catalog) -> None:
    payload = {
        "message": {"text": f"leaked {TOKEN} and {SECRET}"},
        "link": f"https://x.test/?api_key={API_KEY}&a=1",
        "token": "opaque-value",
    }
    with loopback(lambda _r, _n: stream_reply(payload)) as server:
        async with make_executor(server.url, catalog) as executor:
            result = await executor.execute(catalog.get("GetMessage"), {"id": "m1"}, USER)
    dumped = json.dumps(result.to_dict())
    assert TOKEN not in dumped and SECRET not in dumped and API_KEY not in dumped
    assert result.data["token"] == "[redacted]"
    assert result.data["message"]["text"] == "leaked [redacted] and [redacted]"


async def test_stream_error_body_becomes_a_structured_error(catalog: Catalog) -> None:
    error_body = {
        "code": 4,
        "message": f'SendMessage failed with error: "message.text is too long" {SECRET}',
        "StatusCode": 400,
        "duration": "0.50ms",
        "more_info": "https://getstream.io/chat/docs/api_errors_response",
        "exception_fields": {"message.text": "too long"},
    }

    def respond(_r: Recorded, _n: int) -> Reply:
        return stream_reply(error_body, 400, X_Request_Id="req-7")

    with loopback(respond) as server:
        async with make_executor(server.url, catalog) as executor:
            with pytest.raises(StreamAPIError) as caught:
                await executor.execute(
                    catalog.get("SendMessage"),
                    {"type": "messaging", "id": "general", "message": {"text": "hi"}},
                    SERVER,
                )
    error = caught.value
    assert error.code == 4 and error.status == 400 and error.retryable is False
    assert SECRET not in str(error)
    data = error.to_dict()
    assert data["error"] == "stream_api_error"
    assert data["code_name"] == "input error"
    assert data["exception_fields"] == {"message.text": "too long"}
    assert data["request_id"] == "req-7"
    assert "message.text: too long" in data["hint"]
    assert str(error).startswith("Stream error 4 (input error) on SendMessage (POST ")


async def test_unreadable_success_body_is_a_clear_error(catalog: Catalog) -> None:
    def respond(_r: Recorded, _n: int) -> Reply:
        return Reply(200, b"<html>proxy login</html>", {"Content-Type": "text/html"})

    with loopback(respond) as server:
        async with make_executor(server.url, catalog) as executor:
            with pytest.raises(StreamResponseError) as caught:
                await executor.execute(catalog.get("GetApp"), {}, USER)
    message = str(caught.value)
    assert "HTTP 200" in message and "non-JSON body (text/html)" in message
    assert "<html>proxy login</html>" in message
    assert caught.value.retryable is False


async def test_empty_success_body_is_an_empty_object(catalog: Catalog) -> None:
    with loopback(lambda _r, _n: Reply(201, b"")) as server:
        async with make_executor(server.url, catalog) as executor:
            result = await executor.execute(catalog.get("GetApp"), {}, USER)
    assert (result.status, result.data) == (201, {})


async def test_response_size_limit(catalog: Catalog) -> None:
    big = json.dumps({"blob": "x" * 5000}).encode()
    with loopback(lambda _r, _n: Reply(200, big)) as server:
        executor = planned_executor(
            api_key=API_KEY,
            base_url=server.url,
            redactor=Redactor(),
            catalog=catalog,
            settings=Settings(max_retries=0),
            max_response_bytes=4096,
            trust_env=False,
        )
        async with executor:
            with pytest.raises(StreamResponseError, match="larger than"):
                await executor.execute(catalog.get("GetApp"), {}, USER)


async def test_failure_logs_carry_no_secrets(catalog: Catalog) -> None:
    body = {"code": 5, "message": f"bad auth {TOKEN} api_key={API_KEY} {SECRET}"}
    with loopback(lambda _r, _n: stream_reply(body, 401)) as server:
        async with make_executor(server.url, catalog) as executor:
            with structlog.testing.capture_logs() as logs, pytest.raises(StreamAPIError):
                await executor.execute(catalog.get("GetApp"), {}, SERVER)
    assert logs, "a failed call is logged"
    dumped = json.dumps(logs, default=str)
    assert TOKEN not in dumped and SECRET not in dumped and API_KEY not in dumped
    assert logs[-1]["event"] == "stream.call_failed" and logs[-1]["status"] == 401


# --------------------------------------------------------------------------- setup


@pytest.mark.parametrize("base_url", ["", "ftp://x", "chat.stream-io-api.com", "http://h/?q=1"])
def test_bad_base_url_is_a_config_error(base_url: str) -> None:
    with pytest.raises(ConfigError, match=r"^base_url: "):
        planned_executor(
            api_key=API_KEY, base_url=base_url, redactor=Redactor(), settings=Settings()
        )


def test_missing_api_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^api_key: "):
        planned_executor(
            api_key=" ", base_url="https://x.test", redactor=Redactor(), settings=Settings()
        )


def test_plans_compile_each_operation_once_and_follow_a_new_catalog(catalog: Catalog) -> None:
    plans = Plans(catalog)
    op = catalog.get("SendMessage")
    first = plans.get(op)
    assert plans.get(op) is first and first.op is op
    assert first.paging == () and first.where == f"SendMessage (POST {op.path})"
    reloaded = Operation.from_dict(op.to_dict())  # the same id, a new catalog's operation
    assert plans.get(reloaded) is not first and plans.get(reloaded).op is reloaded


async def test_errors_are_always_stream_mcp_errors(catalog: Catalog) -> None:
    """Even an unreachable host surfaces as our error type, with a JSON-safe to_dict()."""
    async with make_executor(closed_port_url(), catalog) as executor:
        with pytest.raises(StreamMCPError) as caught:
            await executor.execute(catalog.get("GetApp"), {}, USER)
    assert caught.value.kind == "network_error"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    json.dumps(caught.value.to_dict())


def test_a_plain_http_base_loads_no_trust_store_and_an_https_one_uses_the_systems() -> None:
    """The sandbox's executor skips the ~30 ms trust-store load, yet fails closed: its context
    demands a certificate chain and trusts no authority, so no TLS peer could ever pass."""
    from stream_mcp.execution._executor import _verification

    assert _verification("https://chat.stream-io-api.com") is True
    assert _verification("HTTPS://chat.stream-io-api.com/") is True
    for base in ("http://127.0.0.1:3030", "http://localhost:8080/api"):
        context = _verification(base)
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0
        assert context.get_ca_certs() == []
