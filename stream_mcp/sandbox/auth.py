"""Stream-style request authentication.

A request must carry the app's key as the ``api_key`` query parameter, ``Stream-Auth-Type:
jwt``, and an HS256 JWT signed with the app secret in ``Authorization`` (raw, or after
``Bearer ``). The token is either a server token (``server: true``) or a user token
(``user_id``); a valid token with no claims beyond JWT's registered ones (even ``{}``) is
server-side, as in Stream. Failures map to Stream's codes: 2 (api key), 5 (missing or malformed
credentials), 40 (expired), 41 (not valid yet), 43 (bad signature).
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stream_mcp.sandbox.errors import (
    ACCESS_KEY_ERROR,
    TOKEN_EXPIRED,
    TOKEN_NOT_VALID_YET,
    TOKEN_SIGNATURE_INVALID,
    auth_error,
)

_KEY_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_lowercase + string.digits
# Small allowance for clocks of token issuers that run slightly ahead of ours.
CLOCK_LEEWAY_SECONDS = 5
# JWT's registered claims: a token with nothing else (even ``{}``) is a server token.
_REGISTERED_CLAIMS = frozenset({"iat", "exp", "nbf", "iss", "aud", "jti", "sub"})


@dataclass(frozen=True)
class Credentials:
    """The app's key and secret. The secret never appears in ``repr``."""

    api_key: str
    api_secret: str = field(repr=False)

    @classmethod
    def generate(cls, api_key: str | None = None, api_secret: str | None = None) -> Credentials:
        """Fill whichever half is missing with fresh random values shaped like Stream's."""
        key = api_key or "".join(secrets.choice(_KEY_ALPHABET) for _ in range(12))
        secret = api_secret or "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(64))
        return cls(api_key=key, api_secret=secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """``STREAM_API_KEY`` + ``STREAM_API_SECRET`` when both are set, else ``None``."""
        env = os.environ if environ is None else environ
        key, secret = env.get("STREAM_API_KEY"), env.get("STREAM_API_SECRET")
        if key and secret:
            return cls(api_key=key, api_secret=secret)
        return None


@dataclass(frozen=True)
class Caller:
    """Who is calling: the server (full access) or one user."""

    user_id: str | None = None
    issued_at: int | None = None

    @property
    def is_server(self) -> bool:
        return self.user_id is None

    @classmethod
    def server(cls) -> Caller:
        return cls()


def authenticate(
    credentials: Credentials, query: Mapping[str, str], headers: Mapping[str, str]
) -> Caller:
    """Check key, auth type and token; raise :class:`APIError` with Stream's code on failure."""
    api_key = query.get("api_key")
    if not api_key:
        raise auth_error("api_key query parameter is missing", ACCESS_KEY_ERROR)
    if api_key != credentials.api_key:
        raise auth_error(
            f'api_key not found: "{api_key}" is not a key of this app', ACCESS_KEY_ERROR
        )
    auth_type = headers.get("stream-auth-type")
    if not auth_type:
        raise auth_error("Stream-Auth-Type header is missing (expected: jwt)")
    if auth_type.strip().lower() != "jwt":
        raise auth_error(
            f"Stream-Auth-Type {auth_type!r} is not supported by the sandbox (expected: jwt)"
        )
    raw = headers.get("authorization", "").strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    if not raw:
        raise auth_error("Authorization header is missing: send a JWT signed with the app secret")
    claims = _decode(raw, credentials)
    issued_at = claims.get("iat")
    issued = int(issued_at) if isinstance(issued_at, int | float) else None
    user_id = claims.get("user_id")
    if claims.get("server") is True or set(claims) <= _REGISTERED_CLAIMS:
        # Stream treats a valid token without any identity (even ``{}``) as server-side auth.
        return Caller(user_id=None, issued_at=issued)
    if isinstance(user_id, str) and user_id:
        return Caller(user_id=user_id, issued_at=issued)
    raise auth_error("JWTAuth error: token has neither a user_id claim nor server: true")


def _decode(token: str, credentials: Credentials) -> dict[str, Any]:
    import jwt  # first request, not import time

    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise auth_error(f"JWTAuth error: token is malformed ({exc})") from None
    if header.get("alg") != "HS256":
        raise auth_error(f"JWTAuth error: signing method {header.get('alg')!r} is not HS256")
    try:
        claims = jwt.decode(
            token,
            credentials.api_secret,
            algorithms=["HS256"],
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"verify_aud": False, "verify_iss": False},
        )
    except jwt.ExpiredSignatureError:
        raise auth_error("JWTAuth error: token has expired", TOKEN_EXPIRED) from None
    except jwt.ImmatureSignatureError:
        raise auth_error("JWTAuth error: token is not valid yet", TOKEN_NOT_VALID_YET) from None
    except jwt.InvalidSignatureError:
        raise auth_error(
            "JWTAuth error: signature is not valid. Make sure the token is created using "
            f'the secret for API key "{credentials.api_key}"',
            TOKEN_SIGNATURE_INVALID,
        ) from None
    except jwt.InvalidTokenError as exc:
        raise auth_error(f"JWTAuth error: {exc}") from None
    if not isinstance(claims, dict):
        raise auth_error("JWTAuth error: token claims must be an object")
    return claims
