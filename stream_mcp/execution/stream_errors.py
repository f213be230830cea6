"""What went wrong when talking to Stream, in terms an agent can act on.

Stream answers failures with a JSON body (``code``, ``message``, ``StatusCode``, ``more_info``,
``exception_fields``, ``unrecoverable``, ``duration``). :func:`error_from_response` turns that
body, or whatever else came back, into a :class:`StreamCallError` subclass that says what the
code means, what to do next and whether retrying can help. Nothing here raises for a malformed
body: an unreadable answer is itself a clear error.

The code table records facts from Stream's public error-code list; the wording is ours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stream_mcp.errors import (
    NotEmulated,
    StreamAPIError,
    StreamCallError,
    StreamResponseError,
)
from stream_mcp.observability import Redactor

SNIPPET_CHARS = 200
MESSAGE_CHARS = 400


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One of Stream's numeric error codes: its name, usual HTTP status and what to do."""

    name: str
    status: int
    meaning: str
    next_step: str
    retryable: bool = False


STREAM_CODES: Mapping[int, CodeInfo] = {
    -1: CodeInfo(
        "internal error", 500, "Stream failed while handling the request",
        "retry in a few seconds; if it persists, report it with the request_id", True,
    ),
    2: CodeInfo(
        "access key error", 401, "the api_key is unknown to Stream",
        "check the profile's api_key (and its region base_url)",
    ),
    4: CodeInfo(
        "input error", 400, "a parameter or field has a wrong value or is missing",
        "fix the field named in the message or exception_fields, then call again",
    ),
    5: CodeInfo(
        "authentication error", 401, "Stream could not authenticate the request",
        "check the profile's api_key and secret, and that the acting user may use this op",
    ),
    6: CodeInfo(
        "duplicate username", 400, "the name is taken and the app enforces unique usernames",
        "choose a different name for the user",
    ),
    9: CodeInfo(
        "rate limit", 429, "too many requests in the current time window",
        "wait retry_after seconds (or until the rate-limit reset), then retry", True,
    ),
    16: CodeInfo(
        "does not exist", 404, "the resource named in the request does not exist",
        "check the ids; use a query or list operation to find the right one",
    ),
    17: CodeInfo(
        "not allowed", 403, "the acting user's role does not grant this action",
        "act as a user with the needed permission, or use server-side auth if policy allows",
    ),
    18: CodeInfo(
        "event not supported", 400, "this event type cannot be sent here",
        "use a supported event type (e.g. typing.start) or a custom event",
    ),
    19: CodeInfo(
        "channel feature disabled", 400, "the feature is turned off for this channel type",
        "enable it in the channel type's settings (UpdateChannelType) or skip it",
    ),
    20: CodeInfo(
        "message too long", 400, "the message text exceeds the channel type's maximum",
        "shorten the text or split it into several messages",
    ),
    21: CodeInfo(
        "nested reply", 400, "replies can only be one level deep",
        "reply to the thread's parent message instead of to a reply",
    ),
    22: CodeInfo(
        "payload too big", 413, "the request body is larger than Stream accepts",
        "send less data at once, e.g. split a batch into smaller ones",
    ),
    23: CodeInfo(
        "request timeout", 408, "Stream timed out while handling the request",
        "retry; for large batches send smaller ones", True,
    ),
    24: CodeInfo(
        "headers too large", 431, "the request headers are larger than Stream accepts",
        "use shorter ids and a shorter token",
    ),
    40: CodeInfo(
        "token expired", 401, "the JWT used for the call has expired",
        "call again: each call gets a fresh token; if it repeats, check the host clock", True,
    ),
    41: CodeInfo(
        "token not valid yet", 401, "the JWT's nbf is in the future (clock skew)",
        "check that the host clock is correct, then retry", True,
    ),
    42: CodeInfo(
        "token issued in the future", 401, "the JWT's iat is later than Stream's clock",
        "check that the host clock is correct, then retry", True,
    ),
    43: CodeInfo(
        "bad token signature", 401, "the JWT was not signed with this app's secret",
        "the profile's secret does not belong to its api_key; fix the credentials",
    ),
    44: CodeInfo(
        "custom command not configured", 400, "the app has no custom_action_handler_url",
        "set custom_action_handler_url in the app settings or do not use the command",
    ),
    45: CodeInfo(
        "custom command failed", 400, "the app's custom command handler returned an error",
        "check the custom command handler service",
    ),
    60: CodeInfo(
        "cooldown", 403, "the channel's slow mode does not allow another message yet",
        "wait for the channel's cooldown period, then send again", True,
    ),
    70: CodeInfo(
        "no channel access", 403, "the acting user has no access to the requested channels",
        "act as a member of the channels, or query channels the user belongs to",
    ),
    73: CodeInfo(
        "moderation rejected", 400, "the message did not pass moderation",
        "change the content; do not resend it unchanged",
    ),
    99: CodeInfo(
        "app suspended", 403, "the Stream app is suspended",
        "contact Stream support or the app owner; no call will succeed until then",
    ),
}  # fmt: skip


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


# The sandbox marks its "not emulated" answers with this field (see sandbox/EMULATION.md).
NOT_EMULATED_MARKER = "sandbox_not_emulated"

# --------------------------------------------------------------------------- parsing


def snippet(body: bytes, redactor: Redactor, limit: int = SNIPPET_CHARS) -> str:
    """A short, redacted, one-line excerpt of a body for an error message."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(redactor.text(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(value: Any, redactor: Redactor, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(redactor.text(str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _string_map(value: Any, redactor: Redactor) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): _one_line(v, redactor, 200) for k, v in list(value.items())[:20]}


def error_from_response(
    status: int,
    body: bytes,
    *,
    where: str,
    redactor: Redactor,
    content_type: str = "",
    retry_after: float | None = None,
    request_id: str | None = None,
    rate_limit: Mapping[str, int] | None = None,
) -> StreamCallError:
    """Turn a non-2xx answer (or an unreadable 2xx one) into the matching error.

    ``where`` names the call (``POST /channels/{type}/{id}/message``) for the message.
    """
    common: dict[str, Any] = {
        "status": status,
        "retry_after": retry_after,
        "request_id": request_id,
        "rate_limit": rate_limit,
    }
    if not body.strip():
        return _unreadable(status, body, where, redactor, content_type, common)
    try:
        payload = json.loads(body)
    except ValueError:
        return _unreadable(status, body, where, redactor, content_type, common)
    if not isinstance(payload, dict) or not ({"code", "message"} & payload.keys()):
        if 200 <= status < 300:
            return _unreadable(status, body, where, redactor, content_type, common)
        return _bare_status(status, body, where, redactor, common)
    if payload.get(NOT_EMULATED_MARKER) is True:
        return _not_emulated(payload, where, redactor, common)
    code = _int(payload.get("code"))
    info = STREAM_CODES.get(code) if code is not None else None
    stream_message = _one_line(payload.get("message") or "", redactor)
    unrecoverable = payload.get("unrecoverable") is True
    retryable = (info.retryable if info else _retryable_status(status)) and not unrecoverable
    label = f"Stream error {code}" if code is not None else f"Stream HTTP {status}"
    if info is not None:
        label += f" ({info.name})"
    fields = _string_map(payload.get("exception_fields"), redactor)
    hint = info.next_step if info else _status_hint(status)
    if fields:
        hint = f"{hint}; fields: {', '.join(f'{k}: {v}' for k, v in fields.items())}"
    more_info = payload.get("more_info")
    duration = payload.get("duration")
    return StreamAPIError(
        f"{label} on {where}: {stream_message or 'no message'}",
        code=code,
        info=info,
        stream_message=stream_message,
        more_info=more_info if isinstance(more_info, str) and more_info else None,
        exception_fields=fields,
        unrecoverable=unrecoverable,
        duration=duration if isinstance(duration, str) else None,
        hint=hint,
        retryable=retryable,
        **common,
    )


def _not_emulated(
    payload: Mapping[str, Any], where: str, redactor: Redactor, common: dict[str, Any]
) -> NotEmulated:
    """The sandbox's "I do not emulate this": not an input error, and not worth a retry."""
    feature = payload.get("sandbox_feature")
    what = _one_line(feature, redactor) if isinstance(feature, str) else where
    nearby = [n for n in payload.get("sandbox_emulated_nearby") or () if isinstance(n, str)][:3]
    hint = "this works on real Stream; the local sandbox does not have it"
    if nearby:
        hint += f"; the sandbox does emulate {', '.join(nearby)}"
    return NotEmulated(
        f"the stream-mcp sandbox does not emulate {what}; your arguments were not the problem",
        hint=hint,
        alternatives=nearby,
        **{**common, "retry_after": None},
    )


def _status_hint(status: int) -> str:
    if status == 429:
        return "wait retry_after seconds (or until the rate-limit reset), then retry"
    if status >= 500:
        return "Stream or a proxy failed; retry in a few seconds"
    if status in (401, 403):
        return "check the profile's credentials and the acting user's permissions"
    if status == 404:
        return "check the ids and the profile's base_url"
    return "check the arguments against the operation's schema"


def _bare_status(
    status: int, body: bytes, where: str, redactor: Redactor, common: dict[str, Any]
) -> StreamCallError:
    """A JSON body that is not Stream's error shape (e.g. a gateway's own JSON)."""
    excerpt = snippet(body, redactor)
    detail = f": {excerpt}" if excerpt else ""
    return StreamResponseError(
        f"Stream answered HTTP {status} on {where} without an error code{detail}",
        hint=_status_hint(status),
        retryable=_retryable_status(status),
        **common,
    )


def _unreadable(
    status: int,
    body: bytes,
    where: str,
    redactor: Redactor,
    content_type: str,
    common: dict[str, Any],
) -> StreamCallError:
    """A body that is not JSON at all, or JSON cut off part way."""
    stripped = body.lstrip()
    if stripped[:1] in (b"{", b"[") and "json" in content_type.lower():
        what = "a truncated or malformed JSON body"
    elif stripped[:1] in (b"{", b"["):
        what = "a malformed JSON body"
    elif not stripped:
        what = "an empty body"
    else:
        what = f"a non-JSON body ({content_type.split(';')[0].strip() or 'no content type'})"
    excerpt = snippet(body, redactor)
    detail = f": {excerpt}" if excerpt else ""
    if status < 400:
        # A success status: the call probably took effect, so a blind retry may repeat it.
        hint = "the call may have taken effect; check its result before calling again"
    else:
        hint = _status_hint(status)
    return StreamResponseError(
        f"Stream answered HTTP {status} on {where} with {what}{detail}",
        hint=hint,
        retryable=_retryable_status(status),
        **common,
    )
