"""App-level operations: GetApp, UpdateApp, GetRateLimits and the push/SQS/SNS checks.

GetApp answers in Stream's ``AppResponseFields`` shape with what the sandbox actually does
(auth and permission checks on, channel types as configured), plus whatever UpdateApp stored.
Secrets sent to UpdateApp (SQS/SNS keys, push credentials) are stored but never returned.
The checks never reach AWS or a push provider: CheckSQS/CheckSNS report an error, as Stream
does when it cannot deliver, and CheckPush renders the message without sending it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import records, typeconfig
from stream_mcp.sandbox.context import Call, opt_bool, opt_str, opt_time
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.ratelimit import PLATFORMS
from stream_mcp.sandbox.store import DEVICES, META

APP_NAME = "stream-mcp sandbox"
_SECRET_FIELDS = frozenset(
    {
        "sqs_secret",
        "sns_secret",
        "apn_config",
        "firebase_config",
        "huawei_config",
        "xiaomi_config",
        "datadog_info",
    }
)
_SQS_URL = re.compile(r"^https://sqs\.[a-z0-9-]+\.amazonaws\.com/\d+/[\w-]+$")
_SNS_ARN = re.compile(r"^arn:aws:sns:[a-z0-9-]+:\d{12}:[\w-]+$")


def _upload_config() -> dict[str, Any]:
    return {
        "size_limit": 0,
        "allowed_file_extensions": [],
        "blocked_file_extensions": [],
        "allowed_mime_types": [],
        "blocked_mime_types": [],
    }


def _defaults() -> dict[str, Any]:
    return {
        "id": 0,
        "name": APP_NAME,
        "organization": APP_NAME,
        "placement": "local",
        "suspended": False,
        "suspended_explanation": "",
        "disable_auth_checks": False,
        "disable_permissions_checks": False,
        "permission_version": "v2",
        "multi_tenant_enabled": False,
        "campaign_enabled": True,
        "moderation_enabled": False,
        "auto_translation_enabled": False,
        "async_url_enrich_enabled": False,
        "image_moderation_enabled": False,
        "allow_multi_user_devices": False,
        "guest_user_creation_disabled": True,
        "enforce_unique_usernames": "no",
        "reminders_interval": 0,
        "cdn_expiration_seconds": 0,
        "max_aggregated_activities_length": 0,
        "user_search_disallowed_roles": [],
        "webhook_url": "",
        "webhook_events": [],
        "event_hooks": [],
        "custom_action_handler_url": "",
        "before_message_send_hook_url": "",
        "sqs_url": "",
        "sqs_key": "",
        "sns_topic_arn": "",
        "sns_key": "",
        "moderation_webhook_url": "",
        "use_hook_v2": False,
        "user_response_time_enabled": False,
        "member_custom_on_messages_enabled": False,
        "feed_audit_logs_enabled": False,
        "file_upload_config": _upload_config(),
        "image_upload_config": _upload_config(),
        "push_notifications": {
            "version": "v2",
            "offline_only": False,
            "providers": [],
            "apn": {"enabled": False},
            "firebase": {"enabled": False},
            "huawei": {"enabled": False},
            "xiaomi": {"enabled": False},
        },
        "call_types": {},
        "grants": {},
        "policies": {},
    }


def stored_settings(call: Call) -> dict[str, Any]:
    return dict((call.store.get(META, "app") or {}).get("settings") or {})


def get_app(call: Call) -> dict[str, Any]:
    """GetApp (GET /app)."""
    app = _defaults()
    app.update({k: v for k, v in stored_settings(call).items() if k not in _SECRET_FIELDS})
    revoked = (call.store.get(META, "app") or {}).get("revoke_tokens_issued_before")
    if revoked:
        app["revoke_tokens_issued_before"] = revoked
    app["channel_configs"] = {
        name: typeconfig.render(call.store, doc)
        for name, doc in typeconfig.all_types(call.store).items()
    }
    return {"app": app}


def _check_hooks(hooks: Any) -> list[dict[str, Any]]:
    if not isinstance(hooks, list) or not all(isinstance(h, Mapping) for h in hooks):
        raise input_error("event_hooks must be a list of hook objects", field="event_hooks")
    result = []
    for hook in hooks:
        kind = hook.get("hook_type") or "webhook"
        if kind not in ("webhook", "sqs", "sns", "pending_message"):
            raise input_error(f"event_hooks: hook_type {kind!r} is not valid", field="event_hooks")
        result.append({"enabled": True, **dict(hook), "hook_type": kind})
    return result


def update_app(call: Call) -> dict[str, Any]:
    """UpdateApp (PATCH /app): stores the settings sent; only the fields named change."""
    meta = call.store.get(META, "app") or {"key": "app"}
    settings = dict(meta.get("settings") or {})
    for key, value in call.body.items():
        if key == "revoke_tokens_issued_before":
            meta[key] = opt_time(call.body, key)
        elif key == "event_hooks":
            settings[key] = _check_hooks(value)
        elif key == "grants":
            if not isinstance(value, Mapping):
                raise input_error("grants must map roles to permission lists", field=key)
            settings[key] = dict(value)
        elif key in ("enforce_unique_usernames",) and value not in ("no", "app", "team"):
            raise input_error("enforce_unique_usernames must be no, app or team", field=key)
        else:
            settings[key] = value
    meta["settings"] = settings
    call.store.put(META, meta)
    return {}


# -- rate limits ---------------------------------------------------------------------------


def get_rate_limits(call: Call) -> dict[str, Any]:
    """GetRateLimits (GET /rate_limits): the current window of every (or the named) endpoint.

    Without platform flags every platform is listed; the app-level counters are shown.
    """
    from stream_mcp.sandbox.routes import ROUTES

    wanted = [p for p in PLATFORMS if call.query_bool(p)] or list(PLATFORMS)
    raw = call.query_str("endpoints")
    operations = (
        [e.strip() for e in raw.split(",") if e.strip()]
        if raw
        else sorted({r.operation for r in ROUTES})
    )
    assert call.services is not None
    out: dict[str, Any] = {}
    for platform in wanted:
        limits = {}
        for operation in operations:
            verdict = call.services.limiter.peek(platform, operation)
            limits[operation] = {
                "limit": verdict.limit,
                "remaining": verdict.remaining,
                "reset": verdict.reset,
            }
        out[platform] = limits
    return out


# -- checks --------------------------------------------------------------------------------


def check_push(call: Call) -> dict[str, Any]:
    """CheckPush (POST /check_push): render the push for a message; nothing is sent.

    The sandbox has no push providers, so it renders Stream's default title/body and, unless
    ``skip_devices`` is set, reports that the user has no devices.
    """
    body = call.body
    message_id = opt_str(body, "message_id")
    if not message_id:
        raise input_error("message_id is a required field", field="message_id")
    message = records.require_message(call, message_id)
    user_id = call.actor(
        opt_str(body, "user_id"),
        (body.get("user") or {}).get("id") if isinstance(body.get("user"), Mapping) else None,
        required="user_id must be provided when using server side auth",
    )
    author = records.get_user(call, message.get("user_id") or "") or {}
    channel = records.get_channel(call, message["cid"]) or {}
    sender = author.get("name") or message.get("user_id") or ""
    channel_name = (channel.get("custom") or {}).get("name") or channel.get("id", "")
    out: dict[str, Any] = {
        "event_type": opt_str(body, "event_type") or "message.new",
        "rendered_message": {
            "title": f"New message from {sender}",
            "body": message.get("text", ""),
            "channel": str(channel_name),
        },
        "skip_devices": bool(opt_bool(body, "skip_devices")),
        "general_errors": [],
        "device_errors": {},
    }
    if not out["skip_devices"] and not call.store.select(DEVICES, user_id=str(user_id)):
        out["general_errors"] = [f"user {user_id} has no devices"]
    return out


def check_sqs(call: Call) -> dict[str, Any]:
    """CheckSQS: the URL is validated; a valid one still fails, as the sandbox never calls AWS."""
    url = opt_str(call.body, "sqs_url") or ""
    if not _SQS_URL.match(url):
        return {"status": "error", "error": f"invalid SQS url {url!r}", "data": {}}
    return {
        "status": "error",
        "error": "sending the message failed. The stream-mcp sandbox never reaches AWS.",
        "data": {},
    }


def check_sns(call: Call) -> dict[str, Any]:
    """CheckSNS: like CheckSQS, for an SNS topic."""
    arn = opt_str(call.body, "sns_topic_arn") or ""
    if not _SNS_ARN.match(arn):
        return {"status": "error", "error": f"invalid SNS topic ARN {arn!r}", "data": {}}
    return {
        "status": "error",
        "error": "publishing the message failed. The stream-mcp sandbox never reaches AWS.",
        "data": {},
    }
