"""A loopback stand-in for Stream that answers every request with secrets, and records it.

Each answer is a JSON body stuffed with the profile's real API secret (under secret-named
keys, nested, in arrays, inside the values of harmless keys), its base64, push-provider
credentials under their real key names, JWTs signed with the secret, and an echo of the
request's own headers (the Authorization header under several keys). Whatever the product
returns or logs is then checked for any of it: see :class:`Canaries`.

Requests are recorded (method, path with query, headers, body) so a test can prove that a
refused call never reached "Stream". Each server under test uses its own ``api_key``, which
every request carries in its query string, so requests can be told apart per server.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

REDACTED = "[redacted]"
JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
FRAGMENT = 16  # any 16 characters of a secret, in order or reversed, count as a leak
CHUNK = FRAGMENT // 2  # every 16-character fragment holds one 8-aligned 8-character chunk


def _canary(label: str) -> str:
    return f"cnry{label}{secrets.token_hex(12)}"


@dataclass
class Canaries:
    """Every secret the upstream hands out; ``leaks(text)`` names the ones found in text."""

    api_secret: str
    push: dict[str, str] = field(default_factory=dict)
    jwts: list[str] = field(default_factory=list)
    seen_auth: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def make(cls, api_secret: str) -> Canaries:
        push = {
            name: _canary(name.replace("_", ""))
            for name in (
                "apn_auth_key",
                "apn_p12_cert",
                "apn_password",
                "firebase_server_key",
                "firebase_private_key",
                "huawei_secret",
                "xiaomi_secret",
                "webhook_secret",
                "sqs_secret",
                "sns_secret",
                "access_token",
                "token",
                "password",
                "auth_key",
            )
        }
        jwts = [
            jwt.encode({"server": True}, api_secret, algorithm="HS256"),
            jwt.encode({"user_id": "alice", "iat": 1}, api_secret, algorithm="HS256"),
        ]
        return cls(api_secret=api_secret, push=push, jwts=jwts)

    @property
    def b64(self) -> str:
        return base64.b64encode(self.api_secret.encode()).decode()

    def note_auth(self, value: str) -> None:
        if value:
            with self._lock:
                self.seen_auth.add(value)

    def values(self, *, with_auth: bool = True) -> dict[str, str]:
        with self._lock:
            auth = sorted(self.seen_auth) if with_auth else []
        named = {
            "api_secret": self.api_secret,
            "api_secret_b64": self.b64,
            **{f"push:{k}": v for k, v in self.push.items()},
            **{f"jwt{i}": v for i, v in enumerate(self.jwts)},
            **{f"authorization{i}": v for i, v in enumerate(auth)},
        }
        return named

    def leaks(self, text: str, *, with_auth: bool = True) -> list[str]:
        """Names of the secrets any ``FRAGMENT`` characters of which appear in ``text``,
        forwards or reversed, plus any JWT-shaped string forwards or reversed.

        ``with_auth=False`` leaves out the Authorization headers seen (one per token minted:
        hundreds in a run); whole tokens are still caught as JWT-shaped strings."""
        secrets = self.values(with_auth=with_auth)
        whole = {name: secret for name, secret in secrets.items() if len(secret) <= FRAGMENT}
        owners: dict[str, set[str]] = {}  # each chunk of a longer secret -> the secrets holding it
        for name, secret in secrets.items():
            if name not in whole:
                for i in range(0, len(secret) - CHUNK + 1, CHUNK):
                    owners.setdefault(secret[i : i + CHUNK], set()).add(name)
        searched = _runs_of(text, "".join(secrets.values()))
        hits: set[str] = set()
        for candidate in (searched, searched[::-1]):
            hits |= {name for name, secret in whole.items() if secret in candidate}
            hits |= _chunk_owners_in(candidate, owners)
        found = [name for name in secrets if name in hits]  # in the canaries' order
        if JWT_RE.search(text):
            found.append("a JWT")
        if JWT_RE.search(text[::-1]):
            found.append("a reversed JWT")
        return found


def _runs_of(text: str, alphabet: str) -> str:
    """The distinct runs of ``alphabet``'s characters in ``text``, one a line, each run of
    one repeated character cut to ``FRAGMENT`` characters.

    Every string searched for above is made of those characters, so it occurs in ``text``
    (forwards or reversed) exactly when it occurs in these runs, which are far shorter: logs
    repeat the same words thousands of times, and the huge inputs the tests send come back
    as megabyte runs of one letter, whose substrings of up to ``FRAGMENT`` characters the
    cut run still holds. Without a character to separate runs, ``text`` itself."""
    chars = set(alphabet)
    if not chars or "\n" in chars:
        return text
    runs = re.findall("[" + "".join(re.escape(c) for c in sorted(chars)) + "]+", text)
    distinct = {run[:FRAGMENT] if run.count(run[0]) == len(run) else run for run in set(runs)}
    return "\n".join(distinct)


def _chunk_owners_in(text: str, owners: dict[str, set[str]]) -> set[str]:
    """The secrets any of whose 8-aligned ``CHUNK``-character chunks appear in ``text``.

    A run of 16 characters starting at offset o contains the chunk that starts at the next
    multiple of 8, so checking those chunks finds every ``FRAGMENT`` (and some shorter ones,
    which leak as much). Up to a thousand chunks, one substring search each; beyond (every
    Authorization header seen), one pass over the text's windows is far cheaper."""
    if len(owners) <= 1000:  # a substring search is ~200x cheaper per character than a window
        return {name for chunk, names in owners.items() if chunk in text for name in names}
    hits: set[str] = set()
    for i in range(len(text) - CHUNK + 1):
        names = owners.get(text[i : i + CHUNK])
        if names:
            hits |= names
    return hits


@dataclass(frozen=True)
class Recorded:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @functools.cached_property
    def api_key(self) -> str | None:  # asked of every request after each call's mark
        values = parse_qs(urlsplit(self.target).query).get("api_key")
        return values[0] if values else None

    def mentions(self, needle: str) -> bool:
        from urllib.parse import unquote

        text = unquote(self.target) + "\n" + self.body.decode("utf-8", "replace")
        return needle in text


FULL_BODY_PATHS = ("/app", "/devices", "/users", "/og")


def secret_body(canaries: Canaries, request: Recorded) -> dict[str, Any]:
    """The answer to a request: the app's settings as a leaky Stream would send them, for
    the reads the redaction tests use, and a short body with the same kinds of secret for
    everything else (thousands of calls, a transcript that stays small)."""
    if not request.path.rstrip("/").endswith(FULL_BODY_PATHS):
        return short_body(canaries, request)
    return full_body(canaries, request)


def short_body(canaries: Canaries, request: Recorded) -> dict[str, Any]:
    s = canaries.api_secret
    auth = request.headers.get("authorization", "")
    return {
        "duration": "0.42ms",
        "secret": s,
        "note": f"secret {s} base64 {canaries.b64}",
        "user": {"id": "alice", "token": canaries.push["token"], "custom": {"k": s}},
        "echo": {"authorization": auth, "copy": auth, "jwt": canaries.jwts[0]},
    }


def full_body(canaries: Canaries, request: Recorded) -> dict[str, Any]:
    s = canaries.api_secret
    p = canaries.push
    auth = request.headers.get("authorization", "")
    server_jwt, user_jwt = canaries.jwts
    blobs = {
        f"blob{i}": "p" * (37 * i) + s + " " + server_jwt + " " + canaries.b64 + " " + "q" * 900
        for i in range(6)
    }
    return {
        "duration": "0.42ms",
        "app": {
            "name": "leaky-app",
            "secret": s,
            "api_secret": s,
            "webhook_secret": p["webhook_secret"],
            "webhook_url": f"https://hooks.example.com/in?token={user_jwt}",
            "auth_key": p["auth_key"],
            "sqs_secret": p["sqs_secret"],
            "sns_secret": p["sns_secret"],
            "description": f"our secret is {s}, base64 {canaries.b64}",
            "push_notifications": {
                "version": "v2",
                "apn": {
                    "enabled": True,
                    "auth_key": p["apn_auth_key"],
                    "p12_cert": p["apn_p12_cert"],
                    "password": p["apn_password"],
                    "key_id": "KEYID12345",
                    "team_id": "TEAM123456",
                },
                "firebase": {
                    "enabled": True,
                    "server_key": p["firebase_server_key"],
                    "credentials_json": json.dumps(
                        {"type": "service_account", "private_key": p["firebase_private_key"]}
                    ),
                    "private_key": p["firebase_private_key"],
                },
                "huawei": {"enabled": True, "id": "huawei-app", "secret": p["huawei_secret"]},
                "xiaomi": {"enabled": True, "package_name": "x.y", "secret": p["xiaomi_secret"]},
            },
            "grants": {"user": ["read-channel"], "admin": [s]},
            "token": p["token"],
            "access_token": p["access_token"],
            "password": p["password"],
        },
        "notes": [s, f"prefix-{s}-suffix", canaries.b64, server_jwt, "harmless"],
        "notes_objects": [
            {"value": s, "description": f"the key is {s}"},
            {"value": canaries.b64, "description": "b64"},
            {"value": user_jwt, "description": "a user token"},
        ],
        "nested": {"deep": {"deeper": [[{"value": s}, {"value": server_jwt}], [{"secret": s}]]}},
        "custom": {"harmless": s, "list": [[s], {"k": canaries.b64}]},
        "jwt": server_jwt,
        "b64": canaries.b64,
        "echo": {
            "method": request.method,
            "target": request.target,
            "headers": dict(request.headers),
            "authorization": auth,
            "auth_copy": auth,
            "x-auth": auth,
            "bearer": f"Bearer {auth}",
            "list": [auth, {"auth": auth}],
        },
        **blobs,
    }


class Upstream:
    """A threaded loopback HTTP server; start() returns its base URL."""

    def __init__(self, canaries: Canaries) -> None:
        self.canaries = canaries
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> str:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = Recorded(self.command, self.path, headers, body)
                upstream._record(record)
                status = 200
                payload: dict[str, Any] = secret_body(upstream.canaries, record)
                if record.path.rstrip("/").endswith("/og"):
                    status = 400
                    payload = {
                        "code": 4,
                        "message": f"bad request; secret {upstream.canaries.api_secret} "
                        f"token {headers.get('authorization', '')}",
                        "StatusCode": 400,
                        "details": [upstream.canaries.b64],
                        "more_info": upstream.canaries.jwts[0],
                    }
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("x-ratelimit-limit", "1000")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, record: Recorded) -> None:
        self.canaries.note_auth(record.headers.get("authorization", ""))
        with self._lock:
            self.requests.append(record)

    def snapshot(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def count(self, api_key: str | None = None) -> int:
        return len([r for r in self.snapshot() if api_key is None or r.api_key == api_key])

    def since(self, mark: int, api_key: str | None = None) -> list[Recorded]:
        return [r for r in self.snapshot()[mark:] if api_key is None or r.api_key == api_key]

    def mentioning(self, needle: str) -> list[Recorded]:
        return [r for r in self.snapshot() if r.mentions(needle)]
