"""Loopback HTTP servers for the executor tests: record what arrives, play scripted faults.

A real socket on 127.0.0.1 is used (not a mock transport) so that the official SDK, which
sends with ``requests``, and our httpx2 executor are observed the same way. Every wait inside
a handler is bounded and ends early when the server stops.
"""

from __future__ import annotations

import email.parser
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_STALL = 5.0


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived on the socket."""

    method: str
    target: str  # raw request target: path and query, still percent-encoded
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def raw_path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """What the server sends back. ``stall`` waits before the status line; ``chunks`` are
    written one by one with a pause before each; ``length`` overrides Content-Length (e.g.
    to announce more than is sent); ``stall_after`` waits after the chunks, before closing."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    stall: float = 0.0
    chunks: list[tuple[float, bytes]] | None = None
    length: int | None = None
    stall_after: float = 0.0
    close: bool = False


def json_reply(status: int = 200, payload: Any = None, **headers: str) -> Reply:
    base = {"Content-Type": "application/json"}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    body = json.dumps({} if payload is None else payload).encode()
    return Reply(status=status, body=body, headers=base)


Responder = Callable[[Recorded, int], Reply]


class LoopbackServer:
    """A threaded HTTP/1.1 server on 127.0.0.1:0 with a pluggable responder.

    ``responder(request, n)`` gets the request and its 1-based arrival number.
    """

    def __init__(self, responder: Responder | None = None) -> None:
        self.responder: Responder = responder or (lambda _r, _n: Reply())
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():  # shutdown() would wait forever on a loop never started
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def _record(self, request: Recorded) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a 40 ms delayed-ACK stall per reply

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method=self.command,
                    target=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = server.responder(recorded, server._record(recorded))
                if reply.stall and server._stop.wait(min(reply.stall, MAX_STALL)):
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    chunks = reply.chunks if reply.chunks is not None else [(0.0, reply.body)]
                    total = sum(len(c) for _, c in chunks)
                    self.send_header(
                        "Content-Length", str(reply.length if reply.length is not None else total)
                    )
                    if reply.close:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.flush()
                    for pause, chunk in chunks:
                        if pause and server._stop.wait(min(pause, MAX_STALL)):
                            return
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    if reply.stall_after:
                        server._stop.wait(min(reply.stall_after, MAX_STALL))
                    if reply.close or (reply.length is not None and reply.length != total):
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def loopback(responder: Responder | None = None) -> Iterator[LoopbackServer]:
    server = LoopbackServer(responder).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Auth:
    """Stands in for ``credentials.AuthDecision`` (the executor depends on its shape only)."""

    mode: str
    acting_user: str
    token: str

    def __repr__(self) -> str:
        return f"Auth(mode={self.mode!r}, acting_user={self.acting_user!r}, token=<hidden>)"


# --------------------------------------------------------------------------- wire comparison


def query_view(
    request: Recorded, payload: Callable[[Any], Any] = lambda value: value
) -> dict[str, Any]:
    """A request's query as a mapping, the JSON ``payload`` parameter decoded (then mapped)."""
    view: dict[str, Any] = {}
    for name, value in request.query:
        assert name not in view, f"query parameter {name} sent twice"
        view[name] = payload(json.loads(value)) if name == "payload" else value
    return view


def body_view(request: Recorded) -> Any:
    """A request's body as data: JSON, or multipart fields (files as name, type and bytes)."""
    if not request.body:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
        message = email.parser.BytesParser().parsebytes(raw)
        parts: dict[str, Any] = {}
        for part in message.get_payload():
            name = part.get_param("name", header="content-disposition")
            assert name not in parts, f"form field {name} sent twice"
            data = part.get_payload(decode=True)
            if part.get_filename() is not None:
                parts[name] = {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "bytes": data,
                }
            else:
                parts[name] = json.loads(data)
        return {"multipart": parts}
    return json.loads(request.body)


def only_once(server: LoopbackServer, before: int) -> Recorded:
    assert server.count == before + 1, "expected exactly one request"
    return server.requests[before]
