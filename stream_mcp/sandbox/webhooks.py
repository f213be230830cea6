"""Webhook delivery: each recorded event is POSTed to the app's webhook URLs, as Stream does.

Requests leave a background thread fed by a queue, after the event's transaction committed
and in the order transactions committed, so a slow or failing receiver never touches the API
request that caused the event. Delivery is at most once: one attempt, no retry (the product
fills gaps with Sync, as it must with Stream). ``drop_rate`` throws away that share of
deliveries at random, to rehearse lost webhooks.

Each request carries Stream's headers: ``X-Signature`` (lowercase hex HMAC-SHA256 of the raw
body, keyed with the app secret), ``X-Webhook-Id`` (fresh per delivery), ``X-Webhook-Attempt``
(always 1) and ``X-Api-Key``. Neither the secret nor a signature is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import random
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2

from stream_mcp.sandbox.auth import Credentials

log = logging.getLogger("stream_mcp.sandbox")

DEFAULT_TIMEOUT_SECONDS = 2.0
USER_AGENT = "stream-mcp-sandbox-webhooks/1"


@dataclass(frozen=True)
class WebhookCounters:
    """Deliveries so far: answered 2xx, thrown away by ``drop_rate``, or failed (no answer,
    a timeout or a non-2xx status)."""

    delivered: int = 0
    dropped: int = 0
    failed: int = 0


def check_drop_rate(value: float, name: str = "drop_webhooks") -> float:
    """``value`` as a probability, or ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}")
    rate = float(value)
    if not 0.0 <= rate <= 1.0:  # also refuses NaN
        raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
    return rate


def targets(settings: Mapping[str, Any], event_type: str) -> list[str]:
    """The distinct URLs an event of ``event_type`` goes to, under the stored app settings.

    The legacy ``webhook_url`` (filtered by ``webhook_events``) and every enabled v2
    ``event_hooks`` entry of type ``webhook`` (filtered by ``event_types``); an empty filter
    means every event, as in Stream.
    """
    urls: list[str] = []
    url = settings.get("webhook_url")
    if isinstance(url, str) and url and _wants(settings.get("webhook_events"), event_type):
        urls.append(url)
    for hook in settings.get("event_hooks") or []:
        if not isinstance(hook, Mapping) or hook.get("hook_type", "webhook") != "webhook":
            continue
        if hook.get("enabled") is False:
            continue
        url = hook.get("webhook_url")
        if isinstance(url, str) and url and _wants(hook.get("event_types"), event_type):
            urls.append(url)
    return list(dict.fromkeys(urls))


def _wants(filter_types: Any, event_type: str) -> bool:
    if not isinstance(filter_types, list) or not filter_types:
        return True
    return event_type in filter_types or "*" in filter_types


def sign(secret: str, body: bytes) -> str:
    """Stream's webhook signature: lowercase hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _where(url: str) -> str:
    """A URL fit for a log line: scheme, host and path (no query, no credentials)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


class Webhooks:
    """The delivery queue and its worker thread (started with the first delivery)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        drop_rate: float = 0.0,
        seed: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._credentials = credentials
        self.drop_rate = check_drop_rate(drop_rate)
        self._random = random.Random(seed)
        self._timeout = timeout
        self._queue: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._outstanding = 0
        self._delivered = self._dropped = self._failed = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- producer side ---------------------------------------------------------------------

    def submit(self, event: Mapping[str, Any], urls: Sequence[str]) -> None:
        """Queue ``event`` for each URL; returns at once. Ignored once closed."""
        if not urls:
            return
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        with self._lock:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="stream-mcp-sandbox-webhooks", daemon=True
                )
                self._thread.start()
            self._outstanding += len(urls)
            for url in urls:
                self._queue.put((url, body))

    @property
    def counters(self) -> WebhookCounters:
        with self._lock:
            return WebhookCounters(self._delivered, self._dropped, self._failed)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery was attempted (or dropped); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Stop the worker: queued deliveries not yet started are abandoned. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(self._timeout + 1.0 if timeout is None else timeout)

    # -- worker side -----------------------------------------------------------------------

    def _run(self) -> None:
        # TCP_NODELAY: small POSTs must not wait for delayed ACKs (tens of ms on loopback).
        transport = httpx2.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], retries=0
        )
        with httpx2.Client(transport=transport, timeout=self._timeout, trust_env=False) as client:
            while True:
                item = self._queue.get()
                if item is None or self._closed:
                    self._abandon()
                    return
                url, body = item
                outcome = "failed"
                try:
                    outcome = self._deliver(client, url, body)
                except Exception:  # a bad URL must not kill the worker
                    log.warning("webhook delivery to %s could not be sent", _where(url))
                finally:
                    self._finish(outcome)

    def _deliver(self, client: httpx2.Client, url: str, body: bytes) -> str:
        if self.drop_rate and self._random.random() < self.drop_rate:
            return "dropped"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Api-Key": self._credentials.api_key,
            "X-Signature": sign(self._credentials.api_secret, body),
            "X-Webhook-Id": str(uuid.uuid4()),
            "X-Webhook-Attempt": "1",
        }
        try:
            response = client.post(url, content=body, headers=headers)
        except (httpx2.HTTPError, OSError) as exc:
            log.warning("webhook delivery to %s failed: %s", _where(url), type(exc).__name__)
            return "failed"
        if not 200 <= response.status_code < 300:
            log.warning("webhook delivery to %s answered %s", _where(url), response.status_code)
            return "failed"
        return "delivered"

    def _finish(self, outcome: str) -> None:
        with self._idle:
            if outcome == "delivered":
                self._delivered += 1
            elif outcome == "dropped":
                self._dropped += 1
            else:
                self._failed += 1
            self._outstanding -= 1
            self._idle.notify_all()

    def _abandon(self) -> None:
        """Forget whatever is still queued, so waiters on :meth:`wait_idle` return."""
        with self._idle:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._outstanding = 0
            self._idle.notify_all()
