"""Scrub credentials from anything we return or log.

Three kinds of values are removed: raw JWTs (``eyJ…``), ``api_key=`` query values, and any
secret a caller registers explicitly (the app secret, issued server tokens). A :class:`Redactor`
is immutable apart from the set of known secrets it was given, so there is no global state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"

# A compact JWS: three base64url segments, the first of which starts with '{"' encoded.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
# stream-mcp's own HTTP API keys (vault add-key), shown once and never again.
_HTTP_KEY = re.compile(r"smcp_[A-Za-z0-9_-]{16,}")
_API_KEY = re.compile(r"(?i)(api_key[\"']?\s*[=:]\s*[\"']?)([^&\s\"',}]+)")
# Every pattern below needs one of these anchors; most strings have none. (Searching text
# for a case-insensitive alternation steps through it a character at a time: on ASCII text,
# which lowercases exactly, plain substring tests say the same far faster; see _anchored.)
_MAYBE = re.compile(r"eyJ|smcp_|(?i:api_key|authorization)")
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[=:]\s*[\"']?)(?:bearer\s+)?([^\s\"',}]+)")
# Values under these keys are dropped whatever they look like: Stream's app settings carry
# push credentials (APN auth keys, Firebase server keys and JSON credentials, Huawei and
# Xiaomi secrets), webhook and SQS secrets, and guest access tokens.
_SECRET_KEYS = frozenset(
    {
        "secret",
        "api_secret",
        "webhook_secret",
        "auth_key",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "password",
        "passphrase",
        "vault_key",
        "private_key",
        "server_key",
        "p12_cert",
        "credentials_json",
        "apn_key",
        "firebase_key",
    }
)
_SECRET_SUFFIXES = ("_secret", "_password", "_token", "_private_key", "_credentials", "_auth_key")
# Each secret key and suffix contains one of these (checked by a test), so lowercased text
# holding none of them holds no secret-shaped key: fewer passes over a large body.
_KEY_NEEDLES = (
    "secret",
    "token",
    "password",
    "passphrase",
    "credentials",
    "authorization",
    "auth_key",
    "vault_key",
    "private_key",
    "server_key",
    "apn_key",
    "firebase_key",
    "p12_cert",
)


def is_secret_key(key: str) -> bool:
    """True for a key whose value is a credential whatever it looks like."""
    lowered = key.lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


class Redactor:
    """Replaces JWTs, api_key values and registered secrets with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(
            sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)
        )

    def with_secrets(self, *secrets: str) -> Redactor:
        return Redactor((*self._secrets, *secrets))

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if not _anchored(value, value.lower() if value.isascii() else None):
            return value  # no pattern below can match: skip four substitutions
        value = _JWT.sub(REDACTED, value)
        value = _HTTP_KEY.sub(REDACTED, value)
        value = _API_KEY.sub(lambda m: m.group(1) + REDACTED, value)
        return _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, value)

    def needs_redaction(self, text: str) -> bool:
        """False only when :meth:`value` of the parsed ``text`` would change nothing.

        A cheap pre-check for large JSON bodies: escaped JSON (``\\u``) or a secret-shaped
        key forces the full structural pass.
        """
        if "\\u" in text or any(secret in text for secret in self._secrets):
            return True
        lowered = text.lower()
        if any(needle in lowered for needle in _KEY_NEEDLES):
            return True
        # Only text holding an anchor can change under the patterns; check those exactly.
        ascii_lowered = lowered if text.isascii() else None
        return _anchored(text, ascii_lowered) and self.text(text) != text

    def value(self, value: Any, *, key: str | None = None) -> Any:
        """Redact recursively; values under secret-shaped keys are dropped entirely."""
        if key is not None and is_secret_key(key) and isinstance(value, str | int | float):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            if key is not None and is_secret_key(key):
                return REDACTED  # a credential object (e.g. a service account's JSON)
            out: dict[Any, Any] = {}
            for k, v in value.items():
                name = self.text(k) if isinstance(k, str) else k  # a key can carry a secret too
                while name in out:  # two keys that redact alike both stay
                    name = f"{name}'"
                out[name] = self.value(v, key=str(k))
            return out
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"


def _anchored(value: str, ascii_lowered: str | None) -> bool:
    """True when ``value`` holds an anchor of the patterns (``_MAYBE``).

    ``ascii_lowered`` is ``value.lower()`` when ``value`` is ASCII, else None: non-ASCII text
    takes the regex, whose case folding (the Kelvin sign is a ``k``) ``str.lower`` does not
    match exactly.
    """
    if ascii_lowered is None:
        return _MAYBE.search(value) is not None
    return (
        "eyJ" in value
        or "smcp_" in value
        or "api_key" in ascii_lowered
        or "authorization" in ascii_lowered
    )


def redact_text(value: str) -> str:
    """Redact with the pattern rules only (no registered secrets)."""
    return Redactor().text(value)
