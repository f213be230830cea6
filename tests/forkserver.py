"""Start ``stream-mcp`` processes by forking a warm interpreter instead of a fresh one.

Every server the end-to-end tests start is a real ``stream-mcp`` process (its own pid, its
own pipes and sockets, the real CLI ``main``), but most of the CPU a fresh one spends is in
importing the MCP SDK and the rest of the server stack, about two seconds per process and a
hundred processes per run. So :func:`command` returns a command line that runs a small
launcher (``forkserver_launch.py``, standard library only, started with ``-I -S``). The
launcher hands its argv, environment, working directory and stdin/stdout/stderr to a
*fork server* that imported the server stack once (one per run: under xdist the controller
starts it and its workers share it, see :func:`share`); it forks, and the child
becomes ``python -m stream_mcp <args>`` in every respect a test can see: the same argv, the
same environment, the same file descriptors, exit code or fatal signal. Signals sent to the
launcher (SIGTERM, SIGINT, ...) reach the child; if the launcher itself is killed (SIGKILL)
the child is killed too.

The same fork server starts xdist's workers (:func:`python_command`): each would otherwise
spend a CPU-second or two importing pytest, the MCP SDK, Hypothesis, the official SDKs and
the rest before collecting, four times over. A worker is forked before anything of the test
suite is imported, so pytest still imports (and rewrites the asserts of) every conftest and
test module itself.

``STREAM_MCP_TEST_FRESH_PROCESSES=1`` makes :func:`command` return the plain
``python -m stream_mcp ...`` instead, and workers start as fresh interpreters, for a run that
starts every process from scratch. Tests about start-up itself (what a command imports)
always use a fresh interpreter.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import json
import os
import runpy
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = Path(__file__).with_name("forkserver_launch.py")
FRESH_ENV = "STREAM_MCP_TEST_FRESH_PROCESSES"

# What every server or CLI child would import anyway; imported once, before any fork.
WARM_MODULES = (
    "stream_mcp.cli",
    "stream_mcp.cli.serve_cmds",
    "stream_mcp.cli.vault_cmds",
    "stream_mcp.cli.sandbox_cmd",
    "stream_mcp.cli.events_cmds",
    "stream_mcp.runtime",
    "stream_mcp.service",
    "stream_mcp.server",
    "stream_mcp.server.http",
    "stream_mcp.server.stdio",
    "stream_mcp.server.oauth",
    "stream_mcp.sandbox",
    "stream_mcp.events",
    "stream_mcp.vault",
    "stream_mcp.observability",
    "stream_mcp.search",
    # A discovery server builds its index in a thread just after its first tools/list.
    "stream_mcp.search._index",
    "mcp.server.stdio",
    "mcp.server.streamable_http_manager",
    "uvicorn",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "uvicorn.loops.asyncio",
    "uvicorn.lifespan.off",
    "uvicorn.protocols.websockets.auto",
    # The executor's HTTP client, created on a server's first call.
    "httpcore2",
    "anyio._backends._asyncio",
    "sqlite3",
    # Replicas use PostgreSQL and Redis; the product still imports them only when configured.
    "psycopg",
    "psycopg_pool",
    "redis.asyncio",
)
# What an xdist worker imports before and while it collects, beyond the above: pytest and its
# plugins, and the third-party packages that test modules import at their top. Never a
# module of the test suite itself (see the module docstring).
WORKER_MODULES = (
    "pytest",
    "_pytest.pytester",
    "xdist.remote",
    "execnet",
    "pytest_asyncio",
    "anyio.pytest_plugin",
    "hypothesis",
    "hypothesis.strategies",
    "mcp.client.stdio",
    "mcp.client.streamable_http",
    "mcp.client.auth",
    "mcp.server.auth.routes",
    "stream_chat",
    "requests",
    "jsonschema",
    "jmespath",
    "jwt",
    "yaml",
    "keyring",
    "unittest.mock",
    "http.server",
    "stream_mcp.catalog.lint",
    "stream_mcp.cli.demo",
    "stream_mcp.search._training",
)
PYTHON = "--python"  # a launcher argument: run as ``python [-u] [-B] -c CODE [ARGS]``


# --------------------------------------------------------------------------- client side


class _Handle:
    """The fork server this process started, or the one it was given (:func:`use`)."""

    lock = threading.Lock()
    process: subprocess.Popen[bytes] | None = None
    directory: str | None = None
    path: str | None = None
    shared: tuple[str, int] | None = None  # (socket path, pid) of another process's server


def fresh() -> bool:
    return os.environ.get(FRESH_ENV) == "1"


def command(*args: str) -> list[str]:
    """The command line that runs ``python -m stream_mcp <args>``."""
    if fresh():
        return [sys.executable, "-m", "stream_mcp", *args]
    return [sys.executable, "-I", "-S", str(LAUNCHER), _socket_path(), *args]


def python_command() -> str:
    """An interpreter for execnet's ``popen//python=...`` spec, which adds ``-u -c CODE``:
    a fork of the fork server that runs CODE as ``python -u -c CODE`` would."""
    if fresh():
        return shlex.quote(sys.executable)
    return shlex.join([sys.executable, "-I", "-S", str(LAUNCHER), _socket_path(), PYTHON])


def share() -> tuple[str, int]:
    """Start this process's fork server now, for other processes to :func:`use`: its socket
    and pid. The xdist controller does, so a run imports the server stack in one fork server
    rather than one per worker (~2 CPU-seconds each). It serves until this process exits."""
    path = _socket_path()
    assert _Handle.process is not None
    return path, _Handle.process.pid


def use(path: str, pid: int) -> None:
    """Fork through the fork server another process shared (:func:`share`), while it lives."""
    _Handle.shared = (path, pid)


def _socket_path() -> str:
    """Start this process's fork server if needed; its socket (launchers wait for it)."""
    if _Handle.shared is not None:
        path, pid = _Handle.shared
        try:
            os.kill(pid, 0)
            return path
        except ProcessLookupError:  # gone (its owner too, then): start one of our own
            _Handle.shared = None
    with _Handle.lock:
        if _Handle.process is None or _Handle.process.poll() is not None:
            if _Handle.directory is None:
                _Handle.directory = tempfile.mkdtemp(prefix="smcp-fork-")
            path = os.path.join(_Handle.directory, f"fork-{os.getpid()}-{id(_Handle)}.sock")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            _Handle.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys, tests.forkserver as f; f.serve(sys.argv[1])",
                    path,
                ],
                cwd=str(ROOT),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the terminal is for pytest, not for it
            )
            _Handle.path = path
        assert _Handle.path is not None
        return _Handle.path


@atexit.register
def _stop() -> None:
    process = _Handle.process
    if process is not None and process.poll() is None:
        assert process.stdin is not None
        process.stdin.close()  # the fork server kills what it still runs, then exits
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    if _Handle.directory is not None:
        shutil.rmtree(_Handle.directory, ignore_errors=True)


# --------------------------------------------------------------------------- fork server


def serve(path: str) -> None:
    """Import the server stack, then fork one child per launcher that connects."""
    import importlib

    for name in (*WARM_MODULES, *WORKER_MODULES):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    gc.collect()
    gc.freeze()  # children need not scan (and so copy) what every one of them shares

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.rename(path + ".tmp", path)  # launchers connect only once it listens

    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")
    children: dict[int, socket.socket] = {}  # pid -> its launcher's connection
    running = True
    while running or children:
        for key, _ in selector.select(timeout=1.0 if not running else None):
            kind = key.data
            if kind == "accept":
                connection, _ = listener.accept()
                request = _receive(connection)
                if request is None:
                    connection.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _become(request, [listener, connection, *children.values()], selector, wake_r)
                for fd in request["fds"]:
                    os.close(fd)
                children[pid] = connection
                connection.sendall(f"{pid}\n".encode())
                selector.register(connection, selectors.EVENT_READ, pid)
            elif kind == "child":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _reap(children, selector)
            elif kind == "parent":
                if not os.read(sys.stdin.fileno(), 4096):  # the test process is gone
                    selector.unregister(sys.stdin)
                    running = False
                    selector.unregister(listener)
                    listener.close()
                    for pid in children:
                        _kill(pid)
            else:  # a launcher's connection: it never writes, so this is its death
                pid = kind
                if not key.fileobj.recv(64):  # type: ignore[union-attr]
                    _kill(pid)
                    selector.unregister(key.fileobj)
        _reap(children, selector)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(children: dict[int, socket.socket], selector: selectors.BaseSelector) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is None:
            continue
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(connection)
        with contextlib.suppress(OSError):
            connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
        connection.close()


def _receive(connection: socket.socket) -> dict[str, Any] | None:
    """One launch request: a 4-byte length, JSON, and three file descriptors."""
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    if len(data) < 4 or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None
    size = int.from_bytes(data[:4], "big")
    body = data[4:]
    while len(body) < size:
        more = connection.recv(size - len(body))
        if not more:
            return None
        body += more
    request: dict[str, Any] = json.loads(body)
    request["fds"] = fds
    return request


def _become(
    request: dict[str, Any],
    sockets: list[socket.socket],
    selector: selectors.BaseSelector,
    wake_r: int,
) -> None:
    """In the child: turn into ``python -m stream_mcp <argv>`` (or, after ``--python``,
    ``python [-u] [-B] -c CODE``); never returns."""
    code = 1
    try:
        wake_w = signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        selector.close()
        for sock in sockets:
            sock.close()
        os.close(wake_w)
        os.close(wake_r)
        for target, fd in enumerate(request["fds"]):
            os.dup2(fd, target)
            os.close(fd)
        env: dict[str, str] = request["env"]
        os.environ.clear()
        os.environ.update(env)
        os.chdir(request["cwd"])
        argv: list[str] = request["argv"]
        python = argv[:1] == [PYTHON]
        parsed = _python_options(argv[1:]) if python else (set(), "", [])
        options, source, rest = parsed or (set(), "", [])
        sys.dont_write_bytecode = "-B" in options or bool(env.get("PYTHONDONTWRITEBYTECODE"))
        _standard_streams(unbuffered="-u" in options or bool(env.get("PYTHONUNBUFFERED")))
        if parsed is None:
            print(f"forkserver: unsupported interpreter arguments {argv[1:]!r}", file=sys.stderr)
            code = 2  # what python says to options it does not know
        elif python:
            sys.path[0] = ""  # what -c puts first
            sys.argv = ["-c", *rest]
            code = _run(lambda: _exec_main(source))
        else:
            sys.path[0] = request["cwd"]  # what -m puts first
            sys.argv = ["-m", *argv]
            code = _run(lambda: runpy.run_module("stream_mcp", run_name="__main__", alter_sys=True))
    except BaseException:  # a failure of this shim: say so, as Python would
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        _exit(code)


def _standard_streams(*, unbuffered: bool) -> None:
    """New sys.stdin/stdout/stderr over fds 0-2, set up as a fresh interpreter would."""

    def stream(fd: int, write: bool) -> io.TextIOWrapper:
        raw: Any = io.FileIO(fd, "wb" if write else "rb", closefd=False)
        tty = raw.isatty()
        buffered: Any
        if write and unbuffered:
            buffered = raw
        else:
            buffered = (io.BufferedWriter if write else io.BufferedReader)(raw)
        return io.TextIOWrapper(
            buffered,
            encoding="utf-8",
            errors="backslashreplace" if fd == 2 else "strict",
            newline=None if not write else "\n",
            line_buffering=not unbuffered and (tty or fd == 2),
            write_through=unbuffered,
        )

    sys.stdin = sys.__stdin__ = stream(0, False)
    sys.stdout = sys.__stdout__ = stream(1, True)
    sys.stderr = sys.__stderr__ = stream(2, True)


def _python_options(args: list[str]) -> tuple[set[str], str, list[str]] | None:
    """The options, the ``-c`` source and the rest of ``python [-u] [-B] -c CODE [ARGS]``,
    the only interpreter command lines a worker is started with (None for any other)."""
    options: set[str] = set()
    for i, arg in enumerate(args):
        if arg == "-c" and i + 1 < len(args):
            return options, args[i + 1], args[i + 2 :]
        if arg not in ("-u", "-B"):
            break
        options.add(arg)
    return None


def _exec_main(source: str) -> None:
    """Run ``source`` as ``python -c`` does: in a new ``__main__`` module."""
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    exec(compile(source, "<string>", "exec"), main.__dict__)


def _run(body: Callable[[], object]) -> int:
    try:
        body()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 130
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _finish() -> None:
    """What interpreter shutdown does that a test could notice: join the non-daemon
    threads, run atexit handlers, flush the standard streams."""
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    with contextlib.suppress(BaseException):
        gc.collect()
    for name in ("stdout", "stderr"):
        with contextlib.suppress(BaseException):
            getattr(sys, name).flush()


def _exit(code: int) -> None:
    _finish()
    os._exit(code & 0xFF if code >= 0 else 1)
