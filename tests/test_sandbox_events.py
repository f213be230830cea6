"""The sandbox's events end to end, over real loopback sockets: recorded with each change,
delivered as signed webhooks to a real receiver, and read back with Sync (v1 and v2)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from stream_chat import StreamChat

from stream_mcp.errors import ConfigError
from stream_mcp.sandbox import Sandbox, events
from stream_mcp.sandbox.webhooks import check_drop_rate, targets
from tests.e2e import TLS
from tests.sandbox_helpers import auth_headers, server_token, uid, user_token

# -- a real webhook receiver ---------------------------------------------------------------


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.perf_counter() on arrival

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Records every POST; ``/fail/...`` answers 500 and ``/hang/...`` never answers in time."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, kind: str = "ok") -> str:
        # A fresh path per use keeps tests sharing this receiver apart.
        return f"{self.base_url}/{kind}/{uuid.uuid4().hex}"

    def at(self, url: str) -> list[Hit]:
        path = url.removeprefix(self.base_url)
        with self.changed:
            return [hit for hit in self.hits if hit.path == path]

    def wait(self, url: str, count: int, timeout: float = 10.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.at(url)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return self.at(url)

    async def handle(self, request: Request) -> Response:
        hit = Hit(
            request.url.path, dict(request.headers), await request.body(), time.perf_counter()
        )
        with self.changed:
            self.hits.append(hit)
            self.changed.notify_all()
        if request.url.path.startswith("/hang/"):
            await asyncio.sleep(5)
        if request.url.path.startswith("/fail/"):
            return Response("no", status_code=500)
        return Response("ok")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/{path:path}", found.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="off",
        http="h11",
        loop="asyncio",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    found.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield found
    server.should_exit = True
    thread.join(5)


# -- talking to the sandbox ----------------------------------------------------------------


class Sb(Sandbox):
    """A sandbox with one keep-alive HTTP client (a new client per call costs ~100 ms)."""

    _client: httpx2.Client | None = None

    @property
    def client(self) -> httpx2.Client:
        if self._client is None:
            self._client = httpx2.Client(base_url=self.base_url, trust_env=False, verify=TLS)
        return self._client

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        super().stop()


def api(
    sb: Sb,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
) -> httpx2.Response:
    headers = auth_headers(token or server_token(sb.api_secret))
    query = {"api_key": sb.api_key, **(params or {})}
    return sb.client.request(method, path, params=query, headers=headers, json=body)


def ok(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    parsed: dict[str, Any] = response.json()
    return parsed


def hook(sb: Sb, url: str, **settings: Any) -> None:
    """Point the app's webhook at ``url`` with UpdateApp, as one does on Stream."""
    ok(api(sb, "PATCH", "/app", {"webhook_url": url, **settings}))


def setup_channel(sb: Sb, members: int = 2) -> tuple[str, list[str]]:
    users = [uid("user") for _ in range(members)]
    ok(api(sb, "POST", "/users", {"users": {u: {"id": u} for u in users}}))
    cid = f"messaging:{uid('chan')}"
    ok(
        api(
            sb,
            "POST",
            f"/channels/messaging/{cid.split(':')[1]}/query",
            {"data": {"created_by_id": users[0], "members": users}},
        )
    )
    return cid, users


def send(sb: Sb, cid: str, user: str, text: str) -> dict[str, Any]:
    path = f"/channels/{cid.replace(':', '/')}/message"
    message: dict[str, Any] = ok(
        api(sb, "POST", path, {"message": {"text": text, "user_id": user}})
    )["message"]
    return message


def sync(
    sb: Sb,
    cids: list[str],
    since: str,
    user: str,
    *,
    params: dict[str, str] | None = None,
    path: str = "/sync",
) -> httpx2.Response:
    body = {"channel_cids": cids, "last_sync_at": since}
    return api(sb, "POST", path, body, token=user_token(sb.api_secret, user), params=params)


def an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def sandbox() -> Iterator[Sb]:
    with Sb() as sb:
        yield sb


# -- delivery ------------------------------------------------------------------------------


def test_webhooks_are_signed_and_carry_streams_headers_and_payloads(
    sandbox: Sb, receiver: Receiver
) -> None:
    url = receiver.url()
    hook(sandbox, url, webhook_events=["message.new", "reaction.new"])
    cid, (alice, bob) = setup_channel(sandbox)
    sent = send(sandbox, cid, alice, "hello")
    ok(
        api(
            sandbox,
            "POST",
            f"/messages/{sent['id']}/reaction",
            {"reaction": {"type": "like", "user_id": bob}},
        )
    )
    hits = receiver.wait(url, 2)
    assert [h.event["type"] for h in hits] == ["message.new", "reaction.new"]

    client = StreamChat(api_key=sandbox.api_key, api_secret=sandbox.api_secret)
    other = StreamChat(api_key=sandbox.api_key, api_secret="not-the-app-secret-" * 3)
    for hit in hits:
        signature = hit.headers["x-signature"]
        assert (
            signature == hmac.new(sandbox.api_secret.encode(), hit.body, hashlib.sha256).hexdigest()
        )
        assert client.verify_webhook(hit.body, signature)
        assert not other.verify_webhook(hit.body, signature)
        assert hit.headers["content-type"] == "application/json"
        assert hit.headers["x-api-key"] == sandbox.api_key
        assert hit.headers["x-webhook-attempt"] == "1"
        assert uuid.UUID(hit.headers["x-webhook-id"])
        assert hit.headers["user-agent"]
    assert hits[0].headers["x-webhook-id"] != hits[1].headers["x-webhook-id"]

    new = hits[0].event
    assert new["cid"] == cid
    assert (new["channel_type"], new["channel_id"]) == tuple(cid.split(":"))
    assert new["user"]["id"] == alice
    assert new["message_id"] == sent["id"] == new["message"]["id"]
    assert new["message"]["text"] == "hello"
    assert new["watcher_count"] == 0
    assert new["created_at"].endswith("Z")

    reaction = hits[1].event
    assert reaction["user"]["id"] == bob
    assert reaction["reaction"]["type"] == "like"
    assert reaction["reaction"]["user_id"] == bob
    assert reaction["message"]["reaction_counts"] == {"like": 1}
    assert reaction["channel"]["cid"] == cid
    assert sandbox.wait_for_webhooks()
    assert sandbox.webhooks.delivered == 2


def test_event_types_reach_the_receiver_in_recording_order(sandbox: Sb, receiver: Receiver) -> None:
    url = receiver.url()
    hook(sandbox, url)
    cid, (alice, bob) = setup_channel(sandbox)
    carol = uid("user")
    ok(api(sandbox, "POST", "/users", {"users": {carol: {"id": carol}}}))
    path = f"/channels/{cid.replace(':', '/')}"
    first = send(sandbox, cid, alice, "one")
    ok(
        api(
            sandbox,
            "POST",
            f"/messages/{first['id']}",
            {"message": {"text": "1", "user_id": alice}},
        )
    )
    ok(
        api(
            sandbox,
            "POST",
            f"/messages/{first['id']}/reaction",
            {"reaction": {"type": "like", "user_id": bob}},
        )
    )
    ok(api(sandbox, "DELETE", f"/messages/{first['id']}/reaction/like", params={"user_id": bob}))
    ok(api(sandbox, "POST", path, {"add_members": [carol], "user_id": alice}))
    ok(api(sandbox, "POST", path, {"add_moderators": [bob], "user_id": alice}))
    ok(api(sandbox, "POST", path, {"remove_members": [carol], "user_id": alice}))
    ok(api(sandbox, "PATCH", path, {"set": {"color": "red"}, "user_id": alice}))
    ok(api(sandbox, "POST", "/moderation/ban", {"target_user_id": bob, "banned_by_id": alice}))
    ok(api(sandbox, "DELETE", "/moderation/ban", params={"target_user_id": bob}))
    ok(api(sandbox, "POST", "/moderation/flag", {"target_message_id": first["id"], "user_id": bob}))
    ok(api(sandbox, "POST", "/moderation/flag", {"target_user_id": alice, "user_id": bob}))
    ok(api(sandbox, "PATCH", "/users", {"users": [{"id": bob, "set": {"name": "Bob"}}]}))
    ok(api(sandbox, "DELETE", f"/messages/{first['id']}", params={"hard": "true"}))
    ok(api(sandbox, "POST", f"{path}/truncate", {"user_id": alice}))
    ok(api(sandbox, "DELETE", path))
    expected = [
        "user.updated",
        "user.updated",
        "channel.created",
        "member.added",
        "member.added",
        "user.updated",
        "message.new",
        "message.updated",
        "reaction.new",
        "reaction.deleted",
        "member.added",
        "member.updated",
        "member.removed",
        "channel.updated",
        "user.banned",
        "user.unbanned",
        "message.flagged",
        "user.flagged",
        "user.updated",
        "message.deleted",
        "channel.truncated",
        "channel.deleted",
    ]
    hits = receiver.wait(url, len(expected))
    got = [h.event for h in hits]
    assert [e["type"] for e in got] == expected
    stamps = [e["created_at"] for e in got]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    by_type = {e["type"]: e for e in got}
    assert by_type["member.removed"]["member"]["user_id"] == carol
    assert by_type["user.banned"]["user"]["id"] == bob
    assert by_type["user.banned"]["created_by"]["id"] == alice
    assert by_type["user.flagged"]["target_user"]["id"] == alice
    assert by_type["message.flagged"]["message"]["id"] == first["id"]
    assert by_type["message.deleted"]["hard_delete"] is True


def test_webhook_events_and_event_hooks_filter_by_type(sandbox: Sb, receiver: Receiver) -> None:
    legacy, v2, disabled, everything = (receiver.url() for _ in range(4))
    hook(
        sandbox,
        legacy,
        webhook_events=["reaction.new"],
        event_hooks=[
            {"hook_type": "webhook", "webhook_url": v2, "event_types": ["message.new"]},
            {"hook_type": "webhook", "webhook_url": disabled, "enabled": False},
            {"hook_type": "webhook", "webhook_url": everything, "event_types": []},
        ],
    )
    cid, (alice, bob) = setup_channel(sandbox)
    sent = send(sandbox, cid, alice, "hi")
    ok(
        api(
            sandbox,
            "POST",
            f"/messages/{sent['id']}/reaction",
            {"reaction": {"type": "wow", "user_id": bob}},
        )
    )
    assert sandbox.wait_for_webhooks()
    assert [h.event["type"] for h in receiver.at(legacy)] == ["reaction.new"]
    assert [h.event["type"] for h in receiver.at(v2)] == ["message.new"]
    assert receiver.at(disabled) == []
    assert [h.event["type"] for h in receiver.at(everything)][-2:] == [
        "message.new",
        "reaction.new",
    ]


def test_targets_treat_an_empty_filter_as_every_event() -> None:
    assert targets({"webhook_url": "http://a", "webhook_events": []}, "x.y") == ["http://a"]
    assert targets({"webhook_url": "", "webhook_events": []}, "x.y") == []
    both = {
        "webhook_url": "http://a",
        "event_hooks": [{"hook_type": "webhook", "webhook_url": "http://a"}],
    }
    assert targets(both, "message.new") == ["http://a"]  # one delivery per distinct URL
    sqs = {"event_hooks": [{"hook_type": "sqs", "webhook_url": "http://b"}]}
    assert targets(sqs, "message.new") == []


def test_delivery_follows_the_response_within_milliseconds(sandbox: Sb, receiver: Receiver) -> None:
    url = receiver.url()
    hook(sandbox, url, webhook_events=["message.new"])
    cid, (alice, _) = setup_channel(sandbox)
    delays = []
    for i in range(20):
        started = time.perf_counter()
        send(sandbox, cid, alice, f"m{i}")
        hit = receiver.wait(url, i + 1)[-1]
        delays.append(hit.at - started)
    assert statistics.median(delays) < 0.1, delays


# -- faults --------------------------------------------------------------------------------


def test_dropped_webhooks_are_still_in_sync_exactly_once(receiver: Receiver) -> None:
    url = receiver.url()
    total = 200
    with Sb(drop_webhooks=0.3, webhook_seed=20240611) as sb:
        since = an_hour_ago()
        hook(sb, url, webhook_events=["message.new"])
        cid, (alice, bob) = setup_channel(sb)
        sent = [send(sb, cid, alice, f"message {i}")["id"] for i in range(total)]
        assert sb.wait_for_webhooks(30)
        counters = sb.webhooks
        assert counters.delivered + counters.dropped == total and counters.failed == 0
        # Binomial(200, 0.3): mean 60, standard deviation 6.5; this bound is over 3.8 sigma.
        assert 35 <= counters.dropped <= 85, counters
        received = [h.event["message_id"] for h in receiver.at(url)]
        assert len(received) == counters.delivered == len(set(received))
        assert set(received) <= set(sent)
        synced = ok(sync(sb, [cid], since, bob))["events"]
        ids = [e["message_id"] for e in synced if e["type"] == "message.new"]
        assert ids == sent  # every event, once, oldest first


def test_the_same_seed_drops_the_same_deliveries(receiver: Receiver) -> None:
    patterns = []
    for _ in range(2):
        url = receiver.url()
        with Sb(drop_webhooks=0.5, webhook_seed=7) as sb:
            hook(sb, url, webhook_events=["message.new"])
            cid, (alice, _) = setup_channel(sb)
            for i in range(30):
                send(sb, cid, alice, str(i))
            assert sb.wait_for_webhooks()
        patterns.append([h.event["message"]["text"] for h in receiver.at(url)])
    assert patterns[0] == patterns[1] and 0 < len(patterns[0]) < 30


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.3"])
def test_drop_rate_must_be_a_probability(bad: Any) -> None:
    with pytest.raises(ValueError, match="drop_webhooks"):
        Sandbox(drop_webhooks=bad)
    with pytest.raises(ValueError, match="drop_webhooks"):
        check_drop_rate(bad)


def test_cli_refuses_a_drop_rate_outside_zero_to_one() -> None:
    from stream_mcp.cli.sandbox_cmd import run

    args = argparse.Namespace(
        host="127.0.0.1", port=0, db=":memory:", log_level="WARNING", drop_webhooks=1.2
    )
    with pytest.raises(ConfigError, match="--drop-webhooks"):
        run(args)


def test_failing_or_hanging_receivers_do_not_slow_the_api(receiver: Receiver) -> None:
    for kind in ("fail", "hang"):
        url = receiver.url(kind)
        with Sb() as sb:
            hook(sb, url, webhook_events=["message.new"])
            cid, (alice, _) = setup_channel(sb)
            started = time.perf_counter()
            for i in range(10):
                send(sb, cid, alice, str(i))
            elapsed = time.perf_counter() - started
            assert elapsed < 1.5, (kind, elapsed)  # a hung delivery alone takes 2 s
            if kind == "fail":
                assert sb.wait_for_webhooks()
                assert sb.webhooks.failed == 10 and sb.webhooks.delivered == 0
            stopping = time.perf_counter()
        assert time.perf_counter() - stopping < 5  # stop() abandons the queue


def test_a_failed_request_records_no_event(sandbox: Sb, receiver: Receiver) -> None:
    url = receiver.url()
    hook(sandbox, url, webhook_events=["message.new", "channel.updated"])
    cid, (alice, _) = setup_channel(sandbox)
    path = f"/channels/{cid.replace(':', '/')}"
    # The channel update is written, then the attached message fails: all of it rolls back.
    refused = api(
        sandbox,
        "POST",
        path,
        {"data": {"color": "blue"}, "message": {"text": "x" * 6000, "user_id": alice}},
    )
    assert refused.status_code == 400
    send(sandbox, cid, alice, "after")
    assert sandbox.wait_for_webhooks()
    assert [h.event["message"]["text"] for h in receiver.at(url)] == ["after"]


# -- Sync ----------------------------------------------------------------------------------


def test_sync_returns_a_members_channels_and_reports_the_others(sandbox: Sb) -> None:
    since = an_hour_ago()
    mine, (alice, bob) = setup_channel(sandbox)
    theirs, _ = setup_channel(sandbox)
    send(sandbox, mine, alice, "for bob")
    send(sandbox, theirs, alice, "not for bob")
    plain = ok(sync(sandbox, [mine, theirs], since, bob))["events"]
    assert {e["cid"] for e in plain} == {mine, theirs}
    assert [e["type"] for e in plain if e["cid"] == theirs] == ["notification.removed_from_channel"]
    assert [e["message"]["text"] for e in plain if e["type"] == "message.new"] == ["for bob"]
    assert "inaccessible_cids" not in ok(sync(sandbox, [mine], since, bob))

    flagged = ok(sync(sandbox, [mine, theirs], since, bob, params={"with_inaccessible_cids": "1"}))
    assert flagged["inaccessible_cids"] == [theirs]
    assert {e["cid"] for e in flagged["events"]} == {mine}
    types = [e["type"] for e in flagged["events"]]
    assert types == ["channel.created", "member.added", "member.added", "message.new"]

    # Server-side: the user is named with user_id, as Stream requires.
    body = {"channel_cids": [mine], "last_sync_at": since}
    refused = api(sandbox, "POST", "/sync", body)
    assert (refused.status_code, refused.json()["code"]) == (400, 4)
    named = ok(api(sandbox, "POST", "/sync", body, params={"user_id": bob}))
    assert named["events"] == flagged["events"]


def test_sync_starts_after_last_sync_at_and_follows_removal(sandbox: Sb) -> None:
    cid, (alice, bob) = setup_channel(sandbox)
    send(sandbox, cid, alice, "before")
    mark = ok(sync(sandbox, [cid], an_hour_ago(), bob))["events"][-1]["created_at"]
    send(sandbox, cid, alice, "after")
    later = ok(sync(sandbox, [cid], mark, bob))["events"]
    assert [e["message"]["text"] for e in later] == ["after"]
    path = f"/channels/{cid.replace(':', '/')}"
    ok(api(sandbox, "POST", path, {"remove_members": [bob], "user_id": alice}))
    gone = ok(sync(sandbox, [cid], mark, bob, params={"with_inaccessible_cids": "true"}))
    assert gone == {**gone, "events": [], "inaccessible_cids": [cid]}


def test_sync_refuses_bad_input_the_way_stream_does(
    sandbox: Sb, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, (alice, bob) = setup_channel(sandbox)
    old = (datetime.now(UTC) - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    too_old = sync(sandbox, [cid], old, bob)
    assert (too_old.status_code, too_old.json()["code"]) == (400, 4)
    assert too_old.json()["message"].startswith('Sync failed with error: "last_sync_at')
    empty = sync(sandbox, [], an_hour_ago(), bob)
    assert empty.status_code == 400
    assert "channel_cids" in empty.json()["exception_fields"]
    missing = api(
        sandbox, "POST", "/sync", {"channel_cids": [cid]}, token=user_token(sandbox.api_secret, bob)
    )
    assert "last_sync_at" in missing.json()["exception_fields"]
    bad_cid = sync(sandbox, ["no-colon"], an_hour_ago(), bob)
    assert bad_cid.status_code == 400
    for i in range(3):
        send(sandbox, cid, alice, str(i))
    monkeypatch.setattr(events, "SYNC_EVENT_LIMIT", 4)
    capped = sync(sandbox, [cid], an_hour_ago(), bob)
    assert (capped.status_code, capped.json()["code"]) == (400, 4)
    assert "too many events" in capped.json()["message"]


def test_v2_sync_speaks_numeric_timestamps(sandbox: Sb) -> None:
    cid, (alice, bob) = setup_channel(sandbox)
    send(sandbox, cid, alice, "v2")
    since_ns = int((time.time() - 3600) * 1_000_000_000)
    answer = ok(
        api(
            sandbox,
            "POST",
            "/api/v2/chat/sync",
            {"channel_cids": [cid], "last_sync_at": since_ns},
            token=user_token(sandbox.api_secret, bob),
        )
    )
    new = next(e for e in answer["events"] if e["type"] == "message.new")
    assert isinstance(new["created_at"], int) and new["created_at"] > since_ns
    assert isinstance(new["message"]["created_at"], int)
    assert isinstance(new["user"]["created_at"], int)
    assert answer["duration"].endswith("ms")


def test_events_survive_a_restart_with_a_file_database(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    with Sb(db=db) as sb:
        since = an_hour_ago()
        cid, (alice, bob) = setup_channel(sb)
        first = send(sb, cid, alice, "before restart")
        key, secret = sb.api_key, sb.api_secret
    with Sb(db=db, api_key=key, api_secret=secret) as sb:
        second = send(sb, cid, alice, "after restart")
        synced = [
            e for e in ok(sync(sb, [cid], since, bob))["events"] if e["type"] == "message.new"
        ]
        assert [e["message_id"] for e in synced] == [first["id"], second["id"]]
        assert synced[0]["created_at"] < synced[1]["created_at"]
        rows = events.stored(sb._store)
        assert [int(r["seq"]) for r in rows] == list(range(1, len(rows) + 1))
