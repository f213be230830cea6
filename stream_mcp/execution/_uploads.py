"""The four upload operations: read the ``file`` argument and build the multipart form.

An agent passes the file as base64 text or a ``data:<mime>;base64,`` URL. The bytes are
decoded and size-checked before anything is sent; the content type is taken from the
``content_type`` argument, else the data URL, else the file's first bytes; the file name
must be a plain name, never a path.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from stream_mcp.errors import ValidationError
from stream_mcp.execution._encoding import CONTROL, dumps, json_type, query_value

_MIME = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,127}$"
)
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),", re.IGNORECASE)
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)

Form = tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]


def multipart(
    body: dict[str, Any], args: Mapping[str, Any], *, image: bool, max_bytes: int
) -> Form:
    """The form fields and the file part of an upload; ``body`` loses its ``file`` entry."""
    payload, declared = decode_file(body.pop("file", None), max_bytes)
    content_type = _upload_content_type(
        args.get("content_type"), declared, payload, args.get("filename")
    )
    filename = _upload_filename(args.get("filename"), content_type)
    if image and not content_type.startswith("image/"):
        raise ValidationError(
            f"content_type: image uploads need an image/* type, got {content_type!r}",
            field="content_type",
        )
    data = {
        key: query_value(value, key) if isinstance(value, str) else dumps(value, key)
        for key, value in body.items()
        if value is not None
    }
    return data, {"file": (filename, payload, content_type)}


def decode_file(value: Any, max_bytes: int) -> tuple[bytes, str | None]:
    """Decode the ``file`` argument: base64, or a ``data:<mime>;base64,`` URL.

    Returns the bytes and the MIME type the data URL declared (if any).
    """
    if value is None:
        raise ValidationError(
            "file: required for uploads (base64 data or a data:<mime>;base64,<data> URL)",
            field="file",
        )
    if not isinstance(value, str):
        raise ValidationError(
            f"file: expected a base64 string, got {json_type(value)}", field="file"
        )
    declared: str | None = None
    text = value.strip()
    if text[:5].lower() == "data:":
        match = _DATA_URL.match(text)
        if match is None:
            raise ValidationError(
                "file: malformed data URL; expected data:<mime>;base64,<data>", field="file"
            )
        params = [p.strip().lower() for p in match.group("params").split(";") if p.strip()]
        if "base64" not in params:
            raise ValidationError(
                "file: data URL must be base64-encoded (data:<mime>;base64,<data>)",
                field="file",
            )
        declared = match.group("mime").strip().lower() or None
        text = text[match.end() :]
    compact = "".join(text.split()).replace("-", "+").replace("_", "/")
    if not compact:
        raise ValidationError("file: expected base64 data, got an empty value", field="file")
    if len(compact) * 3 // 4 > max_bytes:
        raise ValidationError(
            f"file: about {len(compact) * 3 // 4 // 1024} KiB, over the "
            f"{max_bytes // 1024} KiB upload limit",
            field="file",
        )
    bad = re.search(r"[^A-Za-z0-9+/=]", compact)
    if bad is not None:
        raise ValidationError(
            f"file: not valid base64 (unexpected {bad.group()!r} at position {bad.start()})",
            field="file",
        )
    compact = compact.rstrip("=")
    if len(compact) % 4 == 1:
        raise ValidationError("file: not valid base64 (truncated data)", field="file")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except binascii.Error as exc:
        raise ValidationError(f"file: not valid base64 ({exc})", field="file") from None
    return data, declared


def _upload_content_type(given: Any, declared: str | None, data: bytes, filename: Any) -> str:
    """The part's type: as given, else the data URL's, else the filename's, else sniffed."""
    if given is not None:
        if not isinstance(given, str) or not _MIME.match(given.strip()):
            raise ValidationError(
                f"content_type: expected a MIME type such as image/png, got {given!r}",
                field="content_type",
            )
        return given.strip().lower()
    if declared is not None:
        if not _MIME.match(declared):
            raise ValidationError(
                f"file: the data URL's MIME type {declared!r} is not valid", field="file"
            )
        return declared
    if isinstance(filename, str):
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        if guessed is not None:
            return guessed
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return "application/octet-stream"


def _upload_filename(given: Any, content_type: str) -> str:
    if given is None:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        return f"upload{extension}"
    if (
        not isinstance(given, str)
        or not given.strip()
        or given.strip() in (".", "..")
        or CONTROL.search(given)
        or "/" in given
        or "\\" in given
        or len(given) > 255
    ):
        raise ValidationError(
            "filename: expected a plain file name (no path separators or control "
            f"characters, at most 255 characters), got {str(given)[:60]!r}",
            field="filename",
        )
    return given.strip()
