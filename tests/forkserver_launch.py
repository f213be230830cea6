"""Launcher for :mod:`tests.forkserver`: ``forkserver_launch.py SOCKET ARGS...``.

Run with ``python -I -S`` (standard library only, no site), it costs a few milliseconds. It
passes its argv, environment, working directory and stdin/stdout/stderr to the fork server,
which forks a warm ``python -m stream_mcp ARGS...``; it forwards the signals it gets to that
child and exits as the child did (same code, or killed by the same signal). If it is killed
itself, the fork server kills the child.
"""

import contextlib
import json
import os
import signal
import socket
import sys
import time

CONNECT_TIMEOUT = 120.0  # the fork server imports the server stack before it listens


def connect(path: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def main() -> None:
    path, argv = sys.argv[1], sys.argv[2:]
    sock = connect(path)
    body = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(sock, [len(body).to_bytes(4, "big") + body], [0, 1, 2])
    # One buffered reader for both lines: a child that exits at once sends its pid and its
    # exit status together, and a read of the first must keep the second.
    replies = sock.makefile("rb")
    pid_text = replies.readline().decode().strip()
    if not pid_text:
        sys.exit("forkserver: no child was started")
    pid = int(pid_text)

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    # The child has the pipes now: ours must not keep them open after it is gone.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    status = replies.readline().decode().strip()
    code = int(status) if status else -signal.SIGKILL
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(1)
    os._exit(code)


main()
