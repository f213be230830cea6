"""Search (GET /search?payload=): message text search within channels matched by filters.

A text ``query`` matches whole words, case-insensitively: every word of the query must occur
in the message (so "cious" does not match "supercalifragilisticexpialidocious"). Message
filters (``message_filter_conditions``) use the same filter language as the query endpoints.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import permissions, typeconfig
from stream_mcp.sandbox.channels import filter_view
from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.filters import bounded_int, matches, parse_sort, sort_docs, words
from stream_mcp.sandbox.store import CHANNELS, MESSAGES
from stream_mcp.sandbox.views import Renderer


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset_from(cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return int(data["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise input_error("next is not a cursor this sandbox issued", field="next") from None


def _message_filter_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    view = dict(doc.get("custom") or {})
    view.update(
        {
            "id": doc["id"],
            "text": doc.get("text", ""),
            "type": doc.get("type", "regular"),
            "cid": doc["cid"],
            "user_id": doc.get("user_id"),
            "user": {"id": doc.get("user_id")},
            "parent_id": doc.get("parent_id"),
            "pinned": bool(doc.get("pinned")),
            "silent": bool(doc.get("silent")),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "attachments": doc.get("attachments", []),
            "mentioned_users": doc.get("mentioned_users", []),
            "mentioned_users.id": doc.get("mentioned_users", []),
            "attachments.type": [a.get("type") for a in doc.get("attachments", [])],
            "relevance": doc["created_at"],
        }
    )
    return view


def search(call: Call) -> dict[str, Any]:
    payload = call.payload()
    conditions = payload.get("filter_conditions")
    if not isinstance(conditions, Mapping) or not conditions:
        raise input_error(
            "filter_conditions is required and must not be empty", field="filter_conditions"
        )
    query = payload.get("query")
    message_conditions = payload.get("message_filter_conditions")
    if query is not None and not isinstance(query, str):
        raise input_error("query must be a string", field="query")
    if message_conditions is not None and not isinstance(message_conditions, Mapping):
        raise input_error("message_filter_conditions must be an object")
    if not query and not message_conditions:
        raise input_error("either query or message_filter_conditions must be set", field="query")
    if query and message_conditions:
        # Stream refuses the two together: a text query goes in message_filter_conditions
        # as {"text": {"$q": ...}} when other message filters are needed.
        raise input_error(
            "query and message_filter_conditions cannot be used together", field="query"
        )
    offset = bounded_int(payload.get("offset"), name="offset", default=0)
    cursor = payload.get("next")
    raw_sort = payload.get("sort")
    if offset and (cursor or raw_sort):
        raise input_error("cannot use offset with sort or next parameters", field="offset")
    if cursor:
        if not isinstance(cursor, str):
            raise input_error("next must be a string", field="next")
        offset = _offset_from(cursor)
    limit = bounded_int(payload.get("limit"), name="limit", default=20, minimum=1, maximum=100)
    sort = parse_sort(raw_sort, default=[("relevance", -1)])

    render = Renderer(call)
    wanted = words(query or "")
    hits: list[dict[str, Any]] = []
    for channel in call.store.select(CHANNELS):
        if channel.get("deleted_at") or not permissions.can_read(call, channel):
            continue
        if not typeconfig.effective(call.store, channel).get("search"):
            continue  # search is off for this channel's type
        if not matches(filter_view(render, channel, call.user_id), conditions):
            continue
        cutoff = channel.get("truncated_at")
        for doc in call.store.select(MESSAGES, cid=channel["cid"]):
            if doc.get("type") == "deleted" or (cutoff and doc["created_at"] <= cutoff):
                continue
            if doc.get("shadowed") and call.user_id not in (None, doc.get("user_id")):
                continue
            if wanted and not set(wanted) <= set(words(doc.get("text", ""))):
                continue
            view = _message_filter_view(doc)
            if message_conditions and not matches(view, message_conditions):
                continue
            view["_doc"] = doc
            hits.append(view)
    ordered = sort_docs(hits, sort)
    page = ordered[offset : offset + limit]
    out: dict[str, Any] = {
        "results": [{"message": render.message(v["_doc"], with_channel=True)} for v in page]
    }
    if offset + limit < len(ordered):
        out["next"] = _cursor(offset + limit)
    if offset:
        out["previous"] = _cursor(max(0, offset - limit))
    return out
