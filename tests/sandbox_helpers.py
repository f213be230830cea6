"""Shared helpers for the sandbox tests: unique ids and tokens signed with the app secret."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt


def uid(prefix: str = "u") -> str:
    """A fresh id, so tests sharing one module-scoped sandbox never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def user_token(secret: str, user_id: str, **claims: Any) -> str:
    return jwt.encode({"user_id": user_id, **claims}, secret, algorithm="HS256")


def server_token(secret: str, **claims: Any) -> str:
    return jwt.encode({"server": True, **claims}, secret, algorithm="HS256")


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": token, "Stream-Auth-Type": "jwt"}


def now() -> int:
    return int(time.time())
