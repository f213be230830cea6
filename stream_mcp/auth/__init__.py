"""Who may act as whom: the profile's policy and the credentials that sign each call.

``policy`` decides (acting users, affected users, server-auth grants, read-only, TTLs);
``credentials`` holds the only reference to the app secret and mints per-call tokens.
"""

from stream_mcp.auth.credentials import (
    MASK,
    AuthDecision,
    Clock,
    Credentials,
    Signer,
    TokenCache,
    check_api_key,
    check_base_url,
    check_secret,
)
from stream_mcp.auth.policy import Policy, build_policy, check_globs, check_user_id

__all__ = [
    "MASK",
    "AuthDecision",
    "Clock",
    "Credentials",
    "Policy",
    "Signer",
    "TokenCache",
    "build_policy",
    "check_api_key",
    "check_base_url",
    "check_globs",
    "check_secret",
    "check_user_id",
]
