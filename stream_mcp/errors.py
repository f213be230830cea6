"""Errors every layer raises and every front end (CLI, MCP tools) renders the same way.

Each error carries a stable ``kind`` an agent can branch on, a one-line message that names
the offending field where there is one, and a next step. ``str(error)`` is always one line.
"""

from __future__ import annotations

from typing import Any


class StreamMCPError(Exception):
    """Base class: a failure we expected and can explain to a person or an agent."""

    kind = "error"
    retryable = False

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        return self.message.replace("\n", " ")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.kind, "message": str(self)}
        if self.field is not None:
            data["field"] = self.field
        if self.hint:
            data["hint"] = self.hint
        data["retryable"] = self.retryable
        return data


class SpecError(StreamMCPError):
    """A spec file (ours or Stream's OpenAPI) is malformed."""

    kind = "spec_error"


class UnknownOperation(StreamMCPError):
    """An operation id that the catalog does not hold."""

    kind = "unknown_operation"


class ValidationError(StreamMCPError):
    """Arguments do not match an operation's input schema."""

    kind = "validation_error"


class PolicyError(StreamMCPError):
    """The profile's policy refuses the call (user, operation, auth mode or write)."""

    kind = "policy_denied"


class NotConfirmed(PolicyError):
    """A destructive call that no one confirmed: declined, cancelled, unanswered or unaskable."""

    kind = "not_confirmed"


class ConfigError(StreamMCPError):
    """Configuration or credentials are missing or unusable."""

    kind = "config_error"
