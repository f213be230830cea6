"""Asynchronous tasks: DeleteUsers, DeleteChannels, batch updates, exports and user
(de)activation answer with a ``task_id`` and their outcome is read with GetTask.

The sandbox does the work inside the request that starts the task, then records the task as
``completed`` (or ``failed``), so the first GetTask already sees the final state.
"""

from __future__ import annotations

import uuid
from typing import Any

from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.errors import not_found
from stream_mcp.sandbox.store import TASKS


def record(call: Call, kind: str, result: dict[str, Any], *, status: str = "completed") -> str:
    """Store a finished task and return its id (a UUID, as Stream's are)."""
    task_id = str(uuid.uuid4())
    now = call.stamp()
    call.store.put(
        TASKS,
        {
            "id": task_id,
            "kind": kind,
            "status": status,
            "created_at": now,
            "updated_at": now,
            "result": result,
        },
    )
    return task_id


def _view(task: dict[str, Any]) -> dict[str, Any]:
    out = {
        "task_id": task["id"],
        "status": task["status"],
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
        "result": task.get("result", {}),
    }
    if task.get("error"):
        out["error"] = task["error"]
    return out


def _find(call: Call, task_id: str) -> dict[str, Any]:
    task = call.store.get(TASKS, task_id)
    if task is None:
        raise not_found(f"Can't find task with id {task_id}")
    return task


def get_task(call: Call) -> dict[str, Any]:
    """GetTask (GET /tasks/{id})."""
    return _view(_find(call, call.path["id"]))


def get_export_channels_status(call: Call) -> dict[str, Any]:
    """GetExportChannelsStatus (GET /export_channels/{id}): an ExportChannels task."""
    task = _find(call, call.path["id"])
    if task.get("kind") != "export_channels":
        raise not_found(f"Can't find task with id {call.path['id']}")
    return _view(task)
