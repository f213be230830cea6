"""File and image uploads (per channel, and app-wide) kept in SQLite and served from the
sandbox's CDN stand-in (see :mod:`stream_mcp.sandbox.blobs`). Channel uploads need
``uploads`` enabled in the channel's configuration."""

from __future__ import annotations

from typing import Any

from stream_mcp.sandbox import blobs, permissions, records, typeconfig
from stream_mcp.sandbox.context import Call, Upload
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import FILES

MAX_FILE_BYTES = 100 * 1024 * 1024
_IMAGE_TYPES = ("image/",)


def _upload(call: Call) -> Upload:
    upload = call.files.get("file")
    if upload is None:
        raise input_error("file is a required multipart field", field="file")
    if not upload.data:
        raise input_error("the uploaded file is empty", field="file")
    if len(upload.data) > MAX_FILE_BYTES:
        raise input_error("the uploaded file is larger than 100MB", field="file")
    return upload


def _store(call: Call, upload: Upload, *, cid: str, kind: str) -> dict[str, Any]:
    assert call.services is not None
    if kind == "image" and not upload.content_type.startswith(_IMAGE_TYPES):
        raise input_error(f"{upload.content_type!r} is not an image content type", field="file")
    file_id = records.new_id()
    user = call.body.get("user")
    uploader = user.get("id") if isinstance(user, dict) else call.user_id
    call.store.put(
        FILES,
        {
            "id": file_id,
            "cid": cid,
            "kind": kind,
            "filename": upload.filename,
            "content_type": upload.content_type,
            "data": blobs.encode(upload.data),
            "user_id": uploader,
            "created_at": call.stamp(),
        },
    )
    url = blobs.file_url(call.services, call.base_url, file_id, upload.filename)
    out: dict[str, Any] = {"file": url}
    if kind == "image":
        out["thumb_url"] = url
    return out


def _channel(call: Call) -> dict[str, Any]:
    channel = records.require_channel(call, call.path["type"], call.path["id"])
    permissions.require_member(call, channel, "UploadAttachment")
    if not typeconfig.effective(call.store, channel).get("uploads"):
        raise input_error(f"uploads are disabled for channel type {channel['type']}")
    return channel


def _delete(call: Call, cid: str | None) -> dict[str, Any]:
    url = call.query_str("url")
    if not url:
        raise input_error("url is a required field", field="url")
    file_id = blobs.file_id_from_url(url)
    doc = call.store.get(FILES, file_id) if file_id else None
    if doc is None or (cid is not None and doc.get("cid") != cid):
        raise not_found("the file does not exist")
    call.store.delete(FILES, doc["id"])
    return {}


def upload_channel_file(call: Call) -> dict[str, Any]:
    """UploadChannelFile (POST /channels/{type}/{id}/file, multipart)."""
    channel = _channel(call)
    return _store(call, _upload(call), cid=channel["cid"], kind="file")


def upload_channel_image(call: Call) -> dict[str, Any]:
    """UploadChannelImage (POST /channels/{type}/{id}/image, multipart)."""
    channel = _channel(call)
    return _store(call, _upload(call), cid=channel["cid"], kind="image")


def delete_channel_file(call: Call) -> dict[str, Any]:
    """DeleteChannelFile (DELETE /channels/{type}/{id}/file?url=)."""
    return _delete(call, _channel(call)["cid"])


def delete_channel_image(call: Call) -> dict[str, Any]:
    """DeleteChannelImage (DELETE /channels/{type}/{id}/image?url=)."""
    return _delete(call, _channel(call)["cid"])


def upload_file(call: Call) -> dict[str, Any]:
    """UploadFile (POST /uploads/file, multipart): not tied to a channel."""
    return _store(call, _upload(call), cid="", kind="file")


def upload_image(call: Call) -> dict[str, Any]:
    """UploadImage (POST /uploads/image, multipart)."""
    return _store(call, _upload(call), cid="", kind="image")


def delete_file(call: Call) -> dict[str, Any]:
    """DeleteFile (DELETE /uploads/file?url=)."""
    return _delete(call, "")


def delete_image(call: Call) -> dict[str, Any]:
    """DeleteImage (DELETE /uploads/image?url=)."""
    return _delete(call, "")
