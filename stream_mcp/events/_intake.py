"""Webhook intake: Stream's own authentication scheme in front of the event store.

Stream signs each delivery: ``X-Signature`` is the hex HMAC-SHA256 of the raw body keyed with
the app secret, ``X-Api-Key`` names the app and ``X-Webhook-Id`` names the delivery (the same
id on a redelivery). The checks run in a fixed order, cheapest first, and nothing is stored
unless all pass: size (413), app key and signature (401), JSON (400). A repeated delivery id
answers 200 and stores nothing. The secret never leaves the credential layer; the signature
is never logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from stream_mcp.auth import Credentials
from stream_mcp.errors import StreamMCPError, WebhookRejected
from stream_mcp.events._model import Event, normalise
from stream_mcp.events._store import EventStore
from stream_mcp.observability import Redactor, get_logger

MAX_WEBHOOK_BYTES = 1 << 20
MAX_EVENTS_PER_DELIVERY = 100
DEFAULT_WEBHOOK_PATH = "/webhooks/stream"
_DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = get_logger("stream_mcp.events")

Listener = Callable[[tuple[Event, ...]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Received:
    stored: int
    duplicates: int


class WebhookIntake:
    """Verifies, normalises, redacts and stores webhook deliveries for one profile."""

    def __init__(
        self,
        credentials: Credentials,
        store: EventStore,
        *,
        redactor: Redactor | None = None,
        listeners: tuple[Listener, ...] = (),
    ) -> None:
        self._credentials = credentials
        self._store = store
        self._redactor = redactor or credentials.redactor()
        self._listeners = listeners

    async def receive(self, headers: Mapping[str, str], body: bytes) -> Received:
        """Check and store one delivery; raise :class:`WebhookRejected` with the status."""
        if len(body) > MAX_WEBHOOK_BYTES:
            raise WebhookRejected("webhook body larger than 1 MB", status=413)
        api_key = headers.get("x-api-key", "")
        signature = headers.get("x-signature", "")
        if not signature:
            raise WebhookRejected("missing X-Signature", status=401)
        if api_key != self._credentials.api_key:
            raise WebhookRejected("X-Api-Key does not match this profile's app", status=401)
        if len(signature) > 256 or not self._credentials.verify_webhook(body, signature):
            raise WebhookRejected("X-Signature does not match the body", status=401)
        delivery = headers.get("x-webhook-id") or None
        if delivery is not None and not _DELIVERY_ID.fullmatch(delivery):
            raise WebhookRejected("X-Webhook-Id is not a valid id", status=400)
        payloads = _payloads(body)
        # Walk the payloads only when the body holds something a redaction rule could hit.
        redact = self._redactor.needs_redaction(body.decode("utf-8", errors="replace"))
        events = []
        for payload in payloads:
            try:
                events.append(
                    normalise(self._redactor.value(payload) if redact else payload, "webhook")
                )
            except StreamMCPError as exc:
                raise WebhookRejected(f"event: {exc}", status=400) from None
        appended = await self._store.append(events, delivery_id=delivery)
        log.debug(
            "webhook_received",
            delivery=delivery,
            events=len(events),
            stored=len(appended.stored),
            duplicates=appended.duplicates,
        )
        for listener in self._listeners:
            await listener(appended.stored)
        return Received(len(appended.stored), appended.duplicates)

    async def endpoint(self, request: Request) -> Response:
        """The Starlette endpoint (POST only; the route says so)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
            return _reject(413, "webhook body larger than 1 MB")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_WEBHOOK_BYTES:
                return _reject(413, "webhook body larger than 1 MB")
        try:
            # Starlette's headers are case-insensitive already: no copy per delivery.
            received = await self.receive(request.headers, bytes(body))
        except WebhookRejected as exc:
            log.info("webhook_rejected", status=exc.status, reason=str(exc))
            return _reject(exc.status, str(exc))
        except StreamMCPError as exc:
            log.warning("webhook_failed", error=exc.kind, reason=str(exc))
            return _reject(503, "the event store is unavailable; Stream will not retry")
        return JSONResponse({"stored": received.stored, "duplicates": received.duplicates})


def _payloads(body: bytes) -> list[dict[str, Any]]:
    try:
        decoded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise WebhookRejected("webhook body is not valid JSON", status=400) from None
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items or len(items) > MAX_EVENTS_PER_DELIVERY:
        raise WebhookRejected("webhook body holds no event or too many", status=400)
    if not all(isinstance(item, dict) for item in items):
        raise WebhookRejected("webhook body must be an event object", status=400)
    return items


def _reject(status: int, message: str) -> Response:
    kind = {400: "bad_request", 401: "unauthorized", 413: "too_large"}.get(status, "unavailable")
    return JSONResponse({"error": kind, "message": message}, status_code=status)
