"""Asking a person before a destructive call, on every protocol version, failing closed.

- **2026-07-28**: the server cannot send requests of its own mid-call. It answers the tool
  call with an input-required result carrying an elicitation and a state nonce; the client
  shows the prompt and retries the same call with the answer. The mcp SDK's
  ``RequestStateBoundary`` seals the state (key from the credential layer) and binds it to
  the call's arguments; the nonce is single-use and the seal expires with the timeout.
- **2025-11-25 and older**: ``elicitation/create`` on the open request, under a server-side
  timeout.

If the client declared elicitation, only a person's "accept" runs the call: a decline, a
cancel, an error, a timeout or a missing answer refuses it, and ``confirm: true`` cannot stand
in. Only a client with no elicitation at all may use ``confirm: true``, and a profile with
``confirmation: person`` refuses even that.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from typing import Any

import anyio
import mcp_types as types
from mcp.server import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from stream_mcp.catalog import Operation
from stream_mcp.errors import ConfirmationPending, NotConfirmed

INPUT_KEY = "confirm"
MAX_PENDING = 4096
_SCHEMA: types.ElicitRequestedSchema = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Run it"}},
    "required": ["confirm"],
}


class Confirmer:
    """Asks for confirmation; remembers which nonces it issued so each is answered once."""

    def __init__(self, *, timeout: float, require_person: bool) -> None:
        self.timeout = timeout
        self.require_person = require_person
        self._pending: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def confirm(
        self,
        ctx: ServerRequestContext[Any, Any],
        params: types.CallToolRequestParams,
        op: Operation,
        flag: Any,
        caller: str,
    ) -> None:
        """Return if a person (or, where none can be asked, the flag) approved ``op``."""
        capabilities = ctx.session.client_capabilities
        can_ask = capabilities is not None and capabilities.elicitation is not None
        if can_ask and ctx.session.protocol_version in MODERN_PROTOCOL_VERSIONS:
            self._confirm_by_round_trip(params, op, caller)
        elif can_ask:
            await self._confirm_by_request(ctx, op)
        elif self.require_person:
            raise NotConfirmed(
                f"{op.operation_id} is destructive and this profile requires a person to "
                "confirm it, but this client cannot show a confirmation prompt (it declared "
                "no elicitation support)",
                field="confirm",
                hint="use a client that supports MCP elicitation, or ask the profile's owner",
            )
        elif flag is not True:
            raise NotConfirmed(
                f"{op.operation_id} is destructive and needs confirmation",
                field="confirm",
                hint="check with the user, then call again with confirm: true",
            )

    # ------------------------------------------------------------------ 2026-07-28

    def _confirm_by_round_trip(
        self, params: types.CallToolRequestParams, op: Operation, caller: str
    ) -> None:
        state, responses = params.request_state, params.input_responses
        if state is None:
            if responses:
                raise _refused(op, "it carried an answer the server never asked for")
            raise ConfirmationPending(self._ask(op, caller))
        nonce = self._take(state, op, caller)
        answer = (responses or {}).get(INPUT_KEY)
        if answer is None:
            raise _refused(op, "no answer came back")
        if nonce is None:
            raise _refused(op, "the confirmation expired or was already used")
        _accept(op, answer)

    def _ask(self, op: Operation, caller: str) -> types.InputRequiredResult:
        nonce = secrets.token_urlsafe(18)
        now = time.monotonic()
        self._expire(now)
        self._pending[nonce] = (f"{caller}\x00{op.operation_id}", now + self.timeout)
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=_message(op), requested_schema=_SCHEMA)
        )
        state = json.dumps({"nonce": nonce, "op": op.operation_id})
        return types.InputRequiredResult(input_requests={INPUT_KEY: request}, request_state=state)

    def _take(self, state: str, op: Operation, caller: str) -> str | None:
        """The nonce in ``state`` if this server issued it for this call and it is unused."""
        try:
            nonce = json.loads(state)["nonce"]
        except (ValueError, KeyError, TypeError):
            return None
        self._expire(time.monotonic())
        entry = self._pending.pop(nonce, None) if isinstance(nonce, str) else None
        if entry is None or entry[0] != f"{caller}\x00{op.operation_id}":
            return None
        return str(nonce)

    def _expire(self, now: float) -> None:
        while self._pending:
            nonce, (_, deadline) = next(iter(self._pending.items()))
            if deadline > now:
                break
            del self._pending[nonce]

    # ------------------------------------------------------------------ 2025-11-25

    async def _confirm_by_request(self, ctx: ServerRequestContext[Any, Any], op: Operation) -> None:
        try:
            with anyio.fail_after(self.timeout):
                answer = await ctx.session.elicit_form(
                    _message(op), _SCHEMA, related_request_id=ctx.request_id
                )
        except TimeoutError:
            raise _refused(op, f"nobody answered within {self.timeout:g} s") from None
        except Exception as exc:  # the client declared elicitation but could not show it
            raise _refused(
                op, f"the client could not show the prompt ({type(exc).__name__})"
            ) from None
        _accept(op, answer)


def _message(op: Operation) -> str:
    return f"Allow the agent to run {op.operation_id}? {op.summary}. This is destructive."


def _accept(op: Operation, answer: Any) -> None:
    if isinstance(answer, types.ElicitResult):
        content = answer.content or {}
        if answer.action == "accept" and content.get("confirm") is True:
            return
        raise _refused(op, f"the user answered {answer.action}")
    raise _refused(op, "the client sent something other than an answer")


def _refused(op: Operation, why: str) -> NotConfirmed:
    return NotConfirmed(
        f"{op.operation_id} was not confirmed: {why}",
        field="confirm",
        hint="do not retry unless the user asks for it; confirm: true cannot replace the answer",
    )
