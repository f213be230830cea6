"""GetApp: the sandbox app's settings in Stream's ``AppResponseFields`` shape.

The values describe what the sandbox actually does (built-in channel types, auth and permission
checks on, no webhooks, no push providers); nothing secret is ever included.
"""

from __future__ import annotations

from typing import Any

from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.records import CHANNEL_TYPES
from stream_mcp.sandbox.views import channel_config

APP_NAME = "stream-mcp sandbox"


def _upload_config() -> dict[str, Any]:
    return {
        "size_limit": 0,
        "allowed_file_extensions": [],
        "blocked_file_extensions": [],
        "allowed_mime_types": [],
        "blocked_mime_types": [],
    }


def get_app(call: Call) -> dict[str, Any]:
    del call
    app = {
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
        "sqs_secret": "",
        "sns_topic_arn": "",
        "sns_key": "",
        "sns_secret": "",
        "moderation_webhook_url": "",
        "use_hook_v2": False,
        "user_response_time_enabled": False,
        "member_custom_on_messages_enabled": False,
        "feed_audit_logs_enabled": False,
        "moderation_audio_call_moderation_enabled": False,
        "moderation_video_call_moderation_enabled": False,
        "moderation_llm_configurability_enabled": False,
        "moderation_multitenant_blocklist_enabled": False,
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
        "channel_configs": {name: channel_config(name) for name in sorted(CHANNEL_TYPES)},
        "call_types": {},
        "grants": {},
        "policies": {},
    }
    return {"app": app}
