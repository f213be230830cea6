"""Imports: CreateImportURL (a presigned upload URL on the sandbox), CreateImport, GetImport,
ListImports.

The import runs when it is created. The sandbox understands Stream's import file shape (a
JSON array of ``{"type": ..., "item": ...}``) for ``user`` items; a file that is not such an
array, or has other item types, ends in state ``failed`` with the reason in its history.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

from stream_mcp.sandbox import blobs, records
from stream_mcp.sandbox.context import Call, opt_str
from stream_mcp.sandbox.errors import input_error, not_found
from stream_mcp.sandbox.store import IMPORTS, USERS

_FILENAME = re.compile(r"^[\w\-. ]{1,255}\.json$")


def create_import_url(call: Call) -> dict[str, Any]:
    """CreateImportURL (POST /import_urls): where to PUT the import file."""
    assert call.services is not None
    filename = opt_str(call.body, "filename")
    if not filename or not _FILENAME.match(filename):
        raise input_error("filename must be a .json file name", field="filename")
    path = f"imports/{records.new_id()}/{filename}"
    return {"path": path, "upload_url": blobs.upload_url(call.services, call.base_url, path)}


def _run(call: Call, raw: bytes, mode: str) -> tuple[str, str]:
    try:
        items = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "failed", "the import file is not valid JSON"
    if not isinstance(items, list):
        return "failed", "the import file must be a JSON array of {type, item} objects"
    imported = 0
    for entry in items:
        if not isinstance(entry, Mapping) or entry.get("type") != "user":
            return "failed", "the sandbox imports only items of type user"
        item = entry.get("item")
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            return "failed", "every user item needs an id"
        existing = call.store.get(USERS, item["id"])
        if existing is not None and mode == "insert":
            continue
        if existing is not None:
            existing.setdefault("custom", {})
            for key, value in item.items():
                if key in records.USER_FIELDS:
                    existing[key] = value
                elif key not in records.USER_COMPUTED:
                    existing["custom"][key] = value
            existing["updated_at"] = call.stamp()
            call.store.put(USERS, existing)
        else:
            records.new_user(call, item["id"], {k: v for k, v in item.items() if k != "id"})
        imported += 1
    return "completed", f"imported {imported} users"


def create_import(call: Call) -> dict[str, Any]:
    """CreateImport (POST /imports): ``path`` from CreateImportURL, ``mode`` insert/upsert."""
    path = opt_str(call.body, "path")
    if not path:
        raise input_error("path is a required field", field="path")
    mode = opt_str(call.body, "mode") or "upsert"
    if mode not in ("insert", "upsert"):
        raise input_error("mode must be insert or upsert", field="mode")
    upload = blobs.uploaded(call.store, path)
    if upload is None:
        raise input_error(f"nothing was uploaded to {path}", field="path")
    raw = base64.b64decode(upload["data"])
    state, note = _run(call, raw, mode)
    now = call.stamp()
    doc = {
        "id": records.new_id(),
        "path": path,
        "mode": mode,
        "size": upload.get("size", len(raw)),
        "state": state,
        "created_at": now,
        "updated_at": now,
        "history": [
            {"created_at": now, "prev_state": "uploaded", "next_state": state, "note": note}
        ],
    }
    call.store.put(IMPORTS, doc)
    return {"import_task": doc}


def get_import(call: Call) -> dict[str, Any]:
    """GetImport (GET /imports/{id})."""
    doc = call.store.get(IMPORTS, call.path["id"])
    if doc is None:
        raise not_found(f"import {call.path['id']} does not exist")
    return {"import_task": doc}


def list_imports(call: Call) -> dict[str, Any]:
    """ListImports (GET /imports?limit=&offset=): newest first."""
    limit = call.query_int("limit", default=25, maximum=100)
    offset = call.query_int("offset", default=0)
    docs = call.store.select(IMPORTS, order_by="created_at", descending=True)
    return {"import_tasks": docs[offset : offset + limit]}
