"""The test fork server's launcher (tests/forkserver_launch.py), against a stand-in server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

LAUNCHER = Path(__file__).with_name("forkserver_launch.py")


def test_a_child_that_exits_at_once_reports_its_status(tmp_path: Path) -> None:
    """Its pid and its exit status can reach the launcher in one read; the launcher must
    still read them as two replies and exit with the child's code (it once read "4242\\n3"
    as the pid and failed)."""
    path = str(tmp_path / "fork.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            size = int.from_bytes(connection.recv(4), "big")
            _, fds, _, _ = socket.recv_fds(connection, size, 3)
            for fd in fds:
                os.close(fd)
            connection.sendall(b"4242\n3\n")  # both lines in one write

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(LAUNCHER), path, "--version"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    finally:
        server.join(timeout=10)
        listener.close()
    assert done.returncode == 3, done.stderr


WORKER_CODE = """
import json, os, sys
line = sys.stdin.readline()
print(json.dumps({
    "argv": sys.argv,
    "name": __name__,
    "path0": sys.path[0],
    "cwd": os.getcwd(),
    "read": line,
    "env": os.environ.get("FORK_PROBE"),
}))
sys.exit(7)
"""


def test_a_worker_command_runs_code_as_python_c_does(tmp_path: Path) -> None:
    """xdist's workers are forks of the fork server (``python_command``): the code they are
    given must see what ``python -u -c CODE ARGS`` would, and exit the same way."""
    import shlex

    from tests import forkserver

    def run(interpreter: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*interpreter, "-u", "-c", WORKER_CODE, "extra"],
            input="hello\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "FORK_PROBE": "probe"},
            timeout=120,
            check=False,
        )

    forked = run(shlex.split(forkserver.python_command()))
    fresh = run([sys.executable])
    assert (forked.returncode, forked.stdout) == (fresh.returncode, fresh.stdout), forked.stderr
    assert forked.returncode == 7
    assert '"argv": ["-c", "extra"]' in forked.stdout


def test_a_worker_command_refuses_interpreter_options_it_does_not_know() -> None:
    import shlex

    from tests import forkserver

    if forkserver.fresh():
        pytest.skip("STREAM_MCP_TEST_FRESH_PROCESSES=1: workers are plain interpreters")
    done = subprocess.run(
        [*shlex.split(forkserver.python_command()), "-X", "dev", "-c", "pass"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "unsupported interpreter arguments" in done.stderr
