"""The authorization server's signing keys: discovered, fetched with httpx2, cached.

Keys are looked up by ``kid`` and algorithm. A key is only ever used with an algorithm its
type supports (and its own ``alg`` when it names one), so a token cannot pick HMAC with a
public key or ``none``. An unknown ``kid`` refetches the set at most once per cooldown, and
fetches run one at a time, so a flood of tokens with invented kids cannot make us hammer the
authorization server. Everything here is awaited I/O: the event loop never blocks on it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import httpx2
from jwt import PyJWK, PyJWTError

from stream_mcp.errors import SigningKeysUnavailable
from stream_mcp.observability import get_logger

log = get_logger("stream_mcp.oauth")

# Algorithm → (JWK key type, curve). Asymmetric only: no HS*, no "none".
KEY_TYPES: Final[Mapping[str, tuple[str, str | None]]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
}
MAX_DOCUMENT_BYTES = 256 * 1024  # a JWKS or metadata document larger than this is refused
MAX_KEYS = 64
FETCH_TIMEOUT = 5.0
DEFAULT_MAX_AGE = 3600.0  # refresh the set this often even when every kid is known
DEFAULT_COOLDOWN = 30.0  # at most one unknown-kid refetch per this many seconds
FAILURE_BACKOFF = 5.0  # after a failed fetch, wait this long before trying again

Clock = Callable[[], float]


@dataclass(frozen=True)
class KeySet:
    """One fetched JWKS: usable keys by (kid, algorithm)."""

    keys: Mapping[tuple[str | None, str], PyJWK]
    fetched_at: float

    def find(self, kid: str | None, alg: str) -> PyJWK | None:
        """The key for ``kid``; a token without a kid matches only a set's single key."""
        if kid is not None:
            return self.keys.get((kid, alg))
        candidates = [key for (_, a), key in self.keys.items() if a == alg]
        return candidates[0] if len({k for k, _ in self.keys}) == 1 and candidates else None


def parse_key_set(document: Any, algorithms: tuple[str, ...], fetched_at: float) -> KeySet:
    """The usable signing keys of a JWKS document; unusable entries are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SigningKeysUnavailable("the JWKS document has no 'keys' list")
    keys: dict[tuple[str | None, str], PyJWK] = {}
    for jwk in entries[:MAX_KEYS]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            continue
        for alg in algorithms:
            kty, crv = KEY_TYPES[alg]
            if jwk.get("alg", alg) != alg or jwk.get("kty") != kty:
                continue
            if crv is not None and jwk.get("crv") != crv:
                continue
            try:
                keys[(kid, alg)] = PyJWK(jwk, algorithm=alg)
            except (PyJWTError, ValueError, TypeError):
                continue  # malformed key material: skip it, as PyJWKSet does
    if not keys:
        raise SigningKeysUnavailable("the JWKS document holds no usable signing key")
    return KeySet(keys, fetched_at)


def is_loopback(host: str | None) -> bool:
    return host is not None and (host in ("localhost", "::1") or host.startswith("127."))


def metadata_urls(issuer: str) -> list[str]:
    """Where RFC 8414 and OpenID Connect discovery put the issuer's metadata, in order."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


@dataclass
class JwksCache:
    """Signing keys of one issuer, from ``jwks_url`` or the issuer's metadata ``jwks_uri``.

    Holds only the last fetched set and a few timestamps; one instance per server.
    """

    issuer: str
    algorithms: tuple[str, ...]
    jwks_url: str | None = None
    allow_http: bool = False  # only for a loopback issuer (tests, local development)
    cooldown: float = DEFAULT_COOLDOWN
    max_age: float = DEFAULT_MAX_AGE
    clock: Clock = time.monotonic
    transport: httpx2.AsyncBaseTransport | None = None
    _keys: KeySet | None = field(default=None, init=False)
    _discovered: str | None = field(default=None, init=False)
    _last_refetch: float = field(default=-math.inf, init=False)
    _failed_at: float = field(default=-math.inf, init=False)
    _lock: anyio.Lock = field(default_factory=anyio.Lock, init=False)

    async def key(self, kid: str | None, alg: str) -> PyJWK | None:
        """The key that must have signed a token with this header, or ``None`` if none does.

        Raises :class:`SigningKeysUnavailable` when no key set has ever been fetched.
        """
        keys = self._keys
        fresh = keys is None or self.clock() - keys.fetched_at > self.max_age
        if keys is None or fresh:
            keys = await self._refresh(keys)
        found = keys.find(kid, alg)
        if found is not None or kid is None or fresh:
            return found  # a set fetched for this very request is not fetched again
        if self.clock() - self._last_refetch < self.cooldown:
            return None  # a kid we do not know, and we asked the AS recently
        return (await self._refresh(keys, unknown_kid=True)).find(kid, alg)

    async def _refresh(self, seen: KeySet | None, *, unknown_kid: bool = False) -> KeySet:
        async with self._lock:
            current = self._keys
            if current is not None and current is not seen:
                return current  # another request refreshed while this one waited
            now = self.clock()
            if now - self._failed_at < FAILURE_BACKOFF:
                if current is not None:
                    return current
                raise SigningKeysUnavailable(
                    "the authorization server's signing keys are unavailable", retryable=True
                )
            if unknown_kid:
                self._last_refetch = now
            try:
                self._keys = await self._fetch()
            except SigningKeysUnavailable as exc:
                self._failed_at = self.clock()
                self._discovered = None  # the metadata may have moved: discover again
                log.warning("jwks_unavailable", issuer=self.issuer, error=str(exc))
                if current is None:
                    raise
                # Keep the stale set; retry once the backoff has passed.
                self._keys = replace(current, fetched_at=self.clock() - self.max_age)
                return self._keys
            log.info("jwks_fetched", issuer=self.issuer, keys=len(self._keys.keys))
            return self._keys

    async def _fetch(self) -> KeySet:
        async with httpx2.AsyncClient(
            timeout=FETCH_TIMEOUT, follow_redirects=False, transport=self.transport
        ) as client:
            url = self.jwks_url or self._discovered or await self._discover(client)
            document = await self._get_json(client, url)
        return parse_key_set(document, self.algorithms, self.clock())

    async def _discover(self, client: httpx2.AsyncClient) -> str:
        """The issuer's ``jwks_uri``, from metadata whose ``issuer`` is exactly ours."""
        for url in metadata_urls(self.issuer):
            try:
                metadata = await self._get_json(client, url)
            except SigningKeysUnavailable:
                continue
            if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
                continue  # RFC 8414 §3.3: metadata for another issuer is not ours
            jwks_uri = metadata.get("jwks_uri")
            if isinstance(jwks_uri, str):
                self._check_url(jwks_uri)
                self._discovered = jwks_uri
                return jwks_uri
        raise SigningKeysUnavailable(
            f"no metadata with a jwks_uri for issuer {self.issuer}",
            hint="set STREAM_MCP_OAUTH_JWKS_URL",
        )

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" or (
            parts.scheme == "http" and self.allow_http and is_loopback(parts.hostname)
        ):
            return
        raise SigningKeysUnavailable(f"refusing jwks_uri {url[:120]!r}: it must be https")

    async def _get_json(self, client: httpx2.AsyncClient, url: str) -> Any:
        """A JSON document of at most MAX_DOCUMENT_BYTES, or SigningKeysUnavailable."""
        self._check_url(url)
        try:
            async with client.stream("GET", url, headers={"Accept": "application/json"}) as r:
                if r.status_code != 200:
                    raise SigningKeysUnavailable(f"{url} answered HTTP {r.status_code}")
                body = bytearray()
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise SigningKeysUnavailable(f"{url} sent more than 256 KiB")
        except httpx2.HTTPError as exc:
            raise SigningKeysUnavailable(f"cannot fetch {url}: {exc.__class__.__name__}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise SigningKeysUnavailable(f"{url} did not send JSON") from None
