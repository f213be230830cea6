"""User-token permissions and server-side actor rules, over a real loopback socket.

The SDK always signs server tokens, so these tests speak HTTP directly with httpx2 and sign
user tokens with the app secret, as a client app's backend would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from stream_mcp.sandbox import Sandbox
from tests.e2e import TLS
from tests.sandbox_helpers import auth_headers, now, server_token, uid, user_token


class Api:
    """A tiny Stream REST client that can act as the server or as any user."""

    def __init__(self, sandbox: Sandbox, http: httpx2.Client) -> None:
        self.sandbox = sandbox
        self.http = http

    def call(
        self,
        method: str,
        path: str,
        *,
        as_user: str | None = None,
        json_body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> httpx2.Response:
        secret = self.sandbox.api_secret
        if token is None:
            token = user_token(secret, as_user) if as_user else server_token(secret)
        query = {"api_key": self.sandbox.api_key, **(params or {})}
        return self.http.request(
            method, path, params=query, json=json_body, headers=auth_headers(token)
        )

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()


def assert_error(response: httpx2.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["StatusCode"] == status
    return body


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with (
        Sandbox() as sandbox,
        httpx2.Client(base_url=sandbox.base_url, timeout=10, verify=TLS) as http,
    ):
        yield Api(sandbox, http)


@pytest.fixture
def people(api: Api) -> dict[str, str]:
    names = {name: uid(name) for name in ("owner", "member", "outsider", "admin")}
    users = {uid_: {"id": uid_} for uid_ in names.values()}
    users[names["admin"]]["role"] = "admin"
    api.ok("POST", "/users", json_body={"users": users})
    return names


@pytest.fixture
def room(api: Api, people: dict[str, str]) -> str:
    """A messaging channel created by the owner with the member; returns its path."""
    channel_id = uid("room")
    api.ok(
        "POST",
        f"/channels/messaging/{channel_id}/query",
        as_user=people["owner"],
        json_body={"data": {"members": [people["owner"], people["member"]]}},
    )
    return f"/channels/messaging/{channel_id}"


def send(api: Api, room: str, user: str, text: str) -> httpx2.Response:
    return api.call("POST", f"{room}/message", as_user=user, json_body={"message": {"text": text}})


def test_member_reads_and_writes_the_channel(api: Api, people: dict[str, str], room: str) -> None:
    assert send(api, room, people["owner"], "hello").status_code == 201
    state = api.ok("POST", f"{room}/query", as_user=people["member"], json_body={})
    assert [m["text"] for m in state["messages"]] == ["hello"]
    assert state["membership"]["user_id"] == people["member"]
    reply = send(api, room, people["member"], "hi back").json()
    assert reply["message"]["user"]["id"] == people["member"]


def test_non_member_is_refused_with_code_17(api: Api, people: dict[str, str], room: str) -> None:
    body = assert_error(
        api.call("POST", f"{room}/query", as_user=people["outsider"], json_body={}), 403, 17
    )
    assert "ReadChannel" in body["message"]
    assert body["message"].startswith("GetOrCreateChannel failed with error:")
    assert_error(send(api, room, people["outsider"], "let me in"), 403, 17)
    listed = api.ok("POST", "/channels", as_user=people["outsider"], json_body={})
    assert all(c["channel"]["cid"] != room.split("/", 2)[2] for c in listed["channels"])


def test_query_channels_only_lists_the_users_channels(
    api: Api, people: dict[str, str], room: str
) -> None:
    cid = "messaging:" + room.rsplit("/", 1)[1]
    mine = api.ok(
        "POST", "/channels", as_user=people["member"], json_body={"filter_conditions": {"cid": cid}}
    )
    assert [c["channel"]["cid"] for c in mine["channels"]] == [cid]
    theirs = api.ok(
        "POST",
        "/channels",
        as_user=people["outsider"],
        json_body={"filter_conditions": {"cid": cid}},
    )
    assert theirs["channels"] == []


def test_banned_user_cannot_post(api: Api, people: dict[str, str], room: str) -> None:
    member = people["member"]
    api.ok("POST", "/moderation/ban", json_body={"target_user_id": member})
    body = assert_error(send(api, room, member, "still here?"), 403, 17)
    assert "banned" in body["message"]
    api.ok("DELETE", "/moderation/ban", params={"target_user_id": member})
    assert send(api, room, member, "back").status_code == 201

    cid = "messaging:" + room.rsplit("/", 1)[1]
    api.ok("POST", "/moderation/ban", json_body={"target_user_id": member, "channel_cid": cid})
    assert_error(send(api, room, member, "channel ban"), 403, 17)


def test_server_only_operations_refuse_user_tokens(api: Api, people: dict[str, str]) -> None:
    member = people["member"]
    for method, path, body in (
        ("POST", f"/users/{member}/deactivate", {}),
        ("POST", "/users/delete", {"user_ids": [member]}),
        ("GET", "/blocklists/anything", None),
        ("POST", "/campaigns/query", {}),
    ):
        error = assert_error(api.call(method, path, as_user=member, json_body=body), 403, 17)
        assert "server-side only" in error["message"]


def test_users_edit_and_delete_only_their_own_messages(
    api: Api, people: dict[str, str], room: str
) -> None:
    message_id = send(api, room, people["owner"], "mine").json()["message"]["id"]
    path = f"/messages/{message_id}"
    member = people["member"]
    assert_error(
        api.call("POST", path, as_user=member, json_body={"message": {"text": "hijacked"}}),
        403,
        17,
    )
    assert_error(
        api.call("PUT", path, as_user=member, json_body={"set": {"text": "hijacked"}}), 403, 17
    )
    assert_error(api.call("DELETE", path, as_user=member), 403, 17)

    edited = api.ok(
        "POST", path, as_user=people["owner"], json_body={"message": {"text": "edited"}}
    )
    assert edited["message"]["text"] == "edited"
    pinned = api.ok("PUT", path, as_user=member, json_body={"set": {"pinned": True}})
    assert pinned["message"]["pinned_by"]["id"] == member


def test_admin_moderates_and_channel_moderator_bans_in_channel(
    api: Api, people: dict[str, str], room: str
) -> None:
    message_id = send(api, room, people["member"], "spam").json()["message"]["id"]
    deleted = api.ok("DELETE", f"/messages/{message_id}", as_user=people["admin"])
    assert deleted["message"]["type"] == "deleted"

    cid = "messaging:" + room.rsplit("/", 1)[1]
    outsider, member = people["outsider"], people["member"]
    api.ok("POST", room, json_body={"add_members": [outsider], "add_moderators": []})
    assert_error(
        api.call(
            "POST",
            "/moderation/ban",
            as_user=member,
            json_body={"target_user_id": outsider, "channel_cid": cid},
        ),
        403,
        17,
    )
    api.ok("POST", room, json_body={"add_moderators": [member]})
    api.ok(
        "POST",
        "/moderation/ban",
        as_user=member,
        json_body={"target_user_id": outsider, "channel_cid": cid},
    )
    assert_error(
        api.call("POST", "/moderation/ban", as_user=member, json_body={"target_user_id": outsider}),
        403,
        17,
    )
    api.ok(
        "POST", "/moderation/ban", as_user=people["admin"], json_body={"target_user_id": outsider}
    )


def test_user_token_cannot_act_for_someone_else(
    api: Api, people: dict[str, str], room: str
) -> None:
    response = api.call(
        "POST",
        f"{room}/message",
        as_user=people["member"],
        json_body={"message": {"text": "forged", "user_id": people["owner"]}},
    )
    assert_error(response, 403, 17)


def test_user_token_updates_itself_but_not_its_role(api: Api, people: dict[str, str]) -> None:
    member = people["member"]
    renamed = api.ok(
        "POST", "/users", as_user=member, json_body={"users": {member: {"id": member, "name": "M"}}}
    )
    assert renamed["users"][member]["name"] == "M"
    assert_error(
        api.call(
            "POST",
            "/users",
            as_user=member,
            json_body={"users": {member: {"id": member, "role": "admin"}}},
        ),
        403,
        17,
    )
    assert_error(
        api.call(
            "PATCH",
            "/users",
            as_user=member,
            json_body={"users": [{"id": people["owner"], "set": {"name": "x"}}]},
        ),
        403,
        17,
    )


def test_unknown_user_token_creates_the_user(api: Api) -> None:
    newcomer = uid("newcomer")
    api.ok("GET", "/app", as_user=newcomer)
    payload = json.dumps({"filter_conditions": {"id": newcomer}})
    users = api.ok("GET", "/users", params={"payload": payload})["users"]
    assert [(u["id"], u["role"]) for u in users] == [(newcomer, "user")]
    assert users[0]["last_active"]


def test_frozen_channel_refuses_user_messages(api: Api, people: dict[str, str], room: str) -> None:
    api.ok("PATCH", room, json_body={"set": {"frozen": True}})
    body = assert_error(send(api, room, people["member"], "ice"), 403, 17)
    assert "frozen" in body["message"]


def test_shadow_banned_messages_are_hidden_from_others(
    api: Api, people: dict[str, str], room: str
) -> None:
    member = people["member"]
    api.ok("POST", "/moderation/ban", json_body={"target_user_id": member, "shadow": True})
    sent = send(api, room, member, "can anyone hear me").json()["message"]
    assert sent["shadowed"] is True
    own_view = api.ok("POST", f"{room}/query", as_user=member, json_body={})
    assert [m["text"] for m in own_view["messages"]] == ["can anyone hear me"]
    owner_view = api.ok("POST", f"{room}/query", as_user=people["owner"], json_body={})
    assert owner_view["messages"] == []
    assert_error(api.call("GET", f"/messages/{sent['id']}", as_user=people["owner"]), 404, 16)


def test_revoked_and_deactivated_users_are_refused(api: Api, people: dict[str, str]) -> None:
    member = people["member"]
    old_token = user_token(api.sandbox.api_secret, member, iat=now() - 600)
    assert api.call("GET", "/app", token=old_token).status_code == 200
    api.ok(
        "PATCH",
        "/users",
        json_body={"users": [{"id": member, "set": {"revoke_tokens_issued_before": _iso(-60)}}]},
    )
    assert_error(api.call("GET", "/app", token=old_token), 401, 42)
    fresh = user_token(api.sandbox.api_secret, member, iat=now())
    assert api.call("GET", "/app", token=fresh).status_code == 200

    api.ok("POST", f"/users/{member}/deactivate", json_body={})
    assert_error(api.call("GET", "/app", token=fresh), 401, 5)


def _iso(offset_seconds: int) -> str:
    import datetime

    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=offset_seconds)
    return moment.isoformat()


# -- server-side actor rules ----------------------------------------------------------------


def test_server_side_calls_must_name_the_acting_user(
    api: Api, people: dict[str, str], room: str
) -> None:
    body = assert_error(
        api.call("POST", f"/channels/messaging/{uid('c')}/query", json_body={"data": {}}), 400, 4
    )
    assert (
        "either data.created_by or data.created_by_id must be provided when using server side auth"
        in body["message"]
    )
    body = assert_error(
        api.call("POST", f"{room}/message", json_body={"message": {"text": "who?"}}), 400, 4
    )
    assert "message.user" in body["message"]

    message_id = send(api, room, people["owner"], "react to me").json()["message"]["id"]
    body = assert_error(
        api.call(
            "POST", f"/messages/{message_id}/reaction", json_body={"reaction": {"type": "like"}}
        ),
        400,
        4,
    )
    assert "reaction.user_id" in body["message"]
    body = assert_error(api.call("DELETE", f"/messages/{message_id}/reaction/like"), 400, 4)
    assert "user_id" in body["message"]

    api.ok(
        "POST",
        f"/messages/{message_id}/reaction",
        json_body={"reaction": {"type": "like", "user_id": people["member"]}},
    )
    removed = api.ok(
        "DELETE", f"/messages/{message_id}/reaction/like", params={"user_id": people["member"]}
    )
    assert removed["message"]["reaction_counts"] == {}


def test_server_side_actor_is_created_on_the_fly(api: Api, room: str) -> None:
    author = uid("author")
    sent = api.ok(
        "POST",
        f"{room}/message",
        json_body={"message": {"text": "hi", "user": {"id": author, "name": "Auto"}}},
    )
    assert sent["message"]["user"]["name"] == "Auto"
    assert sent["message"]["user"]["role"] == "user"
