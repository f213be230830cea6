"""Acting as a user Stream does not know says so, instead of Stream's bare "not allowed"."""

from __future__ import annotations

from typing import Any

import pytest

from stream_mcp.auth import Credentials, Policy, Signer
from stream_mcp.config import Settings
from stream_mcp.errors import StreamAPIError, UnknownUser
from stream_mcp.runtime import open_service
from tests.test_executor_helpers import Recorded, json_reply, loopback

SECRET = "unknown-user-secret-0123456789abcdef"
NOT_ALLOWED = {
    "code": 17,
    "message": "User 'x' is not allowed to perform action",
    "StatusCode": 403,
}
KNOWN = {"alice"}


def responder(request: Recorded, _n: int) -> Any:
    if "/users" in request.target and request.method == "GET":  # QueryUsers
        wanted = "ghost" if "ghost" in request.target else "alice"
        if wanted == "ghost":
            return json_reply(403, NOT_ALLOWED)  # Stream refuses an unknown user's token
        return json_reply(200, {"users": [{"id": wanted}]})
    return json_reply(403, NOT_ALLOWED)


def credentials(url: str) -> Credentials:
    return Credentials(
        profile_name="test",
        api_key="key",
        signer=Signer(SECRET),
        base_url=url,
        policy=Policy(default_user="alice", allowed_users=("*",)),
    )


@pytest.mark.parametrize(("user", "expected"), [("ghost", UnknownUser), ("alice", StreamAPIError)])
async def test_not_allowed_for_a_missing_user_names_the_user(user: str, expected: type) -> None:
    arguments = {"type": "messaging", "id": "c1", "message": {"text": "hi"}}
    with loopback(responder) as server:
        async with open_service(Settings(max_retries=0), credentials(server.url)) as service:
            with pytest.raises(expected) as caught:
                await service.execute("SendMessage", arguments, as_user=user)
    if expected is UnknownUser:
        assert caught.value.field == "as_user" and "'ghost' does not exist" in str(caught.value)
        assert "UpdateUsers" in (caught.value.hint or "")
    else:
        assert caught.value.code == 17  # alice exists: a real permission problem stays as is
