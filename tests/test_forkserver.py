"""The test fork server's launcher (tests/forkserver_launch.py), against a stand-in server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

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
