"""OAuth 2.1 resource server for the HTTP transport, as the MCP authorization spec describes.

A remote client finds the authorization server through RFC 9728 protected-resource metadata
(served here without auth, and named in every 401's ``WWW-Authenticate``), gets a JWT access
token whose audience is this server's resource URL (RFC 8707), and sends it as a bearer token.
:class:`JwtVerifier` checks it (issuer, audience, expiry with a small leeway, an asymmetric
algorithm from the allow-list, the signature through the issuer's JWKS) and turns its claims
into an :class:`OAuthPrincipal`, a :class:`~stream_mcp.service.Caller` like an API key's:
``sub`` names it, ``scope``/``scp`` bound what it may run (see :mod:`stream_mcp.auth.scopes`),
and the users claim lists the Stream users it may act as (none when absent).

The SDK's ``BearerAuthBackend``/``RequireAuthMiddleware`` are not used: they cannot say why a
token was refused, challenge with ``invalid_token`` even when no token was sent, check one
scope list for the whole endpoint, and know nothing of API keys. Their parts that fit (the
metadata model and handler, ``AccessToken``, ``AuthenticatedUser`` for session ownership) are.

The token itself goes nowhere: Stream calls are signed with the profile's own credentials,
and results and logs pass the redactor, which removes every JWT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import jwt
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.routing import Route

from stream_mcp.auth import check_globs
from stream_mcp.auth.scopes import ADMIN, SCOPES, Scope, effective_scopes
from stream_mcp.errors import ConfigError, InvalidToken
from stream_mcp.server._jwks import KEY_TYPES, JwksCache, is_loopback

if TYPE_CHECKING:
    from stream_mcp.config import Settings

MAX_TOKEN_CHARS: Final = 8192  # larger bearer tokens are refused before any parsing
MAX_USERS: Final = 1000
_JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def looks_like_jwt(token: str) -> bool:
    """True for a compact JWS; API keys (``smcp_…``) never match, so the two cannot mix."""
    return _JWT_SHAPE.fullmatch(token) is not None


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class OAuthConfig:
    """The resource server's settings, checked. Build with :meth:`from_settings`."""

    issuer: str
    resource: str
    jwks_url: str | None = None
    users_claim: str = "stream_users"
    algorithms: tuple[str, ...] = tuple(KEY_TYPES)
    leeway: float = 30.0

    @property
    def metadata_url(self) -> str:
        """Where this server's RFC 9728 metadata lives (path-suffixed, as §3.1 says)."""
        return str(build_resource_metadata_url(AnyHttpUrl(self.resource)))

    @property
    def loopback_issuer(self) -> bool:
        return urlsplit(self.issuer).scheme == "http"

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthConfig | None:
        """The OAuth settings, or ``None`` when ``STREAM_MCP_OAUTH_ISSUER`` is unset.

        Raises a one-line :class:`ConfigError` naming the variable for a bad value.
        """
        if settings.oauth_issuer is None:
            for name in ("oauth_resource", "oauth_jwks_url"):
                if getattr(settings, name) is not None:
                    var = f"STREAM_MCP_{name.upper()}"
                    raise ConfigError(f"{var}: set STREAM_MCP_OAUTH_ISSUER too", field=var)
            return None
        issuer = _url(settings.oauth_issuer, "STREAM_MCP_OAUTH_ISSUER")
        if settings.oauth_resource is None:
            raise ConfigError(
                "STREAM_MCP_OAUTH_RESOURCE: set it to this server's public MCP URL "
                "(e.g. https://mcp.example.com/mcp)",
                field="STREAM_MCP_OAUTH_RESOURCE",
            )
        resource = _url(settings.oauth_resource, "STREAM_MCP_OAUTH_RESOURCE")
        jwks_url = settings.oauth_jwks_url
        if jwks_url is not None:
            jwks_url = _url(jwks_url, "STREAM_MCP_OAUTH_JWKS_URL")
        claim = settings.oauth_users_claim
        if not claim or len(claim) > 128 or _UNPRINTABLE.search(claim):
            raise ConfigError(
                "STREAM_MCP_OAUTH_USERS_CLAIM: expected a claim name (no spaces)",
                field="STREAM_MCP_OAUTH_USERS_CLAIM",
            )
        return cls(
            issuer=issuer,
            resource=resource,
            jwks_url=jwks_url,
            users_claim=claim,
            algorithms=_algorithms(settings.oauth_algorithms),
            leeway=settings.oauth_leeway,
        )


def _url(value: str, var: str) -> str:
    """An https URL (http only on loopback) without query, fragment or credentials."""
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        raise ConfigError(f"{var}: not a URL", field=var) from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"{var}: expected an https:// URL", field=var)
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"{var}: must be https (http is allowed only on loopback)", field=var)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{var}: no query, fragment or credentials in the URL", field=var)
    return value.strip()


def _algorithms(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    refused = [name for name in names if name not in KEY_TYPES]
    if refused or not names:
        raise ConfigError(
            f"STREAM_MCP_OAUTH_ALGORITHMS: {', '.join(refused) or 'empty'} not accepted; use "
            f"asymmetric algorithms only ({', '.join(KEY_TYPES)})",
            field="STREAM_MCP_OAUTH_ALGORITHMS",
        )
    return names


# --------------------------------------------------------------------------- principal


@dataclass(frozen=True, slots=True)
class OAuthPrincipal:
    """Who an access token speaks for, as a :class:`~stream_mcp.service.Caller`."""

    subject: str
    issuer: str
    client_id: str | None
    scopes: frozenset[Scope]
    users: tuple[str, ...]
    expires_at: int | None = None

    @property
    def name(self) -> str:
        return "oauth:" + _UNPRINTABLE.sub("?", self.subject[:64])

    @property
    def unrestricted(self) -> bool:
        return "*" in self.users

    @property
    def app_wide(self) -> bool:
        return ADMIN in self.scopes

    def allows_user(self, user_id: str) -> bool:
        return bool(user_id) and any(fnmatchcase(user_id, glob) for glob in self.users)

    def grants(self, scope: Scope) -> bool:
        return scope in self.scopes

    def access_token(self) -> AccessToken:
        """The SDK's view of this principal; it binds MCP sessions to (client, issuer, sub).

        It carries no token: nothing downstream needs it.
        """
        return AccessToken(
            token="[redacted]",
            client_id=self.client_id or "",
            scopes=sorted(self.scopes),
            expires_at=self.expires_at,
            subject=self.subject,
            claims={"iss": self.issuer},
        )


# --------------------------------------------------------------------------- verification


class JwtVerifier:
    """Checks JWT access tokens from one issuer and maps their claims to a principal."""

    def __init__(self, config: OAuthConfig, keys: JwksCache | None = None) -> None:
        self.config = config
        self.keys = keys or JwksCache(
            issuer=config.issuer,
            algorithms=config.algorithms,
            jwks_url=config.jwks_url,
            allow_http=config.loopback_issuer,
        )
        resource = config.resource
        self._audiences = tuple(dict.fromkeys((resource, resource.rstrip("/"), resource + "/")))

    async def principal(self, token: str) -> OAuthPrincipal:
        """The token's principal; :class:`InvalidToken` (or its subclass) otherwise."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("access token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed access token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.config.algorithms:
            raise InvalidToken(
                f"token algorithm not accepted (use one of {', '.join(self.config.algorithms)})"
            )
        if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= 256):
            raise InvalidToken("malformed key id (kid)")
        if "crit" in header:
            raise InvalidToken("critical header parameters are not supported")
        key = await self.keys.key(kid, alg)
        if key is None:
            raise InvalidToken("token signed by a key the authorization server does not publish")
        claims = self._decode(token, key, alg)
        return self._principal(claims)

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's ``TokenVerifier`` protocol, for callers that want only yes or no."""
        try:
            return (await self.principal(token)).access_token()
        except InvalidToken:
            return None

    def _decode(self, token: str, key: jwt.PyJWK, alg: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self._audiences,
                issuer=self.config.issuer,
                leeway=self.config.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("access token expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("access token not yet valid (nbf)") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(
                f"access token audience is not this resource ({self.config.resource})"
            ) from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("access token issuer is not the configured issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"access token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("access token signature is invalid") from None
        except jwt.PyJWTError:
            raise InvalidToken("invalid access token") from None
        return claims

    def _principal(self, claims: dict[str, Any]) -> OAuthPrincipal:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 256:
            raise InvalidToken("access token 'sub' must be a non-empty string")
        client_id = claims.get("client_id", claims.get("azp"))
        exp = claims.get("exp")
        return OAuthPrincipal(
            subject=subject,
            issuer=self.config.issuer,
            client_id=client_id if isinstance(client_id, str) else None,
            scopes=effective_scopes(_scope_names(claims)),
            users=self._users(claims.get(self.config.users_claim)),
            expires_at=int(exp) if isinstance(exp, int | float) else None,
        )

    def _users(self, value: Any) -> tuple[str, ...]:
        """The users claim: a list of user ids or globs, or one space-separated string."""
        claim = self.config.users_claim
        if value is None:
            return ()  # no users: the token may search and describe, never act as anyone
        if isinstance(value, str):
            value = value.split(" ")
        if not isinstance(value, list) or len(value) > MAX_USERS:
            raise InvalidToken(f"claim {claim!r} must be a list of user ids or globs")
        names = [v for v in value if v != ""]
        if not all(isinstance(v, str) for v in names):
            raise InvalidToken(f"claim {claim!r} must be a list of user ids or globs")
        try:
            return check_globs(tuple(names), "user")
        except ValueError:
            raise InvalidToken(f"claim {claim!r} holds an invalid user id or glob") from None


def _scope_names(claims: dict[str, Any]) -> Sequence[str]:
    """``scope`` (space-separated, RFC 9068) or ``scp`` (a list, or a string).

    Only single spaces separate: a tab or other whitespace makes one unknown name, which
    grants nothing.
    """
    value = claims.get("scope", claims.get("scp"))
    if isinstance(value, str):
        return value.split(" ")
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return ()


# --------------------------------------------------------------------------- HTTP parts


class OAuthResource:
    """The HTTP transport's view: verify a token, phrase a challenge, serve the metadata."""

    def __init__(self, config: OAuthConfig, verifier: JwtVerifier | None = None) -> None:
        self.config = config
        self.verifier = verifier or JwtVerifier(config)

    async def principal(self, token: str) -> OAuthPrincipal:
        return await self.verifier.principal(token)

    def challenge(
        self, error: str | None = None, description: str | None = None, scope: Scope | None = None
    ) -> str:
        """A ``WWW-Authenticate`` value (RFC 6750 §3, RFC 9728 §5.1)."""
        parts = []
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quotable(description)}"')
        if scope:
            parts.append(f'scope="{scope}"')
        parts.append(f'resource_metadata="{self.config.metadata_url}"')
        return "Bearer " + ", ".join(parts)

    def metadata(self) -> ProtectedResourceMetadata:
        # Validated from strings so the model keeps an issuer's empty path (no "/" added):
        # clients compare issuers as exact strings (RFC 8414 §3.3).
        return ProtectedResourceMetadata.model_validate(
            {
                "resource": self.config.resource,
                "authorization_servers": [self.config.issuer],
                "scopes_supported": list(SCOPES),
                "bearer_methods_supported": ["header"],
                "resource_name": "stream-mcp",
            }
        )

    def routes(self) -> list[Route]:
        """The metadata at the path-suffixed URL (RFC 9728 §3.1) and at the bare one."""
        endpoint = cors_middleware(
            ProtectedResourceMetadataHandler(self.metadata()).handle, ["GET", "OPTIONS"]
        )
        suffixed = urlsplit(self.config.metadata_url).path
        paths = dict.fromkeys((suffixed, "/.well-known/oauth-protected-resource"))
        return [Route(path, endpoint=endpoint, methods=["GET", "OPTIONS"]) for path in paths]

    @staticmethod
    def authenticated_user(principal: OAuthPrincipal) -> AuthenticatedUser:
        return AuthenticatedUser(principal.access_token())


def _quotable(text: str) -> str:
    return re.sub(r'["\\\x00-\x1f\x7f]', "'", text)[:200]
