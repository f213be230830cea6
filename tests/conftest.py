"""Shared fixtures: the catalog is immutable, so one instance serves the whole session."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Some machines set PYTHONDONTWRITEBYTECODE. The suite imports the same modules in every
# worker and in dozens of server subprocesses, and without cached bytecode (and pytest's
# cached assertion rewrites) each of them compiles everything again. The caches go where
# Python puts them by default, in __pycache__ folders that git ignores.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import pytest  # noqa: E402
import structlog  # noqa: E402
from hypothesis import settings  # noqa: E402

from stream_mcp.catalog._build import SPEC_DIR, Catalog, load_catalog  # noqa: E402
from stream_mcp.search import SearchIndex  # noqa: E402
from tests import forkserver  # noqa: E402
from tests.factories import shipped_catalog  # noqa: E402

# Service fixtures (redis_url, ...): real servers, skipped where none can be had.
pytest_plugins = ("tests.services", "tests.pg_service")

# Shared CI machines are noisy: property tests must not fail on a slow example. Every run
# draws fresh examples (100 a test, Hypothesis's own default); `pytest --hypothesis-profile
# thorough` draws ten times as many, for a change to the code those tests cover.
settings.register_profile("stream-mcp", deadline=None, max_examples=100)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile("stream-mcp")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OPERATION_LISTS = {"v1": "stream-chat-operations.tsv", "v2": "stream-chat-operations-v2.tsv"}


def operation_lists(version: str) -> list[Path]:
    """Stream's operation list for ``version`` ("v1" or "v2"): our committed snapshot, then
    the shared original when it is beside the checkout, so a clean clone tests it too."""
    shared = SHARED / OPERATION_LISTS[version]
    snapshot = ROOT / "tests" / "data" / f"operations-{version}.tsv"
    return [snapshot, *([shared] if shared.is_file() else [])]


def read_operation_list(path: Path) -> dict[str, dict[str, str]]:
    """Rows by operation id, each keyed by the header's column names; ``#`` lines are notes."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}


# v2 operations that take over a v1 call whose request they accept unchanged at a new path.
# The v2 list gives them no v1 column, because the v1 operation itself is gone.
SAME_REQUEST_AS_V1 = {
    "ban": "POST /moderation/ban",
    "mute": "POST /moderation/mute",
    "unmute": "POST /moderation/unmute",
}


def v1_routes() -> dict[str, tuple[str, str]]:
    """The v1 method and path of each v2 operation that has one, for comparing our requests
    with the official ``stream-chat`` SDK, which still speaks v1."""
    rows = read_operation_list(operation_lists("v2")[0])
    known = {op_id: row["v1_method_path"] for op_id, row in rows.items()}
    known.update(SAME_REQUEST_AS_V1)
    pairs = {op_id: route.split(" ", 1) for op_id, route in known.items() if route != "-"}
    return {op_id: (method, path) for op_id, (method, path) in pairs.items()}


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return shipped_catalog()


@pytest.fixture(scope="session")
def index() -> SearchIndex:
    """Search by its rules alone, over tool_specs: what the search tests pin down. The example
    requests' votes and corrections may outweigh a rule on a close call, and are tested apart
    (tests/test_search_examples.py, test_search_learned.py). The compiled artifact is used
    when it was compiled from today's tool_specs (a search built from stale search code
    ignores its index all the same); during work it may lag behind, and the YAML is read."""
    import json

    from stream_mcp.catalog._build import ARTIFACT
    from stream_mcp.catalog._spec import source_hash

    compiled_from = json.loads(ARTIFACT.read_text(encoding="utf-8")).get("source_hash")
    if compiled_from == source_hash(SPEC_DIR):
        return SearchIndex(load_catalog(), examples=False)
    return SearchIndex(load_catalog(SPEC_DIR), examples=False)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The CLI and servers configure structlog and stdlib logging, which are process-wide."""
    config = structlog.get_config()
    handlers = logging.root.handlers[:]
    level = logging.root.level
    yield
    structlog.configure(**config)
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


# Modules that spawn servers, drive whole SDK suites or run many property examples: the
# `pytest -m "not slow"` inner loop leaves them out; CI and the README's command run them.
SLOW_MODULES = (
    "tests/security/",
    "test_e2e_",
    "test_http_load",
    "test_executor_properties",
    "test_sandbox_sdk",
    "test_getstream_sdk",
    "test_wire_compat",
    "test_agent_tasks",
    "test_startup",
    "test_sandbox_cli",
    "test_sandbox_persistence",
    "test_sandbox_events",
    "test_events_",
    "test_http_operations",
    "test_replicas",
    "test_examples",
    "test_call_id",
)


# Under xdist's ``--dist loadfile`` each work unit is one file, except for two groups. The
# security suite's modules share one fleet of servers (tests/security/conftest.py), booted
# once per worker that runs any of them. The two files that drive the official ``getstream``
# SDK each import it (about a CPU-second) and start a sandbox for it; together, one worker
# does that once. Units go out longest first (the order below, measured; the rest keep their
# order), so no worker is left with a long one at the end.
SECURITY = "tests/security/"
GETSTREAM = "tests/getstream-sdk"
GROUPS = {
    "tests/test_getstream_sdk.py": GETSTREAM,
    "tests/test_wire_compat_getstream.py": GETSTREAM,
}
FORK_SERVER = pytest.StashKey[tuple[str, int]]()
LONGEST_FIRST = (
    SECURITY,
    "tests/test_replicas.py",
    "tests/test_events_postgres.py",
    "tests/test_search.py",
    "tests/test_budget_redis.py",
    "tests/test_sandbox_events.py",
    "tests/test_startup.py",
    "tests/test_http_load.py",
    "tests/test_audit_postgres.py",
    "tests/test_events_http.py",
    "tests/test_e2e_stdio.py",
    "tests/test_examples.py",
    "tests/test_events_recovery.py",
    "tests/test_e2e_oauth.py",
    GETSTREAM,
)


def work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return SECURITY if path.startswith(SECURITY) else GROUPS.get(path, path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.as_posix()
        if any(marker in path for marker in SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))  # stable


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers more than there are cores. About a third of each worker's
    time is spent waiting (on spawned servers, sockets and the timeouts the failure tests
    provoke), and the extra workers fill it. On a 2-core machine a third worker once took the
    suite from 89-93 s to 77-84 s; a fourth, alternated with three over five pairs of runs
    (2026-12-03, 2,852 tests), took 46.7-49.8 s against 50.8-54.2 s, for 5-8% more CPU. A
    fifth was slower than four in both pairs tried (53.5 and 55.3 s against 50.7)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores + 2


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist the controller starts the one fork server the workers share (see
    tests.forkserver); each worker would start its own otherwise."""
    if _is_xdist_controller(config) and not forkserver.fresh():
        config.stash[FORK_SERVER] = forkserver.share()
        # Workers too are forked from it, already holding what they import (``-n N`` gives
        # N plain "popen" specs; any other --tx is left as given).
        if set(config.option.tx) == {"popen"}:
            python = forkserver.python_command()
            config.option.tx = [f"popen//python={python}" for _ in config.option.tx]
    workerinput = getattr(config, "workerinput", {})
    if "fork_server" in workerinput:
        forkserver.use(*workerinput["fork_server"])


def _is_xdist_controller(config: pytest.Config) -> bool:
    return (
        not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and bool(config.getoption("numprocesses", 0))
    )


def pytest_configure_node(node: Any) -> None:
    """xdist: each worker is told the controller's fork server."""
    shared = node.config.stash.get(FORK_SERVER, None)
    if shared is not None:
        node.workerinput["fork_server"] = list(shared)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the work units above, in collection order (xdist would sort
    them by test count unless told ``--no-loadscope-reorder``)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return WorkUnitScheduling(config, log)


# A real PostgreSQL (the operator's or a private cluster) for the scale-out tests.


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built (every test module, the catalog, the MCP SDK and the rest of
    the imports) lives as long as the process: moved out of the collector's way, the
    full collections the tests trigger no longer walk it every time (a tenth less CPU in
    the in-process tests)."""
    gc.collect()
    gc.freeze()
    # The tests allocate in bursts (catalogs, indexes, parsed results) that live for a test:
    # with the interpreter's default first threshold (700) each burst set off a cascade of
    # collections that mostly walked live objects, about a twelfth of a worker's CPU. A
    # larger first generation collects the same garbage a few times less often.
    gc.set_threshold(10_000, 20, 20)
