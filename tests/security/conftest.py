"""One fleet of real servers (subprocesses) for the whole security suite.

Nine server processes serve every module: four stdio servers (legacy and auto clients,
with and without elicitation) on an environment profile limited to alice, one with
``STREAM_MCP_APP_WIDE=true``, one with ``serve --read-only``, one spoken to in raw JSON-RPC,
and two HTTP servers (the second with ``STREAM_MCP_CONFIRMATION=person``), each with several
clients. Sessions start lazily and in parallel (each module prestarts what it needs). At the
end of the run every transcript (results and server logs) goes through
``Transcript.assert_no_leaks`` and the upstream's canary check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.harness import (
    Fleet,
    http_factory,
    raw_http_factory,
    raw_stdio_factory,
    stdio_factory,
)

PERSON = {"STREAM_MCP_CONFIRMATION": "person"}


def define_sessions(fleet: Fleet) -> None:
    define = fleet.define
    # stdio: a real environment profile limited to alice, no --sandbox.
    define("stdio-legacy", stdio_factory(fleet, "stdio-legacy", "legacy", elicit=True))
    define("stdio-auto", stdio_factory(fleet, "stdio-auto", "auto", elicit=True))
    for mode in ("legacy", "auto"):
        name = f"stdio-{mode}-noelicit"
        define(name, stdio_factory(fleet, name, mode, elicit=False))
    define(
        "stdio-appwide",
        stdio_factory(
            fleet, "stdio-appwide", "legacy", elicit=False, env={"STREAM_MCP_APP_WIDE": "true"}
        ),
    )
    define(
        "stdio-readonly",
        stdio_factory(fleet, "stdio-readonly", "legacy", elicit=False, serve_args=("--read-only",)),
    )
    define("raw-stdio", raw_stdio_factory(fleet, "raw-stdio"))
    # streamable HTTP: the env profile allows anyone; API keys narrow it.
    fleet.define_http_server("http")
    fleet.define_http_server("http-person", **PERSON)
    for mode in ("legacy", "auto"):
        for suffix, key, elicit in (
            ("", "alice", True),
            ("-b", "alice", True),  # a second client, so slow cases run side by side
            ("-noelicit", "alice", False),
            ("-wide", "alice-wide", False),
            ("-star", "star", False),
        ):
            name = f"http-{mode}{suffix}"
            define(name, http_factory(fleet, name, "http", key, mode, elicit=elicit))
        name = f"http-person-{mode}-noelicit"
        define(name, http_factory(fleet, name, "http-person", "alice", mode, elicit=False))
    define(
        "http-person-legacy",
        http_factory(fleet, "http-person-legacy", "http-person", "alice", "legacy", elicit=True),
    )
    define("raw-http", raw_http_factory(fleet, "raw-http", "http", "alice"))


@pytest.fixture(scope="session")
def fleet(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("security"))
    define_sessions(fleet)
    here = Path(__file__).parent
    modules = {item.path for item in request.session.items if item.path.parent == here}
    if len(modules) >= 3:  # most of the suite: boot every server now, side by side
        fleet.prestart(*fleet.defined)
    yield fleet
    problems = fleet.close()
    # Whatever ran, nothing any server returned or logged may leak a secret.
    assert not problems, "\n".join(problems)
