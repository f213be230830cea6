"""Shared locations: a message's ``shared_location`` (static, or live until ``end_at``),
GetUserLiveLocations and UpdateLiveLocation. Messages need ``shared_locations`` enabled on the
channel (type or ``config_overrides``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import records
from stream_mcp.sandbox.context import Call, opt_str, opt_time, user_ref
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import CHANNELS, LOCATIONS
from stream_mcp.sandbox.views import Renderer


def _coordinate(source: Mapping[str, Any], name: str, bound: float) -> float:
    value = source.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > bound:
        raise input_error(f"{name} must be a number between -{bound} and {bound}", field=name)
    return float(value)


def attach_location(call: Call, message: dict[str, Any], location: Any, author: str) -> None:
    """Store the location a new message shares (called from message creation)."""
    if not isinstance(location, Mapping):
        raise input_error("shared_location must be an object", field="shared_location")
    device = opt_str(location, "created_by_device_id")
    if not device:
        raise input_error(
            "shared_location.created_by_device_id is a required field", field="shared_location"
        )
    doc: dict[str, Any] = {
        "message_id": message["id"],
        "user_id": author,
        "channel_cid": message["cid"],
        "created_by_device_id": device,
        "latitude": _coordinate(location, "latitude", 90),
        "longitude": _coordinate(location, "longitude", 180),
        "created_at": message["created_at"],
        "updated_at": message["created_at"],
    }
    end_at = opt_time(location, "end_at")
    if end_at:
        doc["end_at"] = end_at
    call.store.put(LOCATIONS, doc)
    message["shared_location_id"] = message["id"]


def location_view(call: Call, doc: Mapping[str, Any], *, with_refs: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in doc.items()}
    if with_refs:
        render = Renderer(call, doc["user_id"])
        channel = call.store.get(CHANNELS, doc["channel_cid"])
        if channel is not None:
            out["channel"] = render.channel(channel)
        message = records.get_message(call, doc["message_id"])
        if message is not None:
            out["message"] = render.message(message)
    return out


def _is_live(call: Call, doc: Mapping[str, Any]) -> bool:
    end_at: str | None = doc.get("end_at")
    if not end_at:
        return False
    return end_at > call.clock.peek_stamp()


def get_user_live_locations(call: Call) -> dict[str, Any]:
    """GetUserLiveLocations (GET /users/live_locations?user_id=): live locations not ended."""
    user_id = call.actor(
        call.query_str("user_id"), required="user_id must be provided when using server side auth"
    )
    assert user_id is not None
    docs = [d for d in call.store.select(LOCATIONS, user_id=user_id) if _is_live(call, d)]
    docs.sort(key=lambda d: d["created_at"])
    return {"active_live_locations": [location_view(call, d) for d in docs]}


def update_live_location(call: Call) -> dict[str, Any]:
    """UpdateLiveLocation (PUT /users/live_locations): move or end one live location."""
    body = call.body
    user_id = call.actor(
        call.query_str("user_id"),
        opt_str(body, "user_id"),
        user_ref(body.get("user")),
        required="user_id must be provided when using server side auth",
    )
    message_id = opt_str(body, "message_id")
    if not message_id:
        raise input_error("message_id is a required field", field="message_id")
    doc = call.store.get(LOCATIONS, message_id)
    if doc is None or doc["user_id"] != user_id:
        raise not_found(f"live location {message_id} of user {user_id} does not exist")
    if "latitude" in body:
        doc["latitude"] = _coordinate(body, "latitude", 90)
    if "longitude" in body:
        doc["longitude"] = _coordinate(body, "longitude", 180)
    end_at = opt_time(body, "end_at")
    if end_at:
        doc["end_at"] = end_at
    if opt_str(body, "created_by_device_id"):
        doc["created_by_device_id"] = body["created_by_device_id"]
    doc["updated_at"] = call.stamp()
    call.store.put(LOCATIONS, doc)
    return location_view(call, doc)
