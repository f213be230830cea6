"""Wire compatibility with Stream's official ``getstream`` SDK (v7), operation by operation.

``getstream`` is generated from Stream's v2 spec, the surface our catalog is compiled from, so
for the same arguments both must send the same request: method, raw path (percent-encoding
included), query parameters and body. Both clients talk to one loopback capture server over a
real socket (the SDK sends with httpx, we with httpx2); the cases are in
:mod:`tests.getstream_cases`. A case whose difference is a known product bug is marked
``xfail(strict=True)`` with the reason.

Normalised, because Stream reads both forms the same way:

* a JSON-valued query parameter (``payload``) is compared as JSON, without the ``null``
  members the SDK writes there for every field left unset: Stream decodes it into a struct in
  which ``null`` and absent both mean "not given" (the SDK itself strips them from bodies);
* query parameters are compared as a mapping: their order carries no meaning;
* multipart form fields that hold JSON (``user``, ``upload_sizes``) are compared as JSON: the
  SDK writes them with ``json.dumps``' spaces, we write them compact;
* the auth token is compared by what Stream reads from it, not byte for byte: both are HS256
  JWTs signed with the app secret that name no user, i.e. server-side. The SDK signs an empty
  claim set, we sign ``{"server": true}`` with ``iat`` and ``exp``.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import jwt
import pytest

from stream_mcp import __version__
from stream_mcp.auth.credentials import AuthDecision, Signer
from stream_mcp.catalog._build import Catalog
from stream_mcp.config import Settings
from stream_mcp.observability.redact import Redactor
from tests.getstream_cases import Case, cases, write_uploads
from tests.getstream_lazy import sdk as getstream
from tests.planned import planned_executor
from tests.test_executor_helpers import (
    LoopbackServer,
    Recorded,
    body_view,
    json_reply,
    only_once,
)
from tests.test_executor_helpers import query_view as shared_query_view

if TYPE_CHECKING:
    from getstream import Stream

# The SDK decodes our minimal answers into its models, warning about every missing field.
pytestmark = pytest.mark.filterwarnings("ignore:Missing value of non-optional type")

API_KEY = "wirekey"
SECRET = "wire-secret-for-tests-0123456789abcdef"
PLAUSIBLE = {"duration": "1.00ms"}

CASES = {case.name: case for case in cases(Path("unused"))}


def _params() -> list[Any]:
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [],
        )
        for name, case in CASES.items()
    ]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("getstream-uploads")
    write_uploads(directory)
    return directory


@pytest.fixture(scope="module")
def capture() -> Iterator[LoopbackServer]:
    server = LoopbackServer(lambda _r, _n: json_reply(200, PLAUSIBLE)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sdk(capture: LoopbackServer) -> Iterator[Stream]:
    client = getstream.Stream(api_key=API_KEY, api_secret=SECRET, base_url=capture.url, timeout=5.0)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def tls() -> ssl.SSLContext:
    """One TLS context for every executor: loading the CA store costs ~0.1 s a client and
    plays no part on the plain-HTTP loopback."""
    return ssl.create_default_context()


# --------------------------------------------------------------------------- comparison


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def query_view(request: Recorded) -> dict[str, Any]:
    return shared_query_view(request, _drop_nulls)


def claims(request: Recorded) -> dict[str, Any]:
    token = request.headers["authorization"]
    assert not token.lower().startswith("bearer"), "Stream takes the raw JWT"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    decoded: dict[str, Any] = jwt.decode(token, SECRET, algorithms=["HS256"])
    return decoded


async def ours_for(
    case: Case, capture: LoopbackServer, catalog: Catalog, tls: ssl.SSLContext
) -> Recorded:
    signer = Signer(SECRET)
    auth = AuthDecision(mode="server", acting_user="u1", token=signer.sign_server(300))
    executor = planned_executor(
        api_key=API_KEY,
        base_url=capture.url,
        redactor=signer.redactor(Redactor()),
        catalog=catalog,
        settings=Settings(max_retries=0),
        transport=httpx2.AsyncHTTPTransport(verify=tls, trust_env=False),
        trust_env=False,
    )
    async with executor:
        before = capture.count
        result = await executor.execute(catalog.get(case.operation_id), case.arguments, auth)
        request = only_once(capture, before)
    assert result.status == 200
    return request


@pytest.mark.parametrize("name", _params())
async def test_request_matches_the_getstream_sdk(
    name: str,
    capture: LoopbackServer,
    sdk: Stream,
    catalog: Catalog,
    files: Path,
    tls: ssl.SSLContext,
) -> None:
    case = next(c for c in cases(files) if c.name == name)
    before = capture.count
    case.sdk(sdk)
    theirs = only_once(capture, before)
    ours = await ours_for(case, capture, catalog, tls)

    assert ours.method == theirs.method == catalog.get(case.operation_id).method
    assert ours.raw_path == theirs.raw_path
    assert query_view(ours) == query_view(theirs)
    assert body_view(ours) == body_view(theirs)

    assert ours.headers["stream-auth-type"] == theirs.headers["stream-auth-type"] == "jwt"
    assert ours.headers["x-stream-client"] == f"stream-mcp-{__version__}"
    assert theirs.headers["x-stream-client"].startswith("stream-python-client-")
    ours_claims, their_claims = claims(ours), claims(theirs)
    assert "user_id" not in their_claims and "user_id" not in ours_claims
    assert ours_claims["server"] is True and set(ours_claims) <= {"server", "iat", "exp"}


def test_enough_operations_are_compared() -> None:
    operations = {case.operation_id for case in CASES.values()}
    assert len(CASES) == len(cases(Path("unused"))), "case names must be unique"
    assert len(operations) >= 30
    moderation = {"ban", "unban", "mute", "unmute", "flag", "check", "submit_action"}
    assert moderation <= operations
