"""OAuth scopes: what an access token's ``scope`` lets a caller run.

Three scopes, each including the ones before it:

``stream:read``
    read-only operations under user auth (Stream bounds them by the acting user).
``stream:write``
    adds operations that change data, still under user auth.
``stream:admin``
    adds every call that runs under server auth (server-side-only operations, or the ones a
    profile grants server auth): those bypass Stream's per-user permissions and may reach
    users the call does not name. It is also the ``app_wide`` grant, and it is needed to mint
    user tokens, which leave the server's checks (confirmation, audit, budget) behind.

The scopes narrow the profile's policy; they never widen it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from stream_mcp.auth.policy import AuthMode
    from stream_mcp.catalog import Operation

Scope = Literal["stream:read", "stream:write", "stream:admin"]

READ: Final[Scope] = "stream:read"
WRITE: Final[Scope] = "stream:write"
ADMIN: Final[Scope] = "stream:admin"
SCOPES: Final[tuple[Scope, ...]] = (READ, WRITE, ADMIN)
ISSUE_TOKENS: Final[Scope] = ADMIN


def required_scope(op: Operation, mode: AuthMode) -> Scope:
    """The least scope that may run ``op`` when it authenticates as ``mode``."""
    if mode == "server":
        return ADMIN
    return READ if op.read_only else WRITE


def effective_scopes(granted: Iterable[str]) -> frozenset[Scope]:
    """The scopes ``granted`` amounts to: the highest one named and every scope below it.

    Unknown names are ignored; comparison is exact (scopes are case-sensitive).
    """
    names = set(granted)
    top = max((i for i, scope in enumerate(SCOPES) if scope in names), default=-1)
    return frozenset(SCOPES[: top + 1])
