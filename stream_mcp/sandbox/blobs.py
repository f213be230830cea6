"""Stand-ins for Stream's CDN and for the presigned upload URLs of imports.

Stream stores uploaded files on its CDN and hands out their URL; imports start with a
presigned URL the client PUTs the file to. The sandbox keeps both in SQLite and serves them
under ``/_sandbox/``: ``/_sandbox/cdn/{id}/{filename}`` (GET) and
``/_sandbox/uploads/{path}`` (PUT). Like a presigned URL, each carries a signature made with
the app secret instead of a JWT.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlparse

from starlette.responses import JSONResponse, Response

from stream_mcp.sandbox.clock import Clock
from stream_mcp.sandbox.errors import APIError, input_error, not_found
from stream_mcp.sandbox.services import Services
from stream_mcp.sandbox.store import FILES, META, Store

PREFIX = "/_sandbox/"
CDN = "/_sandbox/cdn/"
UPLOADS = "/_sandbox/uploads/"


def file_url(services: Services, base_url: str, file_id: str, filename: str) -> str:
    signature = services.sign("cdn", file_id)
    return f"{base_url}{CDN}{file_id}/{quote(filename)}?sig={signature}"


def file_id_from_url(url: str) -> str | None:
    """The stored file's id inside a URL this sandbox handed out, if it is one."""
    path = urlparse(url).path
    if not path.startswith(CDN):
        return None
    return unquote(path[len(CDN) :].split("/", 1)[0]) or None


def upload_url(services: Services, base_url: str, path: str) -> str:
    return f"{base_url}{UPLOADS}{quote(path)}?sig={services.sign('upload', path)}"


def uploaded(store: Store, path: str) -> dict[str, Any] | None:
    """What a client PUT to an import upload URL (``None`` until it has)."""
    return store.get(META, f"upload:{path}")


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def serve(
    store: Store,
    services: Services,
    clock: Clock,
    method: str,
    path: str,
    query: Mapping[str, str],
    raw: bytes,
    content_type: str,
) -> Response:
    """Answer a ``/_sandbox/`` request: download a CDN file or receive an import upload."""
    signature = query.get("sig", "")
    if path.startswith(CDN) and method in ("GET", "HEAD"):
        file_id = unquote(path[len(CDN) :].split("/", 1)[0])
        if not services.verify(signature, "cdn", file_id):
            raise APIError(403, 17, "the file URL's signature is not valid", scoped=False)
        doc = store.get(FILES, file_id)
        if doc is None:
            raise not_found("file does not exist")
        data = base64.b64decode(doc["data"])
        return Response(data, media_type=doc.get("content_type") or "application/octet-stream")
    if path.startswith(UPLOADS) and method == "PUT":
        upload_path = unquote(path[len(UPLOADS) :])
        if not services.verify(signature, "upload", upload_path):
            raise APIError(403, 17, "the upload URL's signature is not valid", scoped=False)
        store.put(
            META,
            {
                "key": f"upload:{upload_path}",
                "content_type": content_type,
                "size": len(raw),
                "data": encode(raw),
                "uploaded_at": clock.stamp(),
            },
        )
        return JSONResponse({}, status_code=200)
    raise input_error(f"{method} {path} is not a sandbox file operation")
