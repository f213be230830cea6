"""Errors every layer raises and every front end (CLI, MCP tools) renders the same way.

Each error carries a stable ``kind`` an agent can branch on, a one-line message that names
the offending field where there is one, and a next step. ``str(error)`` is always one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class StreamMCPError(Exception):
    """Base class: a failure we expected and can explain to a person or an agent."""

    kind = "error"
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint
        self.retryable = self.default_retryable if retryable is None else retryable

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


class UnknownUser(StreamMCPError):
    """The acting user does not exist in the Stream app."""

    kind = "unknown_user"


class NotConfirmed(PolicyError):
    """A destructive call that no one confirmed: declined, cancelled, unanswered or unaskable."""

    kind = "not_confirmed"


class ConfigError(StreamMCPError):
    """Configuration or credentials are missing or unusable."""

    kind = "config_error"


class VaultError(ConfigError):
    """The vault file cannot be used as it is."""

    kind = "vault_error"


class VaultNotFound(VaultError):
    kind = "vault_not_found"


class VaultTruncated(VaultError):
    """The file ends early: a partial copy or a full disk, not a deliberate edit."""

    kind = "vault_truncated"


class VaultCorrupt(VaultError):
    """The file is not a vault (bad JSON or structure)."""

    kind = "vault_corrupt"


class VaultTampered(VaultError):
    """An entry failed authentication: edited, moved between entries, or spliced in."""

    kind = "vault_tampered"


class VaultWrongKey(VaultError):
    """The master key we found does not open this vault."""

    kind = "vault_wrong_key"


class VaultKeyMissing(VaultError):
    """No master key could be found (or made) without asking, and we may not ask."""

    kind = "vault_key_missing"


class ProfileNotFound(ConfigError):
    kind = "profile_not_found"


class InvalidToken(StreamMCPError):
    """An OAuth access token we refuse: malformed, unsigned by the issuer, expired, or not
    for this server. Its message is safe to send back to the client (RFC 6750 §3)."""

    kind = "invalid_token"


class SigningKeysUnavailable(InvalidToken):
    """The authorization server's signing keys cannot be fetched, so no token can be checked."""

    kind = "signing_keys_unavailable"
    default_retryable = True


class BudgetExhausted(StreamMCPError):
    """The client-side budget for this user and operation is spent for now."""

    kind = "budget_exhausted"
    default_retryable = True

    def __init__(self, message: str, *, retry_after: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["retry_after"] = self.retry_after
        return data


class EventStoreError(StreamMCPError):
    """The event store cannot be opened, read or written (disk, lock, newer schema)."""

    kind = "event_store_error"
    default_retryable = True


class WebhookRejected(StreamMCPError):
    """A webhook delivery that failed Stream's checks; ``status`` is the HTTP answer."""

    kind = "webhook_rejected"

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class BudgetUnavailable(StreamMCPError):
    """The shared call budget (Redis) did not answer in time, so the call was not sent.

    Fails closed: without the shared count no replica can know it stays within the limits.
    The message never names the server's URL (it may hold a password).
    """

    kind = "budget_unavailable"
    default_retryable = True


# --------------------------------------------------------------------------- calls to Stream


class StreamCallError(StreamMCPError):
    """A call to Stream failed; carries what an agent needs to decide whether to retry."""

    kind = "stream_error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        rate_limit: Mapping[str, int] | None = None,
        attempts: int = 1,
        delivered: bool = True,
    ) -> None:
        super().__init__(message, hint=hint, retryable=retryable)
        # False only when the request provably never reached Stream (the connection failed).
        self.delivered = delivered
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.rate_limit = dict(rate_limit) if rate_limit else None
        self.attempts = attempts

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.status is not None:
            data["status"] = self.status
        if self.retry_after is not None:
            data["retry_after"] = round(self.retry_after, 3)
        if self.request_id:
            data["request_id"] = self.request_id
        if self.rate_limit:
            data["rate_limit"] = self.rate_limit
        data["attempts"] = self.attempts
        return data


class StreamAPIError(StreamCallError):
    """Stream answered with its JSON error body."""

    kind = "stream_api_error"

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        info: Any,
        stream_message: str,
        more_info: str | None = None,
        exception_fields: Mapping[str, str] | None = None,
        unrecoverable: bool = False,
        duration: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.code = code
        self.info = info
        self.stream_message = stream_message
        self.more_info = more_info
        self.exception_fields = dict(exception_fields) if exception_fields else {}
        self.unrecoverable = unrecoverable
        self.duration = duration

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["code"] = self.code
        if self.info is not None:
            data["code_name"] = self.info.name
            data["meaning"] = self.info.meaning
        data["stream_message"] = self.stream_message
        if self.exception_fields:
            data["exception_fields"] = self.exception_fields
        if self.more_info:
            data["more_info"] = self.more_info
        if self.unrecoverable:
            data["unrecoverable"] = True
        return data


class StreamResponseError(StreamCallError):
    """Stream (or something in front of it) answered with a body we cannot read."""

    kind = "bad_response"


class StreamTimeout(StreamCallError):
    """Stream did not answer in time."""

    kind = "timeout"


class NotEmulated(StreamCallError):
    """The local sandbox does not emulate this operation or option; real Stream does."""

    kind = "not_emulated"

    def __init__(self, message: str, *, alternatives: list[str], **kwargs: Any) -> None:
        super().__init__(message, retryable=False, **kwargs)
        self.alternatives = alternatives

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.alternatives:
            data["alternatives"] = self.alternatives
        return data


class StreamConnectionError(StreamCallError):
    """The request could not be delivered or its answer did not arrive whole."""

    kind = "network_error"


class ConfirmationPending(StreamMCPError):
    """The call waits for a person: the server answers with this input-required result."""

    kind = "confirmation_pending"

    def __init__(self, result: Any) -> None:
        # an mcp_types.InputRequiredResult, kept opaque so this module imports no MCP types
        super().__init__("waiting for the user's confirmation")
        self.result = result
