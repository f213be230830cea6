"""Property tests: whatever the ids, query values and bodies, the request says what was meant.

* a path parameter always stays exactly one path segment, and decoding the built URL's path
  gives back the original id (also as seen by a real server on loopback);
* query values and the JSON ``payload`` round-trip through the query string;
* JSON bodies round-trip byte-for-meaning;
* anything refused is refused with a ValidationError naming the argument, never a crash.
"""

from __future__ import annotations

import asyncio
import json
import string
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_mcp.catalog._build import Param
from stream_mcp.catalog.schemas import Binding, ToolInput
from stream_mcp.config import Settings
from stream_mcp.errors import ValidationError
from stream_mcp.execution._encoding import query_value
from stream_mcp.observability.redact import Redactor
from tests.factories import make_operation
from tests.planned import PlannedExecutor, planned_executor
from tests.test_executor_helpers import Auth, LoopbackServer, json_reply

AUTH = Auth("user", "alice", "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ.c2ln")
LOOPBACK = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

UNRESERVED_OR_ESCAPE = frozenset(string.ascii_letters + string.digits + "-._~%")
# Ids: any text at all, plus the characters most likely to break out of a path segment.
NASTY = st.sampled_from(["/", "..", ".", "%", "%2F", "%2e", "?", "#", "\\", ";", " ", "\x00"])
IDS = st.one_of(
    st.text(),
    st.lists(st.one_of(NASTY, st.text(max_size=3)), max_size=6).map("".join),
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)
JSON = st.recursive(
    st.one_of(st.none(), SCALARS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

TWO_IDS = make_operation(
    "GetPart",
    path="/things/{type}/{id}/parts",
    params=(
        Param("type", "path", {"type": "string"}, True),
        Param("id", "path", {"type": "string"}, True),
    ),
)
TWO_IDS_INPUT = ToolInput(
    schema={
        "type": "object",
        "properties": {"type": {"type": "string"}, "id": {"type": "string"}},
        "required": ["type", "id"],
    },
    bindings={"type": Binding("path", "type"), "id": Binding("path", "id")},
)
OPEN_OP = make_operation("PostThing", method="POST", path="/things")
OPEN_INPUT = ToolInput(
    schema={"type": "object"},
    bindings={
        "flag": Binding("query", "flag"),
        "filter": Binding("json_query", "filter", "payload"),
        "limit": Binding("json_query", "limit", "payload"),
        "data": Binding("body", "data"),
        "extra": Binding("body", "extra"),
    },
)


@pytest.fixture(scope="module")
def executor() -> Iterator[PlannedExecutor]:
    instance = planned_executor(
        api_key="key",
        base_url="http://127.0.0.1:9/base",
        redactor=Redactor(),
        settings=Settings(),
        trust_env=False,
    )
    yield instance
    asyncio.run(instance.aclose())


def refused_reason(value: str) -> bool:
    """The documented reasons an id is refused."""
    if value in ("", ".", ".."):
        return True
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    # URL syntax, whitespace, invisible and direction-changing characters: no Stream id has them.
    return any(
        ch in "/\\?#%" or ch.isspace() or unicodedata.category(ch) in ("Cf", "Zl", "Zp", "Zs")
        for ch in value
    )


@given(type_=IDS, id_=IDS)
def test_path_ids_never_escape_and_round_trip(
    executor: PlannedExecutor, type_: str, id_: str
) -> None:
    args = {"type": type_, "id": id_}
    try:
        request = executor.build_request(TWO_IDS, args, AUTH, tool_input=TWO_IDS_INPUT)
    except ValidationError as exc:
        bad = "type" if refused_reason(type_) else "id"
        assert exc.field == bad and str(exc).startswith(f"{bad}: ")
        assert refused_reason(args[bad])
        return
    assert not refused_reason(type_) and not refused_reason(id_)
    raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
    segments = raw_path.split("/")
    assert segments[:3] == ["", "base", "things"] and segments[5] == "parts"
    assert len(segments) == 6, raw_path
    assert unquote(segments[3], errors="strict") == type_
    assert unquote(segments[4], errors="strict") == id_
    # Only unreserved characters and escapes remain: nothing a server could normalise.
    for segment in segments[3:5]:
        assert set(segment) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"
        )
        assert segment not in (".", "..")
    assert request.url.host == "127.0.0.1"
    assert dict(parse_qsl(urlsplit(str(request.url)).query)) == {"api_key": "key"}


@given(flag=st.one_of(SCALARS, st.lists(SCALARS, max_size=4)), filter_=JSON, limit=SCALARS)
def test_query_and_payload_round_trip(
    executor: PlannedExecutor, flag: Any, filter_: Any, limit: Any
) -> None:
    args = {"flag": flag, "filter": filter_, "limit": limit}
    try:
        request = executor.build_request(OPEN_OP, args, AUTH, tool_input=OPEN_INPUT)
    except ValidationError as exc:
        assert exc.field in ("flag", "filter", "limit") or exc.field.startswith(("flag[", "filter"))
        assert "lone surrogate" in str(exc)
        return
    query = parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True, errors="strict")
    names = [name for name, _ in query]
    assert names.count("api_key") == 1 and names.count("payload") == 1
    values = dict(query)
    assert values["flag"] == query_value(flag)
    if isinstance(flag, bool):
        assert values["flag"] == ("true" if flag else "false")
    payload = json.loads(values["payload"])
    expected = {k: v for k, v in (("filter", filter_), ("limit", limit)) if v is not None}
    assert payload == expected


@given(data=JSON, extra=JSON)
def test_json_bodies_round_trip(executor: PlannedExecutor, data: Any, extra: Any) -> None:
    try:
        request = executor.build_request(
            OPEN_OP, {"data": data, "extra": extra}, AUTH, tool_input=OPEN_INPUT
        )
    except ValidationError as exc:
        assert exc.field.startswith(("data", "extra")) and "lone surrogate" in str(exc)
        return
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content.decode("utf-8")) == {"data": data, "extra": extra}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer(lambda _r, _n: json_reply(200, {})).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def echo_executor(
    echo_server: LoopbackServer,
) -> Iterator[tuple[asyncio.Runner, PlannedExecutor]]:
    """One executor and event loop for every example (an HTTP client costs ~50 ms to make)."""
    with asyncio.Runner() as runner:
        executor = planned_executor(
            api_key="key",
            base_url=echo_server.url,
            redactor=Redactor(),
            settings=Settings(max_retries=0),
            trust_env=False,
        )
        try:
            yield runner, executor
        finally:
            runner.run(executor.aclose())


@LOOPBACK
@given(type_=IDS, id_=IDS)
def test_server_sees_the_original_ids(
    echo_server: LoopbackServer,
    echo_executor: tuple[asyncio.Runner, PlannedExecutor],
    type_: str,
    id_: str,
) -> None:
    """The same property through a real socket: what the server decodes is what we meant."""
    runner, executor = echo_executor
    before = echo_server.count
    try:
        runner.run(
            executor.execute(TWO_IDS, {"type": type_, "id": id_}, AUTH, tool_input=TWO_IDS_INPUT)
        )
    except ValidationError:
        assert refused_reason(type_) or refused_reason(id_)
        assert echo_server.count == before
        return
    seen = echo_server.requests[before]
    segments = seen.raw_path.split("/")
    assert len(segments) == 5 and segments[1] == "things" and segments[4] == "parts"
    assert [unquote(s, errors="strict") for s in segments[2:4]] == [type_, id_]
