"""Per-call authentication: the signer, the user-token cache and the auth decision.

The app secret lives in exactly one place at run time, a :class:`Signer`, which signs tokens
and never hands the secret back. :class:`Credentials` combines a profile's public facts (API
key, base URL, policy) with its signer and decides, for every call, which token to send::

    denied by allow/deny globs or read_only      -> PolicyError
    acting user not allowed / none at all        -> PolicyError (as_user / default_user)
    server_auth lists a glob matching the op     -> server token (deliberate elevation)
    op accepts a user token                      -> the acting user's token (cached)
    op is server-only and server_auth=server_only -> server token
    op is server-only otherwise                  -> PolicyError naming server_auth
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from urllib.parse import urlsplit

from stream_mcp.auth.policy import Policy, check_user_id
from stream_mcp.config import DEFAULT_BASE_URL
from stream_mcp.errors import ConfigError, ValidationError
from stream_mcp.observability import Redactor, get_logger

if TYPE_CHECKING:
    from stream_mcp.catalog import Operation

Clock = Callable[[], float]
MASK = "********"
MIN_SECRET_LENGTH = 8
_MAX_SIGNED_TTL = 30 * 86400
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

log = get_logger(__name__)


def check_secret(value: object) -> str:
    """Validate an API secret as typed or piped in; the message never echoes it."""
    if not isinstance(value, str) or not value:
        raise ConfigError("secret: expected a non-empty API secret", field="secret")
    if any(ch.isspace() for ch in value) or len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"secret: expected at least {MIN_SECRET_LENGTH} characters with no spaces "
            "(copy it from the Stream dashboard)",
            field="secret",
        )
    return value


def check_api_key(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("api_key: expected the app's API key", field="api_key")
    value = value.strip()
    if any(ch.isspace() for ch in value) or len(value) > 128:
        raise ConfigError(
            "api_key: expected a key without spaces (at most 128 characters)", field="api_key"
        )
    return value


def check_base_url(value: object) -> str:
    """Require https (plain http only for a local sandbox); drop a trailing slash.

    Errors show at most scheme, host and port: a path, query or user-info part may hold a
    credential someone pasted by mistake.
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("base_url: expected a URL such as " + DEFAULT_BASE_URL, field="base_url")
    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise ConfigError("base_url: not a valid URL", field="base_url") from None
    shown = f"{parts.scheme}://{host}{f':{port}' if port else ''}"
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(
            f"base_url: {shown!r}... must not carry credentials, a query or a fragment",
            field="base_url",
        )
    if not host:
        raise ConfigError(
            "base_url: expected scheme://host[:port][/path], e.g. " + DEFAULT_BASE_URL,
            field="base_url",
        )
    if parts.scheme == "https" or (parts.scheme == "http" and host in _LOCAL_HOSTS):
        return url
    raise ConfigError(
        f"base_url: {shown!r} must use https (plain http is allowed only for localhost)",
        field="base_url",
    )


def _check_ttl(ttl: object) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= _MAX_SIGNED_TTL:
        raise ValidationError(
            f"ttl: expected whole seconds between 1 and {_MAX_SIGNED_TTL}", field="ttl"
        )
    return ttl


class Signer:
    """The only holder of an app secret: it signs HS256 tokens and never returns the secret.

    It refuses to be pickled or copied, and its repr is a fixed mask, so it cannot leak
    through a log line, a traceback's repr or an accidental serialization.
    """

    __slots__ = ("__secret",)

    def __init__(self, secret: str) -> None:
        self.__secret = check_secret(secret).encode("utf-8")

    def sign_user(self, user_id: str, ttl: int, *, now: float | None = None) -> str:
        """A user token ``{user_id, iat, exp}``; ``iat`` lets Stream revoke older tokens."""
        user_id = check_user_id(user_id, field="user_id")
        return self._sign({"user_id": user_id}, ttl, now)

    def sign_server(self, ttl: int, *, now: float | None = None) -> str:
        """A short-lived server token ``{server: true, iat, exp}``."""
        return self._sign({"server": True}, ttl, now)

    def _sign(self, claims: dict[str, Any], ttl: int, now: float | None) -> str:
        iat = int(time.time() if now is None else now)
        payload = {**claims, "iat": iat, "exp": iat + _check_ttl(ttl)}
        import jwt  # first signature, not start-up (it loads cryptography)

        return jwt.encode(payload, self.__secret, algorithm="HS256")

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose``, derived from the secret (HKDF-SHA256).

        Every process holding the same app secret derives the same key, so state sealed by
        one replica opens in another; the secret itself never leaves the signer.
        """
        from cryptography.hazmat.primitives.hashes import SHA256
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(algorithm=SHA256(), length=32, salt=None, info=f"stream-mcp/{purpose}".encode())
        return hkdf.derive(self.__secret)

    def verify_body(self, body: bytes, signature: str) -> bool:
        """True when ``signature`` is the hex HMAC-SHA256 of ``body`` keyed with the secret.

        Stream signs webhooks this way (``X-Signature``); the compare runs in constant time.
        """
        expected = hmac.new(self.__secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())

    def redactor(self, base: Redactor | None = None) -> Redactor:
        """A redactor that also scrubs this secret, for logs and tool results.

        Its encodings too (reversed, base64 and base64url with or without padding, hex): an
        upstream or a prompt-injected projection could hand back any of them.
        """
        raw = self.__secret
        text = raw.decode("utf-8")
        forms = {text, text[::-1], raw.hex()}
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms.add(encoded.decode())
            forms.add(encoded.decode().rstrip("="))
        return (base or Redactor()).with_secrets(*forms)

    def __repr__(self) -> str:
        return f"Signer(secret={MASK})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Signer holds an API secret and cannot be pickled or copied")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Signer holds an API secret and cannot be pickled or copied")


@dataclass(frozen=True, slots=True)
class AuthDecision:
    """How one call authenticates. ``token`` stays out of the repr."""

    mode: Literal["user", "server"]
    acting_user: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A user token handed to a frontend; ``expires_at`` is Unix seconds."""

    token: str = field(repr=False)
    user_id: str
    expires_at: int


def refresh_margin(ttl: int) -> int:
    """Seconds before expiry at which a cached token is replaced: 20% of ttl, 5-60 s."""
    return max(5, min(60, ttl // 5))


class TokenCache:
    """User tokens keyed by (profile, user), reused until shortly before they expire.

    One instance per :class:`Credentials` (or shared deliberately); bounded, thread-safe.
    """

    def __init__(self, *, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], now: float) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            token, refresh_at = entry
            if now >= refresh_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return token

    def put(self, key: tuple[str, str], token: str, refresh_at: float) -> None:
        with self._lock:
            self._entries[key] = (token, refresh_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TokenCache(<{len(self._entries)} tokens>)"


class Credentials:
    """One profile, ready to authorize calls. Built by the vault or environment backend."""

    def __init__(
        self,
        *,
        profile_name: str,
        api_key: str,
        signer: Signer,
        base_url: str = DEFAULT_BASE_URL,
        policy: Policy | None = None,
        clock: Clock = time.time,
        cache: TokenCache | None = None,
    ) -> None:
        if not isinstance(signer, Signer):
            raise TypeError("signer must be a stream_mcp.auth.credentials.Signer")
        self.profile_name = profile_name
        self.api_key = check_api_key(api_key)
        self.base_url = check_base_url(base_url)
        self.policy = policy or Policy()
        self._signer = signer
        self._clock = clock
        self._cache = cache if cache is not None else TokenCache()

    def with_policy(self, policy: Policy) -> Credentials:
        """The same profile and signer under a narrower policy (e.g. ``serve --read-only``)."""
        return Credentials(
            profile_name=self.profile_name,
            api_key=self.api_key,
            signer=self._signer,
            base_url=self.base_url,
            policy=policy,
            clock=self._clock,
        )

    def authorize(self, operation: Operation, as_user: str | None = None) -> AuthDecision:
        """Decide how ``operation`` runs and mint the token for it (see the module docstring)."""
        self.policy.check_operation(operation)
        acting_user = self.policy.resolve_user(as_user)
        mode = self.policy.auth_mode(operation)
        now = self._clock()
        if mode == "server":
            token = self._signer.sign_server(self.policy.user_token_ttl, now=now)
        else:
            token = self._user_token(acting_user, now)
        log.debug(
            "auth_decision",
            profile=self.profile_name,
            operation=operation.operation_id,
            mode=mode,
            acting_user=acting_user,
        )
        return AuthDecision(mode=mode, acting_user=acting_user, token=token)

    def issue_user_token(self, user_id: str, ttl_seconds: int | None = None) -> IssuedToken:
        """A fresh user token for a frontend, capped at the policy's ``max_issued_ttl``."""
        user_id = self.policy.require_user(user_id, field="user_id")
        ttl = self.policy.issued_ttl(ttl_seconds)
        iat = int(self._clock())
        token = self._signer.sign_user(user_id, ttl, now=iat)
        log.info("user_token_issued", profile=self.profile_name, user_id=user_id, ttl=ttl)
        return IssuedToken(token=token, user_id=user_id, expires_at=iat + ttl)

    def derive_key(self, purpose: str) -> bytes:
        """A key for ``purpose`` derived from the secret (see :meth:`Signer.derive_key`)."""
        return self._signer.derive_key(purpose)

    def verify_webhook(self, body: bytes, signature: str) -> bool:
        """Whether a webhook body carries this app's signature (see :meth:`Signer.verify_body`)."""
        return self._signer.verify_body(body, signature)

    def redactor(self, base: Redactor | None = None) -> Redactor:
        """A redactor that knows this profile's secret, without exposing it."""
        return self._signer.redactor(base)

    def _user_token(self, user_id: str, now: float) -> str:
        key = (self.profile_name, user_id)
        token = self._cache.get(key, now)
        if token is None:
            ttl = self.policy.user_token_ttl
            iat = int(now)
            token = self._signer.sign_user(user_id, ttl, now=iat)
            self._cache.put(key, token, refresh_at=iat + ttl - refresh_margin(ttl))
        return token

    def __repr__(self) -> str:
        return f"Credentials(profile={self.profile_name!r}, base_url={self.base_url!r})"
