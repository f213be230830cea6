"""Stream-format API errors.

Every failure the sandbox reports uses Stream's error envelope (``code``, ``message``,
``StatusCode``, ``duration``, ``more_info``, ``details``), so the product's error mapping is
exercised against the same shapes it meets in production. Codes follow Stream's published table.
"""

from __future__ import annotations

from typing import Any

MORE_INFO = "https://getstream.io/chat/docs/api_errors_response"

# Stream's error codes (from its public "API error codes" table).
INPUT_ERROR = 4
ACCESS_KEY_ERROR = 2
AUTH_ERROR = 5
DOES_NOT_EXIST = 16
NOT_ALLOWED = 17
MESSAGE_TOO_LONG = 20
MULTIPLE_NESTING = 21
TOKEN_EXPIRED = 40
TOKEN_NOT_VALID_YET = 41
TOKEN_BEFORE_ISSUED_AT = 42
TOKEN_SIGNATURE_INVALID = 43
RATE_LIMITED = 9
INTERNAL_ERROR = -1

# The marker that tells a sandbox "not emulated" answer apart from a real input error.
NOT_EMULATED_MARKER = "sandbox_not_emulated"


class APIError(Exception):
    """A failure rendered as Stream's error body; ``scoped`` errors get the operation prefix."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        scoped: bool = True,
        fields: dict[str, str] | None = None,
        unrecoverable: bool = False,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.scoped = scoped
        self.fields = fields
        self.unrecoverable = unrecoverable
        self.extra = extra or {}
        self.headers = headers or {}

    def render_message(self, operation: str | None) -> str:
        """Stream prefixes handler errors with the operation that failed."""
        if self.scoped and operation:
            return f'{operation} failed with error: "{self.message}"'
        return self.message

    def body(self, *, operation: str | None, duration: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "message": self.render_message(operation),
            "StatusCode": self.status,
            "duration": duration,
            "more_info": MORE_INFO,
            "details": [],
        }
        if self.fields:
            data["exception_fields"] = dict(self.fields)
        if self.unrecoverable:
            data["unrecoverable"] = True
        data.update(self.extra)
        return data


def input_error(message: str, *, field: str | None = None) -> APIError:
    fields = {field: message} if field else None
    return APIError(400, INPUT_ERROR, message, fields=fields)


def not_found(message: str) -> APIError:
    return APIError(404, DOES_NOT_EXIST, message)


def not_allowed(message: str) -> APIError:
    return APIError(403, NOT_ALLOWED, message)


def auth_error(message: str, code: int = AUTH_ERROR) -> APIError:
    return APIError(401, code, message, scoped=False)


def not_emulated(method: str, path: str, nearby: list[str] | None = None) -> APIError:
    """The honest answer for any route the sandbox does not implement: never a fake success.

    Stream's envelope is kept (501, code 4) and ``sandbox_not_emulated`` plus the operation's
    method and path mark it, so clients can tell it from a real input error.
    """
    return APIError(
        501,
        INPUT_ERROR,
        f"the stream-mcp sandbox does not emulate {method} {path}",
        scoped=False,
        unrecoverable=True,
        extra={
            NOT_EMULATED_MARKER: True,
            "sandbox_method": method,
            "sandbox_path": path,
            "sandbox_emulated_nearby": nearby or [],
        },
    )


def feature_not_emulated(feature: str) -> APIError:
    """A known operation called with an option the sandbox cannot honour (same marker)."""
    return APIError(
        501,
        INPUT_ERROR,
        f"the stream-mcp sandbox does not emulate {feature}",
        unrecoverable=True,
        extra={NOT_EMULATED_MARKER: True, "sandbox_feature": feature},
    )


def rate_limited(limit: int, reset: int) -> APIError:
    """Stream's 429 answer (code 9) once a rate-limit window is used up."""
    return APIError(
        429,
        RATE_LIMITED,
        f"Too many requests, check response headers for more information. "
        f"The limit is {limit} requests per minute.",
        scoped=False,
    )
