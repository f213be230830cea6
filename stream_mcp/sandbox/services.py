"""App-wide helpers a request may need besides the store: the rate limiter, the app's
credentials (to sign the upload and download URLs the sandbox hands out) and the webhook
delivery queue recorded events are handed to."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from stream_mcp.sandbox.auth import Credentials
from stream_mcp.sandbox.ratelimit import RateLimiter
from stream_mcp.sandbox.webhooks import Webhooks


@dataclass(frozen=True)
class Services:
    credentials: Credentials
    limiter: RateLimiter
    webhooks: Webhooks | None = None

    def sign(self, *parts: str) -> str:
        """An HMAC of ``parts`` with the app secret, like the signature of a presigned URL."""
        message = "\n".join(parts).encode()
        return hmac.new(self.credentials.api_secret.encode(), message, hashlib.sha256).hexdigest()

    def verify(self, signature: str, *parts: str) -> bool:
        return hmac.compare_digest(signature, self.sign(*parts))
