"""Wire compatibility: our request equals the official ``stream-chat`` SDK's, operation by
operation.

Both clients talk to the same loopback capture server over a real socket (the SDK sends with
``requests``, we send with httpx2). For each action we compare the method, the raw path, the
query (``payload`` decoded as JSON), the body (JSON, or the multipart fields and file), the
auth headers' shape and the decoded token claims. The SDK signs ``{"server": true}``; our side
uses server auth with a token from the product's own :class:`~stream_mcp.auth.credentials.Signer`.

The SDK speaks Stream's v1 API and we speak v2, whose paths are v1's behind ``/api/v2`` (chat
ones behind ``/api/v2/chat``): our raw path must be the SDK's behind the prefix that Stream's
operation list gives for that operation. Actions whose v2 request changed (Unban, Flag) have
no v1 reference here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from stream_chat import StreamChat

from stream_mcp import __version__
from stream_mcp.auth.credentials import AuthDecision, Signer
from stream_mcp.catalog._build import Catalog
from stream_mcp.config import Settings
from stream_mcp.observability.redact import Redactor
from tests.conftest import v1_routes
from tests.planned import planned_executor
from tests.test_executor_helpers import (
    LoopbackServer,
    Recorded,
    body_view,
    json_reply,
    only_once,
    query_view,
)

API_KEY = "wirekey"
SECRET = "wire-secret-for-tests-0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
# Answers the SDK can parse for every call (it reads ``channel.id`` and ``members``).
PLAUSIBLE = {"duration": "1.00ms", "channel": {"id": "general"}, "members": []}


@dataclass(frozen=True)
class Case:
    """One action done both ways. Known, intended differences are declared and asserted:

    ``ours_only``: body fields only we send: actor attribution under server auth, where the
    SDK method has no way to name the acting user. ``sdk_only``: body fields only the SDK
    sends: client-side options at Stream's default value that the server-side spec lacks.
    """

    name: str
    sdk: Callable[[StreamChat], Any]
    operation_id: str
    arguments: dict[str, Any]
    ours_only: Mapping[str, Any] = field(default_factory=dict)
    sdk_only: Mapping[str, Any] = field(default_factory=dict)


def _ch(client: StreamChat) -> Any:
    return client.channel("messaging", "general")


@pytest.fixture(scope="module")
def upload_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wire") / "pixel.png"
    path.write_bytes(PNG)
    return path


def cases(upload: Path) -> list[Case]:
    data_url = "data:image/png;base64," + __import__("base64").b64encode(PNG).decode()
    u1 = {"id": "u1"}
    return [
        Case(
            "send_message",
            lambda c: _ch(c).send_message({"text": "hello"}, "u1", skip_push=True),
            "SendMessage",
            {
                "type": "messaging",
                "id": "general",
                "message": {"text": "hello", "user": u1},
                "skip_push": True,
            },
        ),
        Case(
            "update_message_partial",
            lambda c: c.update_message_partial(
                "m1", {"set": {"text": "edited"}, "unset": ["color"]}, "u1"
            ),
            "UpdateMessagePartial",
            {"id": "m1", "set": {"text": "edited"}, "unset": ["color"], "user": u1},
        ),
        Case(
            "delete_message_hard",
            lambda c: c.delete_message("m1", hard=True, deleted_by="u1"),
            "DeleteMessage",
            {"id": "m1", "hard": True, "deleted_by": "u1"},
        ),
        Case(
            "get_message",
            lambda c: c.get_message("m1", show_deleted_message=True),
            "GetMessage",
            {"id": "m1", "show_deleted_message": True},
        ),
        Case(
            "query_users",
            lambda c: c.query_users(
                {"id": {"$in": ["u1", "u2"]}},
                [{"last_active": -1}],
                limit=5,
                presence=True,
                user_id="u1",
            ),
            "QueryUsers",
            {
                "filter_conditions": {"id": {"$in": ["u1", "u2"]}},
                "sort": [{"field": "last_active", "direction": -1}],
                "limit": 5,
                "presence": True,
                "user_id": "u1",
            },
        ),
        Case(
            "query_channels",
            lambda c: c.query_channels(
                {"members": {"$in": ["u1"]}}, [{"last_message_at": -1}], limit=10, user_id="u1"
            ),
            "QueryChannels",
            {
                "filter_conditions": {"members": {"$in": ["u1"]}},
                "sort": [{"field": "last_message_at", "direction": -1}],
                "limit": 10,
                "state": True,
                "user_id": "u1",
            },
            sdk_only={"watch": False, "presence": False},
        ),
        Case(
            "channel_create",
            lambda c: _ch(c).create("u1"),
            "GetOrCreateChannel",
            {
                "type": "messaging",
                "id": "general",
                "data": {"created_by": u1},
                "state": False,
            },
            sdk_only={"watch": False, "presence": False},
        ),
        Case(
            "channel_update",
            lambda c: _ch(c).update({"color": "blue"}, {"text": "recolored", "user_id": "u1"}),
            "UpdateChannel",
            {
                "type": "messaging",
                "id": "general",
                "data": {"color": "blue"},
                "message": {"text": "recolored", "user_id": "u1"},
            },
            ours_only={"user_id": "u1"},
        ),
        Case(
            "channel_update_partial",
            lambda c: _ch(c).update_partial({"color": "red"}, ["topic"]),
            "UpdateChannelPartial",
            {"type": "messaging", "id": "general", "set": {"color": "red"}, "unset": ["topic"]},
            ours_only={"user_id": "u1"},
        ),
        Case(
            "add_members",
            lambda c: _ch(c).add_members(
                [{"user_id": "u2"}], {"text": "welcome", "user_id": "u1"}, user_id="u1"
            ),
            "UpdateChannel",
            {
                "type": "messaging",
                "id": "general",
                "add_members": [{"user_id": "u2"}],
                "message": {"text": "welcome", "user_id": "u1"},
                "user_id": "u1",
            },
        ),
        Case(
            "truncate",
            lambda c: _ch(c).truncate(hard_delete=True, skip_push=True, user_id="u1"),
            "TruncateChannel",
            {
                "type": "messaging",
                "id": "general",
                "hard_delete": True,
                "skip_push": True,
                "user_id": "u1",
            },
        ),
        Case(
            "delete_channel_hard",
            lambda c: _ch(c).delete(hard=True),
            "DeleteChannel",
            {"type": "messaging", "id": "general", "hard_delete": True},
        ),
        Case(
            "get_messages_by_id",
            lambda c: _ch(c).get_messages(["m1", "m2"]),
            "GetManyMessages",
            {"type": "messaging", "id": "general", "ids": ["m1", "m2"]},
        ),
        Case(
            "mark_read",
            lambda c: _ch(c).mark_read("u1"),
            "MarkRead",
            {"type": "messaging", "id": "general", "user": u1},
        ),
        Case(
            "hide_channel",
            lambda c: _ch(c).hide("u1"),
            "HideChannel",
            {"type": "messaging", "id": "general", "user_id": "u1"},
        ),
        Case(
            "send_event",
            lambda c: _ch(c).send_event({"type": "typing.start"}, "u1"),
            "SendEvent",
            {"type": "messaging", "id": "general", "event": {"type": "typing.start", "user": u1}},
        ),
        Case(
            "send_reaction",
            lambda c: _ch(c).send_reaction("m1", {"type": "love"}, "u1"),
            "SendReaction",
            {"id": "m1", "reaction": {"type": "love", "user": u1}},
        ),
        Case(
            "delete_reaction",
            lambda c: _ch(c).delete_reaction("m1", "love", "u1"),
            "DeleteReaction",
            {"id": "m1", "type": "love", "user_id": "u1"},
        ),
        Case(
            "get_replies",
            lambda c: _ch(c).get_replies("m1", limit=10, id_lt="m0"),
            "GetReplies",
            {"parent_id": "m1", "limit": 10, "id_lt": "m0"},
        ),
        Case(
            "search",
            lambda c: c.search({"members": {"$in": ["u1"]}}, "hello", limit=2, offset=4),
            "Search",
            {
                "filter_conditions": {"members": {"$in": ["u1"]}},
                "query": "hello",
                "limit": 2,
                "offset": 4,
            },
        ),
        Case(
            "query_members",
            lambda c: _ch(c).query_members(
                {"name": {"$autocomplete": "ja"}}, limit=10, user_id="u1"
            ),
            "QueryMembers",
            {
                "type": "messaging",
                "id": "general",
                "filter_conditions": {"name": {"$autocomplete": "ja"}},
                "sort": [],
                "limit": 10,
                "user_id": "u1",
            },
        ),
        Case(
            "query_banned_users",
            lambda c: c.query_banned_users(
                {
                    "filter_conditions": {"channel_cid": "messaging:general"},
                    "limit": 5,
                    "user_id": "u1",
                }
            ),
            "QueryBannedUsers",
            {
                "filter_conditions": {"channel_cid": "messaging:general"},
                "limit": 5,
                "user_id": "u1",
            },
        ),
        Case(
            "ban_user",
            lambda c: c.ban_user("u2", banned_by_id="u1", reason="spam", timeout=60),
            "ban",
            {"target_user_id": "u2", "banned_by_id": "u1", "reason": "spam", "timeout": 60},
        ),
        Case(
            "mute_users",
            lambda c: c.mute_users(["u2", "u3"], "u1", timeout=30),
            "mute",
            {"target_ids": ["u2", "u3"], "user_id": "u1", "timeout": 30},
        ),
        Case(
            "upsert_users",
            lambda c: c.upsert_users([{"id": "u1", "role": "user", "name": "Ann"}]),
            "UpdateUsers",
            {"users": {"u1": {"id": "u1", "role": "user", "name": "Ann"}}},
        ),
        Case(
            "update_user_partial",
            lambda c: c.update_user_partial({"id": "u1", "set": {"name": "Bo"}, "unset": ["x"]}),
            "UpdateUsersPartial",
            {"users": [{"id": "u1", "set": {"name": "Bo"}, "unset": ["x"]}]},
        ),
        Case(
            "deactivate_user",
            lambda c: c.deactivate_user("u1", mark_messages_deleted=True, created_by_id="u9"),
            "DeactivateUser",
            {"user_id": "u1", "mark_messages_deleted": True, "created_by_id": "u9"},
        ),
        Case(
            "delete_users",
            lambda c: c.delete_users(["u1", "u2"], "hard", messages="hard"),
            "DeleteUsers",
            {"user_ids": ["u1", "u2"], "user": "hard", "messages": "hard"},
        ),
        Case(
            "create_blocklist",
            lambda c: c.create_blocklist("rude", ["foo", "bar"]),
            "CreateBlockList",
            {"name": "rude", "words": ["foo", "bar"], "type": "word"},
            ours_only={"user_id": "u1"},
        ),
        Case("get_app_settings", lambda c: c.get_app_settings(), "GetApp", {}),
        Case(
            "get_rate_limits",
            lambda c: c.get_rate_limits(server_side=True, endpoints=["QueryChannels", "Search"]),
            "GetRateLimits",
            {"server_side": True, "endpoints": "QueryChannels,Search"},
        ),
        Case(
            "upload_channel_image",
            lambda c: _ch(c).send_image(str(upload), "pixel.png", u1, "image/png"),
            "UploadChannelImage",
            {
                "type": "messaging",
                "id": "general",
                "file": data_url,
                "filename": "pixel.png",
                "user": u1,
            },
        ),
        Case(
            "upload_file",
            lambda c: c.send_file("uploads/file", str(upload), "notes.bin", u1, "text/plain"),
            "UploadFile",
            {
                "file": data_url.split(",", 1)[1],
                "filename": "notes.bin",
                "content_type": "text/plain",
                "user": u1,
            },
        ),
    ]


CASE_NAMES = [case.name for case in cases(Path("unused"))]


@pytest.fixture(scope="module")
def capture() -> Iterator[LoopbackServer]:
    server = LoopbackServer(lambda _r, _n: json_reply(200, PLAUSIBLE)).start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- comparison


def claims(request: Recorded) -> dict[str, Any]:
    token = request.headers["authorization"]
    assert not token.lower().startswith("bearer"), "Stream takes the raw JWT"
    assert token.count(".") == 2
    return jwt.decode(token, SECRET, algorithms=["HS256"])


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_request_matches_the_official_sdk(
    name: str, capture: LoopbackServer, catalog: Catalog, upload_file: Path
) -> None:
    case = next(c for c in cases(upload_file) if c.name == name)
    sdk = StreamChat(API_KEY, SECRET, base_url=capture.url)
    before = capture.count
    case.sdk(sdk)
    theirs = only_once(capture, before)

    signer = Signer(SECRET)
    auth = AuthDecision(mode="server", acting_user="u1", token=signer.sign_server(300))
    executor = planned_executor(
        api_key=API_KEY,
        base_url=capture.url,
        redactor=signer.redactor(Redactor()),
        catalog=catalog,
        settings=Settings(max_retries=0),
        trust_env=False,
    )
    async with executor:
        before = capture.count
        result = await executor.execute(catalog.get(case.operation_id), case.arguments, auth)
        ours = only_once(capture, before)
    assert result.status == 200

    op = catalog.get(case.operation_id)
    v1_method, v1_path = v1_routes()[case.operation_id]
    assert ours.method == op.method == v1_method == theirs.method
    prefix = op.path.removesuffix(v1_path)
    assert prefix in ("/api/v2", "/api/v2/chat") and op.path == prefix + v1_path
    assert ours.raw_path == prefix + theirs.raw_path
    assert query_view(ours) == query_view(theirs)
    our_body, their_body = body_view(ours), body_view(theirs)
    for key, value in case.ours_only.items():
        assert our_body.pop(key) == value
    for key, value in case.sdk_only.items():
        assert their_body.pop(key) == value
    assert our_body == their_body
    assert ours.headers["stream-auth-type"] == theirs.headers["stream-auth-type"] == "jwt"
    assert ours.headers["x-stream-client"] == f"stream-mcp-{__version__}"
    assert theirs.headers["x-stream-client"].startswith("stream-python-client-")
    ours_claims, their_claims = claims(ours), claims(theirs)
    assert their_claims == {"server": True}
    assert ours_claims["server"] is True and "user_id" not in ours_claims
    assert set(ours_claims) <= {"server", "iat", "exp"}


def test_enough_operations_are_compared() -> None:
    ops = {case.operation_id for case in cases(Path("unused"))}
    assert len(CASE_NAMES) >= 30 and len(ops) >= 30
