"""A real PostgreSQL for the tests: the operator's, or a private throw-away cluster.

``postgres_url`` (session) is ``STREAM_MCP_TEST_DATABASE_URL`` when set; otherwise, when the
server binaries are installed (on PATH or in ``/usr/lib/postgresql/<version>/bin``), a cluster
of our own in a temporary directory, on a free loopback port, with its unix socket beside it,
stopped at the end. Each xdist worker starts its own. Without either the PostgreSQL tests
skip, unless ``STREAM_MCP_TEST_REQUIRE_SERVICES=1`` (CI), where they fail instead.

``initdb`` runs once a run: the first cluster's data directory becomes a template (under a
directory the controller names in ``STREAM_MCP_TEST_PG_TEMPLATE``, which xdist workers
inherit), and every later cluster starts from a copy of it. initdb costs about half a CPU
second and a second of a worker's time; a copy, a few milliseconds.

PostgreSQL refuses to run as root, so as root the cluster runs as ``postgres`` (or ``nobody``)
and its directory belongs to that user; as anyone else it runs as the caller.

``pg_url`` gives each test its own schema (``search_path``), so tests never see each other's
tables; ``private_cluster`` is a cluster of the test's own, for the tests that stop it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

REQUIRE = "STREAM_MCP_TEST_REQUIRE_SERVICES"
EXTERNAL = "STREAM_MCP_TEST_DATABASE_URL"
TEMPLATE = "STREAM_MCP_TEST_PG_TEMPLATE"


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail when CI says the services must be there."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"PostgreSQL is required ({REQUIRE}=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL: {reason}")


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then Debian's versioned dirs."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A private PostgreSQL cluster in a temporary directory."""

    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="stream-mcp-pg-")))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    port: int = 0
    _ids: tuple[int, int] | None = None  # (uid, gid) to run as, when we are root

    def __post_init__(self) -> None:
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            self._ids = (account.pw_uid, account.pw_gid)
            os.chown(self.root, *self._ids)
        os.chmod(self.root, 0o700)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        extra: dict[str, Any] = {}
        if self._ids is not None:
            extra = {"user": self._ids[0], "group": self._ids[1], "extra_groups": []}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
            env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"},
            **extra,
        )

    def init(self) -> None:
        """A new data directory: a copy of the run's template, made by initdb on first need."""
        template = os.environ.get(TEMPLATE)
        if not template:
            self._initdb()
            return
        data, self.password = _template(self.bindir, Path(template))
        subprocess.run(["cp", "-a", str(data), str(self.data)], check=True, timeout=60)

    def _initdb(self) -> None:
        secret = self.root / "pw"
        secret.write_text(self.password + "\n")
        if self._ids is not None:
            os.chown(secret, *self._ids)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={secret}",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                # 1 MB WAL segments instead of 16: every cluster of the run is a copy of this
                # directory, and a fresh cluster's WAL was two fifths of what is copied.
                "--wal-segsize=1",
            )
        finally:
            secret.unlink()

    def start(self) -> None:
        """Start on a free loopback port (another worker may take the one we picked: retry)."""
        last = ""
        for _ in range(5):
            port = self.port or _free_port()
            options = (
                f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
                check=False,
            )
            if done.returncode == 0:
                self.port = port
                return
            last = done.stderr + done.stdout
            self.port = 0
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not start: {last[-500:]}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _template(bindir: Path, base: Path) -> tuple[Path, str]:
    """The template's data directory and password, made under ``base`` by whichever process
    needs it first (the others wait on the lock)."""
    with (base / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = base / "ready"
        if not ready.exists():
            template = Cluster(bindir, root=Path(tempfile.mkdtemp(prefix="cluster-", dir=base)))
            template._initdb()
            ready.write_text(f"{template.root}\n{template.password}\n")
        root, password = ready.read_text().splitlines()
        return Path(root) / "data", password


def pytest_configure(config: pytest.Config) -> None:
    """The controller (or a run without xdist) names the run's template directory."""
    if hasattr(config, "workerinput") or os.environ.get(TEMPLATE):
        return
    base = tempfile.mkdtemp(prefix="stream-mcp-pg-template-")
    os.chmod(base, 0o711)  # the clusters' own user (as root: postgres) only passes through
    os.environ[TEMPLATE] = base
    config.add_cleanup(lambda: _remove_template(base))


def _remove_template(base: str) -> None:
    shutil.rmtree(base, ignore_errors=True)
    with contextlib.suppress(KeyError):
        del os.environ[TEMPLATE]


def start_cluster() -> Cluster:
    """A running private cluster, or skip/fail when that is impossible here."""
    bindir = find_bindir()
    if bindir is None:
        unavailable(f"{EXTERNAL} is not set and initdb/pg_ctl are not installed")
    cluster = Cluster(bindir)
    try:
        cluster.init()
        cluster.start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        cluster.destroy()
        detail = getattr(exc, "stderr", "") or str(exc)
        unavailable(f"a private cluster could not start: {str(detail)[-300:]}")
    return cluster


def _require_driver() -> Any:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[test]')")
    return psycopg


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose user may create schemas; shared by the worker's tests."""
    _require_driver()
    external = os.environ.get(EXTERNAL)
    if external:
        yield external
        return
    cluster = start_cluster()
    try:
        yield cluster.url()
    finally:
        cluster.destroy()


def with_schema(url: str, schema: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, options=f"-c search_path={schema}")


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` confined to a fresh schema of this test's own, dropped afterwards."""
    psycopg = _require_driver()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(postgres_url, schema)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def private_cluster() -> Iterator[Cluster]:
    """A cluster only this test uses, so it may stop and restart it."""
    _require_driver()
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()
